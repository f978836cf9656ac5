"""A Workers AI client: the REST contract, nothing else (which backend the app uses is components/backend.py).

    client = WorkersAI(Settings.from_env())
    async for delta in client.stream(model, {"messages": [...]}): ...
"""

from __future__ import annotations

from ._catalogue import CHAT, EMBEDDINGS, SPEECH, VISION, Catalogue, ModelInfo, builtin_models, default_model
from ._client import WorkersAI
from ._config import Settings
from ._errors import (
    AuthenticationError,
    BadInputError,
    CapacityError,
    ConnectionFailedError,
    DailyAllocationError,
    DeprecatedModelError,
    ModelNotFoundError,
    NotConfiguredError,
    PermissionDeniedError,
    ProtocolError,
    RequestTooLargeError,
    ServerError,
    UpstreamTimeoutError,
    WorkersAIError,
)
from ._outputs import generated_text, usage_of
from ._sse import SSEDecoder, StreamDelta

__all__ = [
    "CHAT", "EMBEDDINGS", "SPEECH", "VISION",
    "AuthenticationError", "BadInputError", "CapacityError", "Catalogue", "ConnectionFailedError",
    "DailyAllocationError", "DeprecatedModelError", "ModelInfo", "ModelNotFoundError", "NotConfiguredError",
    "PermissionDeniedError", "ProtocolError", "RequestTooLargeError", "SSEDecoder", "ServerError", "Settings",
    "StreamDelta", "UpstreamTimeoutError", "WorkersAI", "WorkersAIError",
    "builtin_models", "default_model", "generated_text", "usage_of",
]

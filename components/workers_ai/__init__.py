"""The shared Workers AI client: one instance per app, used by every tab.

    from components.workers_ai import shared_client, CHAT
    client = shared_client()
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

_client: WorkersAI | None = None
_catalogue: Catalogue | None = None


def shared_client() -> WorkersAI:
    """The app's one client, built from the environment on first use."""
    global _client
    if _client is None:
        _client = WorkersAI()
    return _client


def shared_catalogue() -> Catalogue:
    global _catalogue
    if _catalogue is None:
        _catalogue = Catalogue(shared_client())
    return _catalogue


def use_client(client: WorkersAI) -> None:
    """Swap the shared client (tests, or a different backend chosen at start-up)."""
    global _client, _catalogue
    _client, _catalogue = client, Catalogue(client)


__all__ = [
    "CHAT", "EMBEDDINGS", "SPEECH", "VISION",
    "AuthenticationError", "BadInputError", "CapacityError", "Catalogue", "ConnectionFailedError",
    "DailyAllocationError", "DeprecatedModelError", "ModelInfo", "ModelNotFoundError", "NotConfiguredError",
    "PermissionDeniedError", "ProtocolError", "RequestTooLargeError", "SSEDecoder", "ServerError", "Settings",
    "StreamDelta", "UpstreamTimeoutError", "WorkersAI", "WorkersAIError",
    "builtin_models", "default_model", "generated_text", "shared_catalogue", "shared_client", "usage_of", "use_client",
]

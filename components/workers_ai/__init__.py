"""A Workers AI client: the REST contract, nothing else (which backend the app uses is components/backend.py).

    client = WorkersAI(Settings.from_env())
    async for delta in client.stream(model, {"messages": [...]}): ...
    output = await client.invoke(model, {"prompt": "a lighthouse"})   # any model: JSON result or raw bytes
    schema = await client.schema(model)                               # its input/output JSON Schemas (cached)
    index = Vectorize(client.settings, "docs", client=client)   # Vectorize REST v2 over the same machinery
"""

from __future__ import annotations

from ._catalogue import (
    CHAT,
    EMBEDDINGS,
    SPEECH,
    VISION,
    Catalogue,
    ModelInfo,
    builtin_catalogue,
    builtin_models,
    default_model,
)
from ._client import MAX_ANSWER_BYTES, WorkersAI, retry_delay
from ._config import Settings
from ._errors import (
    AuthenticationError,
    BadInputError,
    CapacityError,
    ConnectionFailedError,
    DailyAllocationError,
    DeprecatedModelError,
    DimensionMismatchError,
    IndexExistsError,
    IndexNotFoundError,
    InvalidModelIdError,
    MetadataIndexError,
    ModelNotFoundError,
    NotConfiguredError,
    PermissionDeniedError,
    ProtocolError,
    RequestTooLargeError,
    ServerError,
    TopKTooLargeError,
    UpstreamTimeoutError,
    VectorizeError,
    VectorizePermissionError,
    WorkersAIError,
    until_utc_midnight,
)
from ._model_id import MAX_LENGTH as MODEL_ID_MAX_LENGTH
from ._model_id import PATTERN as MODEL_ID_PATTERN
from ._model_id import check_model_id, is_model_id
from ._outputs import ModelOutput, generated_text, sniff, usage_of
from ._pricing import (
    FREE_NEURONS_PER_DAY,
    PRICES,
    STAND_INS,
    UNIT_LABELS,
    USD_PER_NEURON,
    Estimate,
    Price,
    estimate,
    format_neurons,
    format_usd,
    price_from_catalogue,
    price_of,
    prompt_bound,
    short_name,
    token_bound,
    usd,
)
from ._run_cost import audio_seconds, run_estimate, run_price
from ._schema import ModelSchema, Schemas
from ._sse import SSEDecoder, StreamDelta, coalesce
from ._trace import SentRequest, Trace, capture, curl_command, recent
from ._vectorize import Vectorize

__all__ = [
    "CHAT", "EMBEDDINGS", "FREE_NEURONS_PER_DAY", "MAX_ANSWER_BYTES", "MODEL_ID_MAX_LENGTH", "MODEL_ID_PATTERN",
    "PRICES", "SPEECH", "STAND_INS", "UNIT_LABELS", "USD_PER_NEURON", "VISION",
    "AuthenticationError", "BadInputError", "CapacityError", "Catalogue", "ConnectionFailedError",
    "DailyAllocationError", "DeprecatedModelError", "DimensionMismatchError", "Estimate", "IndexExistsError",
    "IndexNotFoundError", "InvalidModelIdError", "MetadataIndexError", "ModelInfo", "ModelOutput", "ModelSchema",
    "ModelNotFoundError", "Schemas", "NotConfiguredError", "PermissionDeniedError", "Price", "ProtocolError",
    "RequestTooLargeError", "SSEDecoder", "SentRequest", "ServerError", "Settings", "StreamDelta", "TopKTooLargeError",
    "Trace", "UpstreamTimeoutError", "Vectorize", "VectorizeError", "VectorizePermissionError", "WorkersAI",
    "WorkersAIError", "audio_seconds", "builtin_catalogue", "builtin_models", "capture", "check_model_id",
    "coalesce", "curl_command", "default_model", "estimate", "format_neurons", "format_usd", "generated_text",
    "is_model_id", "price_from_catalogue", "price_of", "prompt_bound", "recent", "retry_delay", "run_estimate",
    "run_price", "short_name", "sniff",
    "token_bound", "until_utc_midnight", "usage_of", "usd",
]

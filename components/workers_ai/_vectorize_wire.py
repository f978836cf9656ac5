"""The wire side of the Vectorize client (components/workers_ai/_vectorize.py): writes encoded as NDJSON batches,
vectors as plain floats, the server's times read, and the client's typed errors reworded in Vectorize's words."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from ._errors import (
    AuthenticationError,
    BadInputError,
    CapacityError,
    ConnectionFailedError,
    DimensionMismatchError,
    IndexExistsError,
    IndexNotFoundError,
    MetadataIndexError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RequestTooLargeError,
    ServerError,
    TopKTooLargeError,
    UpstreamTimeoutError,
    VectorizeError,
    VectorizePermissionError,
    WorkersAIError,
)

BATCH = 1_000  # vectors per NDJSON request: the limit is 5,000 and 100 MB, stay well under
BATCH_BYTES = 32 * 1024 * 1024
MAX_TOP_K_WITH_METADATA = 20  # 20 in older docs, 50 in 2026's: the safe one
_DIMENSIONS = re.compile(r"expected (\d+) dimensions?\W+(?:and\s+)?got (\d+)", re.IGNORECASE)
_TOP_K = re.compile(r"max top ?k is (\d+)", re.IGNORECASE)


def _floats(values: Any) -> list[float]:
    """A vector as plain floats (a numpy array or a list of numpy scalars included)."""
    if hasattr(values, "tolist"):
        values = values.tolist()
    return [float(value) for value in values]


def _batches(vectors: Sequence[dict]):
    """NDJSON lines in batches of at most BATCH vectors and BATCH_BYTES bytes, each with what the trace shows."""
    lines: list[bytes] = []
    shown: list[dict] = []
    size = 0
    for vector in vectors:
        if not isinstance(vector, dict) or "id" not in vector or "values" not in vector:
            raise ValueError("each vector is a dict with at least 'id' and 'values'")
        item = {**vector, "values": _floats(vector["values"])}
        line = (json.dumps(item, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode()
        if lines and (len(lines) >= BATCH or size + len(line) > BATCH_BYTES):
            yield lines, shown
            lines, shown, size = [], [], 0
        lines.append(line)
        if len(shown) <= 6:  # the trace keeps six items of a list anyway (_trace.shorten)
            shown.append(item)
        size += len(line)
    if lines:
        yield lines, shown


def _http_date(value: str | None) -> datetime | None:
    try:
        return parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError):
        return None


def _iso_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return None
    return found if found.tzinfo is not None else None


# ── the errors, in Vectorize's words ────────────────────────────────────────────────────────

def vectorize_error(error: WorkersAIError, index: str, *, write: bool) -> WorkersAIError:
    """The error the client made of a Vectorize answer, as Vectorize's: the class (which decides the retry) and a
    sentence that says what to do. `write` says whether the call needs Vectorize Edit (Read is enough otherwise)."""
    code, status, upstream = error.code, error.status, (error.detail or "").strip()
    name = f"“{index}”"

    def made(cls: type[WorkersAIError], message: str, **extra) -> WorkersAIError:
        new = cls(message, code=code, status=status, request_id=error.request_id, detail=error.detail,
                  retry_after=error.retry_after, **extra)
        new.__cause__ = error.__cause__
        return new

    if code == 3000:
        return made(IndexNotFoundError, f"The Vectorize index {name} does not exist (or was deleted): create it first.")
    if code == 3002:
        return made(IndexExistsError, f"A Vectorize index named {name} already exists.")
    if code == 40006:
        found = _DIMENSIONS.search(upstream)
        if found:
            expected, got = int(found[1]), int(found[2])
            message = (
                f"The Vectorize index {name} was built for another embedding model, one with {expected} dimensions, "
                f"and this vector has {got}: use the embedding model the index was made with, or delete the index "
                "and create it again for this model.")
            return made(DimensionMismatchError, message, expected=expected, got=got)
        return made(DimensionMismatchError, DimensionMismatchError.default_message)
    if code == 40025:
        found = _TOP_K.search(upstream)
        limit = found[1] if found else str(MAX_TOP_K_WITH_METADATA)
        return made(TopKTooLargeError,
                    f"Vectorize returns at most {limit} matches with their metadata or values: ask for fewer.")
    if code == 40005:
        return made(MetadataIndexError,
                    f"The Vectorize index {name} has no metadata index for that property: create it before the "
                    "vectors are written" + (f" ({upstream})." if upstream else "."))
    if code in (1005, 100158):
        return made(VectorizePermissionError,
                    "This Cloudflare account is not entitled to use Vectorize: enable Vectorize for the account "
                    "in the Cloudflare dashboard (Storage & Databases → Vectorize) and try again.",
                    permission="Vectorize")
    if status == 403 or (isinstance(error, PermissionDeniedError) and not isinstance(error, VectorizeError)):
        permission = "Vectorize Edit" if write else "Vectorize Read"
        rest = " (Read is enough only to search)" if write else " (or Vectorize Edit)"
        return made(VectorizePermissionError,
                    f"The API token lacks the {permission} permission{rest}: add it to the token for this account "
                    "in the Cloudflare dashboard, then try again.", permission=permission)
    if isinstance(error, AuthenticationError):
        if code == 6003:
            return error  # the malformed header's own sentence says it best
        return made(AuthenticationError,
                    "The API token was rejected: check CLOUDFLARE_API_TOKEN, and that the token has the Vectorize "
                    "Edit permission for this account.")
    if code == 40026:
        return made(VectorizeError, f"Vectorize refused the request's format (this app's mistake): {upstream}")
    if isinstance(error, CapacityError):
        return made(CapacityError, "Vectorize is rate limited (1,200 requests per 5 minutes per token): wait a "
                                   "minute and try again.")
    if isinstance(error, UpstreamTimeoutError):
        return made(UpstreamTimeoutError, "Vectorize took too long to answer: try again.")
    if isinstance(error, ServerError):
        return made(ServerError, "Vectorize is having trouble right now (a server error): try again in a minute.")
    if isinstance(error, ConnectionFailedError):
        return made(ConnectionFailedError, "Could not reach Vectorize: check the network connection and "
                                           "CLOUDFLARE_BASE_URL.")
    if isinstance(error, RequestTooLargeError):
        return made(RequestTooLargeError, "The request is too large for Vectorize: send fewer vectors at a time.")
    if isinstance(error, ProtocolError):
        return made(ProtocolError, error.user_message.replace("Workers AI", "Vectorize"))
    if isinstance(error, ModelNotFoundError):
        if code in (7000, 7003):
            return error  # "could not route the request: check CLOUDFLARE_ACCOUNT_ID…"
        return made(IndexNotFoundError, f"Vectorize does not know the index {name}: check its name and "
                                        "CLOUDFLARE_ACCOUNT_ID.")
    if isinstance(error, BadInputError):
        return made(BadInputError, f"Vectorize rejected the request: {upstream}" if upstream
                    else "Vectorize rejected the request as invalid.")
    if type(error) is WorkersAIError:
        return made(VectorizeError, VectorizeError.default_message)
    return error

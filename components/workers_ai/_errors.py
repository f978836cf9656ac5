"""Typed errors for Workers AI calls, each with a sentence a person can act on.

    WorkersAIError                  every failure the client raises; `.user_message` is safe to show
    ├── NotConfiguredError          no account id / token in the environment
    ├── AuthenticationError         10000, 6003, 401 — the token is wrong, expired or malformed
    ├── PermissionDeniedError       5016, 5035, 5018/3041/3023, other 403s
    ├── ModelNotFoundError          5007, 3042, 7000/7003, 404s
    ├── InvalidModelIdError         not a model id (`../user/tokens`, `x?y`…): refused before anything is sent
    ├── DeprecatedModelError        5028
    ├── BadInputError               5004, 5006, 3003, other 400s
    ├── RequestTooLargeError        3006, 413
    ├── DailyAllocationError        3036, 4006, "daily free allocation" — never retried
    ├── CapacityError               3040 — retried with backoff
    ├── UpstreamTimeoutError        3007/3008, 408, read timeouts — retried
    ├── ServerError                 7009, 5xx — retried
    ├── ConnectionFailedError       refused, DNS, connect timeout — retried
    ├── ProtocolError               the answer broke the contract: bad JSON, bad SSE, cut stream
    └── VectorizeError              a Vectorize call failed (components/workers_ai/_vectorize.py words them all)
        ├── IndexNotFoundError      3000 — no index of that name
        ├── IndexExistsError        3002 (HTTP 400) — `Vectorize.create_index` answers the existing index instead
        ├── DimensionMismatchError  40006 — the index was made for an embedding model of another width
        ├── TopKTooLargeError       40025 — more matches asked for than Vectorize returns with metadata
        ├── MetadataIndexError      40005 — no metadata index for that property
        └── VectorizePermissionError  10000/403 on Vectorize, 1005/100158 — the token lacks Vectorize Edit or
                                    Read, or the account is not entitled (also a PermissionDeniedError)

Every message says what happened and what to do. None of them ever contains the API token:
messages are built from codes and from the upstream text, which never carries the request headers.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone


class WorkersAIError(Exception):
    """A Workers AI call failed. `user_message` is one or two sentences, safe to show to anyone."""

    retryable = False
    default_message = "Workers AI could not answer this request. Try again in a moment."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        code: int | None = None,
        status: int | None = None,
        request_id: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.user_message = user_message or self.default_message
        self.code = code
        self.status = status
        self.request_id = request_id
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(self.user_message)

    def __str__(self) -> str:
        parts = [self.user_message]
        tags = []
        if self.code is not None:
            tags.append(f"code {self.code}")
        if self.status is not None:
            tags.append(f"HTTP {self.status}")
        if self.request_id:
            tags.append(f"request id {self.request_id}")
        if tags:
            parts.append(f"({', '.join(tags)})")
        return " ".join(parts)


class NotConfiguredError(WorkersAIError):
    default_message = (
        "No Cloudflare account is configured: set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN "
        "(a token with Workers AI Read and Edit) and restart the app."
    )


class AuthenticationError(WorkersAIError):
    default_message = (
        "The API token was rejected: check CLOUDFLARE_API_TOKEN and that the token has the "
        "Workers AI Read and Edit permissions for this account."
    )


class PermissionDeniedError(WorkersAIError):
    default_message = "This account is not allowed to use this model: pick another model in the list."


class ModelNotFoundError(WorkersAIError):
    default_message = "Workers AI does not know this model (or this account id): pick a model from the list."


class InvalidModelIdError(WorkersAIError):
    default_message = "That is not a model id: use one such as @cf/meta/llama-3.1-8b-instruct-fast."


class DeprecatedModelError(WorkersAIError):
    default_message = "This model has been deprecated: pick another in the list."


class BadInputError(WorkersAIError):
    default_message = "Workers AI rejected the input as invalid."


class RequestTooLargeError(WorkersAIError):
    default_message = "The request is too large for Workers AI: send a smaller file or less text."


class DailyAllocationError(WorkersAIError):
    default_message = "The daily free allocation of 10,000 neurons is used up; it resets at 00:00 UTC."


class CapacityError(WorkersAIError):
    retryable = True
    default_message = "The model is out of capacity right now: wait a few seconds and try again, or pick another model."


class UpstreamTimeoutError(WorkersAIError):
    retryable = True
    default_message = "Workers AI took too long to answer: try again, or try a shorter input."


class ServerError(WorkersAIError):
    retryable = True
    default_message = "Workers AI is having trouble right now (a server error): try again in a minute."


class ConnectionFailedError(WorkersAIError):
    retryable = True
    default_message = "Could not reach Workers AI: check the network connection and CLOUDFLARE_BASE_URL."


class ProtocolError(WorkersAIError):
    default_message = "Workers AI sent an answer this app could not read: try again."


class VectorizeError(WorkersAIError):
    """A Vectorize call failed. Server errors, timeouts and rate limits keep their retryable classes above (with
    Vectorize sentences); this class and its subclasses are the answers only Vectorize gives."""

    default_message = "Vectorize could not answer this request. Try again in a moment."


class IndexNotFoundError(VectorizeError):
    default_message = "The Vectorize index does not exist (or was deleted): create it first."


class IndexExistsError(VectorizeError):
    default_message = "A Vectorize index of that name already exists."


class DimensionMismatchError(VectorizeError):
    """`expected` is the index's width (its embedding model's), `got` the vector's; None when not said."""

    default_message = (
        "The Vectorize index was built for another embedding model (a different number of dimensions): embed with "
        "that model, or delete the index and create it again for this one."
    )

    def __init__(self, user_message: str | None = None, *, expected: int | None = None, got: int | None = None,
                 **kwargs) -> None:
        super().__init__(user_message, **kwargs)
        self.expected = expected
        self.got = got


class TopKTooLargeError(VectorizeError):
    default_message = "Vectorize returns at most 20 matches with their metadata or values: ask for fewer."


class MetadataIndexError(VectorizeError):
    default_message = (
        "Vectorize has no metadata index for that property: create it (before the vectors are written) first."
    )


class VectorizePermissionError(VectorizeError, PermissionDeniedError):
    """`permission` names what is missing: "Vectorize Edit", "Vectorize Read" or "Vectorize" (the account's)."""

    default_message = (
        "The API token may not use Vectorize: give it the Vectorize Edit permission (Read is enough only to search) "
        "for this account."
    )

    def __init__(self, user_message: str | None = None, *, permission: str = "Vectorize Edit", **kwargs) -> None:
        super().__init__(user_message, **kwargs)
        self.permission = permission


# ── mapping an error envelope to a typed error ──────────────────────────────────────────────

_BY_CODE: dict[int, type[WorkersAIError]] = {
    10000: AuthenticationError,
    6003: AuthenticationError,
    6111: AuthenticationError,
    9106: AuthenticationError,
    9109: AuthenticationError,
    5016: PermissionDeniedError,
    5035: PermissionDeniedError,
    5018: PermissionDeniedError,
    3041: PermissionDeniedError,
    3023: PermissionDeniedError,
    5007: ModelNotFoundError,
    3042: ModelNotFoundError,
    7000: ModelNotFoundError,
    7003: ModelNotFoundError,
    5028: DeprecatedModelError,
    5004: BadInputError,
    5006: BadInputError,
    3003: BadInputError,
    3006: RequestTooLargeError,
    3036: DailyAllocationError,
    4006: DailyAllocationError,
    3040: CapacityError,
    3007: UpstreamTimeoutError,
    3008: UpstreamTimeoutError,
    7009: ServerError,
}

_BY_STATUS: dict[int, type[WorkersAIError]] = {
    400: BadInputError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: ModelNotFoundError,
    408: UpstreamTimeoutError,
    413: RequestTooLargeError,
    429: CapacityError,
}

_DEPRECATED_ON = re.compile(r"deprecated on (\d{4}-\d{2}-\d{2})", re.IGNORECASE)
_AI_ERROR_PREFIX = re.compile(r"^(AiError:\s*)+", re.IGNORECASE)


def error_class(code: int | None, status: int | None, message: str) -> type[WorkersAIError]:
    """Pick the error class: by code first, then by the message text, then by HTTP status."""
    if "daily free allocation" in message.lower():
        return DailyAllocationError
    if code in _BY_CODE:
        return _BY_CODE[code]
    if status is not None and status >= 500:
        return ServerError
    return _BY_STATUS.get(status or 0, WorkersAIError)


def until_utc_midnight(now: datetime | None = None) -> str:
    """'3 h 12 min' until the daily allocation resets at 00:00 UTC."""
    now = now or datetime.now(timezone.utc)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    minutes = max(1, int((midnight - now).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def user_message_for(cls: type[WorkersAIError], code: int | None, message: str, model: str | None) -> str:
    """The sentence shown to a person: what happened, what to do."""
    upstream = _AI_ERROR_PREFIX.sub("", message).strip()
    if cls is DeprecatedModelError:
        found = _DEPRECATED_ON.search(message)
        when = f" on {found.group(1)}" if found else ""
        subject = f"The model {model}" if model else "This model"
        return f"{subject} was deprecated{when} — pick another in the list."
    if cls is DailyAllocationError:
        return (
            "Daily free allocation of 10,000 neurons is used up; it resets at 00:00 UTC "
            f"(in {until_utc_midnight()}). Upgrade to Workers Paid to keep going today."
        )
    if cls is AuthenticationError and code == 6003:
        return (
            "The Authorization header was malformed: check CLOUDFLARE_API_TOKEN for stray spaces, "
            "a trailing newline or a doubled 'Bearer'."
        )
    if cls is PermissionDeniedError and code == 5035:
        return "This model needs the Workers Paid plan: pick another model, or upgrade the account."
    if cls is PermissionDeniedError and code == 5016:
        return f"This model's licence must be agreed first (send the word 'agree' once): {upstream}"
    if cls is ModelNotFoundError and code in (7000, 7003):
        return "Cloudflare could not route the request: check CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_BASE_URL."
    if cls is ModelNotFoundError and model:
        return f"Workers AI does not know the model {model}: pick one from the list."
    if cls is BadInputError and upstream:
        return f"Workers AI rejected the input: {upstream}"
    return cls.default_message

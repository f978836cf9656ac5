"""What the engine answers with: `EngineResponse`, Cloudflare's envelope and its errors.

`ApiError` carries Cloudflare's status and code (and the request parameter at fault, which the OpenAI-compatible
routes report as `param`); `refusal()` words it as Workers AI does, openai_routes.py as OpenAI does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

MAX_BODY_BYTES = 25 * 1024 * 1024
BAD_INPUT = "AiError: Bad input: "
JSON = {"content-type": "application/json"}
SSE = {"content-type": "text/event-stream", "cache-control": "no-cache"}


class ApiError(Exception):
    """An error answered in Cloudflare's envelope, with Cloudflare's code and status."""

    def __init__(self, status: int, code: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param


def bad_input(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, 5006, BAD_INPUT + message, param)


def too_large() -> ApiError:
    return ApiError(413, 3006, "Request is too large")


def busy() -> ApiError:
    """Workers AI's "out of capacity": the model has as many requests waiting as it may queue."""
    return ApiError(429, 3040, "Capacity temporarily exceeded, please try again.")


def unknown_model(name: str) -> ApiError:
    """What /ai/run (and the schema route) answer for a model the engine does not have, as Workers AI words it."""
    if not name.startswith(("@cf/", "@hf/", "@local/")):
        return ApiError(404, 3042, "Invalid model ID", "model")
    return ApiError(400, 5007, f"No such model {name} or task", "model")


@dataclass
class EngineResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None


class StreamedAnswer:
    """The bytes of a streamed answer, framed from a model's events. Closing it closes the events too, even when no
    byte was read (an async generator never started would skip its cleanup): the model is freed however the reader
    leaves — done, gone mid-stream, or gone before the first byte."""

    def __init__(self, frames: AsyncIterator[bytes], events) -> None:
        self._frames, self._events = frames, events

    def __aiter__(self) -> StreamedAnswer:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._frames.__anext__()
        except BaseException:  # the end, a failure, or the reader cancelled: free the model now
            await self.aclose()
            raise

    async def aclose(self) -> None:
        try:
            await self._frames.aclose()
        finally:
            await self._events.aclose()


def envelope(result: Any = None, errors: list | None = None, **extra) -> bytes:
    return json.dumps(
        {"result": result if result is not None else {}, "success": not errors, "errors": errors or [],
         "messages": [], **extra},
        ensure_ascii=False,
    ).encode()


def json_response(body: bytes, status: int = 200) -> EngineResponse:
    return EngineResponse(status, dict(JSON), body)


def refusal(error: ApiError) -> EngineResponse:
    """An error answered as Cloudflare does: its status, the envelope with its code, a request id."""
    answer = json_response(envelope(errors=[{"code": error.code, "message": error.message}]), error.status)
    answer.headers["cf-ai-req-id"] = str(uuid.uuid4())
    if error.status == 429:
        answer.headers["retry-after"] = "1"
    return answer

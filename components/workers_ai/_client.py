"""The one Workers AI client: URL, auth, envelope, typed errors, retries, streaming, raw-byte uploads.

One pooled `httpx.AsyncClient` serves the whole app (Gradio runs every async handler on one event loop).
The transport is a parameter, so the same code talks to api.cloudflare.com, an AI Gateway, a test server
on loopback, or an in-process engine.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from . import _trace
from ._config import Settings
from ._model_id import check_model_id
from ._errors import (
    BadInputError,
    ConnectionFailedError,
    ModelNotFoundError,
    NotConfiguredError,
    ProtocolError,
    ServerError,
    UpstreamTimeoutError,
    WorkersAIError,
    error_class,
    user_message_for,
)
from ._outputs import ModelOutput, generated_text, sniff, usage_of
from ._schema import ModelSchema, Schemas, means_no_schema
from ._sse import StreamDelta, stream_deltas

log = logging.getLogger("workers_ai")

TIMEOUT = httpx.Timeout(60.0, connect=5.0)
MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
MAX_RETRY_AFTER = 30.0  # a longer retry-after is not worth holding a visitor for: report it instead
MAX_ANSWER_BYTES = 20 * 1024 * 1024  # the most `invoke` reads of one answer (a 2048² PNG is a few MB)
# Answers `invoke` hands back as bytes rather than reading as a JSON envelope.
_RAW_TYPES = ("image/", "audio/", "video/", "application/octet-stream", "text/event-stream")


def retry_delay(retryable: bool, retry_after: float | None, attempt: int, max_retries: int,
                max_retry_after: float) -> float | None:
    """Seconds to wait before the next try, or None to give up: jittered exponential backoff that honours the
    server's `retry-after` (up to `max_retry_after`; longer is not worth holding a visitor for)."""
    if not retryable or attempt >= max_retries:
        return None
    if retry_after is not None:
        return retry_after if retry_after <= max_retry_after else None
    delay = min(INITIAL_RETRY_DELAY * 2**attempt, MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * random.random())


class WorkersAI:
    """Async client for `POST …/ai/run/{model}` and the model catalogue."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = MAX_RETRIES,
        timeout: httpx.Timeout = TIMEOUT,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.settings = settings if settings is not None else Settings.from_env()
        self.max_retries = max_retries
        self.max_answer_bytes = max_answer_bytes
        self._schemas = Schemas(self)
        self._transport = transport
        self._timeout = timeout
        self._sleep = sleep
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    # ── public calls ────────────────────────────────────────────────────────────────────────

    async def run(self, model: str, payload: dict) -> Any:
        """Run a model with a JSON body; returns the envelope's `result`."""
        _, result = await self._send("POST", self.settings.run_url(model), model=model, json=payload)
        return result

    async def run_bytes(self, model: str, data: bytes, content_type: str = "application/octet-stream") -> Any:
        """Run a model on raw bytes (images, audio): no int-array JSON, no base64, ~1× the file on the wire."""
        _, result = await self._send(
            "POST", self.settings.run_url(model), model=model, content=data, headers={"content-type": content_type}
        )
        return result

    async def invoke(self, model: str, payload: dict | bytes, content_type: str | None = None) -> ModelOutput:
        """One run of any model, whatever it answers: a JSON envelope (→ `result`) or a raw body such as a PNG
        or an MP3 (→ `data` and `content_type`), with the `cf-ai-neurons` cost when the answer carries it.

        `payload` is a JSON object, or a file's bytes sent as they are (as `content_type`, by default
        application/octet-stream). An answer over `max_answer_bytes` is refused (ProtocolError) before more of it
        is read. Retries, typed errors and the trace are those of every call; a body with `"stream": true`
        comes back whole, as text/event-stream bytes: use `stream` to read one as it arrives."""
        if isinstance(payload, (bytes, bytearray, memoryview)):
            kwargs: dict = {"content": bytes(payload),
                            "headers": {"content-type": content_type or "application/octet-stream"}}
        elif isinstance(payload, dict):
            kwargs = {"json": payload}
        else:
            raise BadInputError("The model's input must be a JSON object or the bytes of a file.")
        response, answer = await self._send("POST", self.settings.run_url(model), model=model,
                                            max_answer_bytes=self.max_answer_bytes, **kwargs)
        neurons = _trace.parse_neurons(response.headers.get("cf-ai-neurons"))
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not isinstance(answer, _RawBody):
            return ModelOutput(result=answer, content_type=media_type or "application/json", neurons=neurons)
        if not answer.data:
            raise ProtocolError(f"{model} answered with an empty {media_type or 'body'}: try again.",
                                status=response.status_code, request_id=_request_id(response))
        return ModelOutput(data=answer.data, content_type=sniff(answer.data, media_type), neurons=neurons)

    async def schema(self, model: str) -> ModelSchema | None:
        """The model's input and output JSON Schemas, or None when it publishes none; cached per model
        (components/workers_ai/_schema.py). Unknown and deprecated models raise their typed errors."""
        return await self._schemas.get(model)

    async def fetch_schema(self, model: str) -> ModelSchema | None:
        """`GET …/ai/models/schema?model=…`, uncached (`schema` caches it)."""
        try:
            _, result = await self._send("GET", self.settings.schema_url, model=check_model_id(model),
                                         params={"model": model}, label=f"schema of {model}")
        except ModelNotFoundError as exc:
            if means_no_schema(exc):
                return None
            raise
        return ModelSchema.from_result(result)

    async def stream(self, model: str, payload: dict) -> AsyncIterator[StreamDelta]:
        """Stream a text generation as deltas; the last delta carries `usage`."""
        body = {**payload, "stream": True}
        response, whole = await self._send("POST", self.settings.run_url(model), model=model, json=body, stream=True)
        try:
            if "text/event-stream" not in response.headers.get("content-type", ""):
                # answered with plain JSON instead of a stream (already checked by _send): one delta with it all
                yield StreamDelta(text=generated_text(whole), usage=usage_of(whole))
                return
            async for delta in stream_deltas(response.aiter_bytes()):
                yield delta
        except httpx.TimeoutException as exc:
            raise UpstreamTimeoutError(
                "The answer stopped arriving (timed out mid-stream): try again.", request_id=_request_id(response)
            ) from exc
        except httpx.TransportError as exc:
            raise ProtocolError(
                "The connection dropped in the middle of the answer: try again.", request_id=_request_id(response)
            ) from exc
        except WorkersAIError as exc:
            exc.request_id = exc.request_id or _request_id(response)
            raise self._scrub(exc) from exc.__cause__
        finally:
            await response.aclose()

    async def get_list(self, url: str, params: dict) -> tuple[list, dict]:
        """GET one page of a REST list (the catalogue): its items and its `result_info`."""
        response, items = await self._send("GET", url, model=None, params=params)
        if not isinstance(items, list):
            raise ProtocolError("Workers AI answered a list request with something else: try again.")
        info = response.json().get("result_info")
        return items, info if isinstance(info, dict) else {}

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # ── plumbing ────────────────────────────────────────────────────────────────────────────

    def _client(self) -> httpx.AsyncClient:
        """The pooled client, created on first use inside the running loop (one per loop)."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop or self._http.is_closed:
            self._http = httpx.AsyncClient(
                timeout=self._timeout,
                transport=self._transport,
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                headers={"user-agent": "workers-ai-showcase/0.1"},
            )
            self._http_loop = loop
        return self._http

    async def _send(
        self, method: str, url: str, *, model: str | None, stream: bool = False, label: str | None = None,
        reword: Callable[[WorkersAIError], WorkersAIError] | None = None, max_retries: int | None = None,
        trace_json: Any = None, max_answer_bytes: int | None = None, **kwargs
    ) -> tuple[httpx.Response, Any]:
        """Send with retries. A plain call returns the envelope's result too, so that an HTTP 200 carrying
        `success: false` is retried like the server error it is; a stream's body is left for the caller.

        For the other REST APIs on the same account (Vectorize): `label` names the call in the log instead of the
        model, `reword` turns each error into that API's own (its class decides the retry, its sentence is shown),
        `max_retries` caps the tries, and `trace_json` is what the trace shows of a body that is not JSON (NDJSON).
        With `max_answer_bytes` the answer is read up to that size (a ProtocolError beyond), and a raw body
        (`_RAW_TYPES`) is returned as a `_RawBody` instead of being read as an envelope (`invoke`)."""
        if not self.settings.configured:
            raise NotConfiguredError()
        headers = {**self.settings.headers(), **kwargs.pop("headers", {})}
        retries = self.max_retries if max_retries is None else min(max_retries, self.max_retries)
        attempt = 0
        while True:
            started, sent = time.perf_counter(), None
            try:
                request = self._client().build_request(method, url, headers=headers, **kwargs)
                shown = trace_json if trace_json is not None else kwargs.get("json")
                sent = _trace.record(request, self.settings.account_id, shown)
                response = await self._client().send(request, stream=stream or max_answer_bytes is not None)
                _trace.answered(sent, response, time.perf_counter() - started)
                log.info("%s %s → %s in %.0f ms", method, label or model or "catalogue", response.status_code,
                         1000 * (time.perf_counter() - started))
                if max_answer_bytes is not None:
                    response = await _read_bounded(response, max_answer_bytes)
                if response.status_code < 400:
                    if stream and "text/event-stream" in response.headers.get("content-type", ""):
                        return response, None
                    await response.aread()  # no-op unless a stream request was answered with plain JSON
                    if max_answer_bytes is not None and _is_raw(response):
                        return response, _RawBody(response.content)
                    try:
                        return response, self._result(response, model)
                    except WorkersAIError as exc:
                        error = exc
                else:
                    await response.aread()
                    await response.aclose()
                    error = self._error(response, model)
            except httpx.ConnectTimeout as exc:
                error = ConnectionFailedError("Could not connect to Workers AI in time: check the network.", detail=str(exc))
            except httpx.TimeoutException as exc:
                error = UpstreamTimeoutError(detail=str(exc))
            except httpx.TransportError as exc:
                error = ConnectionFailedError(detail=str(exc))
            except ProtocolError as exc:  # an answer over max_answer_bytes
                error = exc
            if reword is not None:
                error = self._scrub(reword(error))
            if sent is not None and sent.seconds is None:  # no answer at all: say why in the trace
                _trace.answered(sent, None, time.perf_counter() - started, failure=error.user_message)
            delay = self._retry_delay(error, attempt, retries)
            if delay is None:
                raise self._scrub(error)
            log.warning("retrying %s in %.2f s after %s", label or model or "catalogue", delay, type(error).__name__)
            await self._sleep(delay)
            attempt += 1

    def _retry_delay(self, error: WorkersAIError, attempt: int, max_retries: int | None = None) -> float | None:
        retries = self.max_retries if max_retries is None else max_retries
        return retry_delay(error.retryable, error.retry_after, attempt, retries, MAX_RETRY_AFTER)

    def _result(self, response: httpx.Response, model: str | None) -> Any:
        try:
            body = response.json()
        except ValueError as exc:
            raise ProtocolError("Workers AI answered with something that is not JSON: try again.",
                                status=response.status_code, request_id=_request_id(response)) from exc
        if not isinstance(body, dict) or ("result" not in body and "success" not in body):
            raise ProtocolError("Workers AI answered without its usual envelope: try again.",
                                status=response.status_code, request_id=_request_id(response))
        if body.get("success") is False:
            raise self._scrub(self._error(response, model, body))
        return body.get("result")

    def _error(self, response: httpx.Response, model: str | None, body: Any = None) -> WorkersAIError:
        """Turn an error answer (envelope, HTML from a proxy, empty) into a typed error."""
        if body is None:
            try:
                body = response.json()
            except ValueError:
                body = None
        code, message = None, ""
        if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
            first = body["errors"][0] if isinstance(body["errors"][0], dict) else {}
            code, message = first.get("code"), str(first.get("message", ""))
        status = response.status_code
        cls = error_class(code, status, message)
        if cls is WorkersAIError and status < 400:
            cls = ServerError  # HTTP 200 with success: false — Cloudflare's side failed
        return cls(
            user_message_for(cls, code, message, model),
            code=code,
            status=status,
            request_id=_request_id(response),
            detail=message or response.text[:200],
            retry_after=_retry_after(response),
        )

    def _scrub(self, error: WorkersAIError) -> WorkersAIError:
        """Belt and braces: no configured secret survives into a message, whatever upstream echoed."""
        for secret in self.settings.secrets():
            error.user_message = error.user_message.replace(secret, "[redacted]")
            if error.detail:
                error.detail = error.detail.replace(secret, "[redacted]")
        error.args = (error.user_message,)
        return error


class _RawBody:
    """A non-JSON answer's bytes, as `_send` hands them to `invoke`."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def _is_raw(response: httpx.Response) -> bool:
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return media_type.startswith(_RAW_TYPES)


async def _read_bounded(response: httpx.Response, limit: int) -> httpx.Response:
    """The streamed `response` read whole into a new one, or a ProtocolError as soon as it is known to be over
    `limit` bytes (decoded): by its Content-Length before reading, or while reading one without."""
    def too_large() -> ProtocolError:
        return ProtocolError(f"Workers AI answered with more than {limit / 1024 / 1024:g} MB: the app does not "
                             "read answers that large. Ask for a smaller output.",
                             status=response.status_code, request_id=_request_id(response))

    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large()
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise too_large()
            chunks.append(chunk)
    finally:
        await response.aclose()
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return httpx.Response(response.status_code, headers=headers, content=b"".join(chunks),
                          request=response.request, extensions=response.extensions)


def _request_id(response: httpx.Response | None) -> str | None:
    if response is None:
        return None
    return response.headers.get("cf-ai-req-id") or response.headers.get("cf-ray")


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if value := response.headers.get("retry-after-ms"):
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None

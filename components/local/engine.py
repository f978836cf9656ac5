"""The offline engine: Workers AI's REST contract (paths, envelope, error codes, binary bodies, SSE)
answered by small local models.

`LocalEngine.handle()` takes a request and gives back an `EngineResponse`; two thin adapters carry it:
an httpx transport (in-process, the app's default: transport.py) and an ASGI app (served on a port:
`python -m components.local`). Model work runs on each model's own worker threads, never on the event loop.

What can be refused from the headers alone is refused there (`check_headers`): a missing or wrong bearer token
(compared in constant time, so its bytes cannot be guessed one by one from response times) and a declared
`Content-Length` over `MAX_BODY_BYTES` (413) or malformed (400), so a served engine never reads such a body.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import re
import uuid
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ..workers_ai import CHAT, EMBEDDINGS, SPEECH, VISION
from .models import MODELS, LocalModel

MAX_BODY_BYTES = 25 * 1024 * 1024
MAX_EMBEDDING_TEXTS = 100
_RUN = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/ai/run/(?P<model>.+)$")
_SEARCH = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/ai/models/search$")


class ApiError(Exception):
    """An error answered in Cloudflare's envelope, with Cloudflare's code and status."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad_input(message: str) -> ApiError:
    return ApiError(400, 5006, f"AiError: Bad input: {message}")


def too_large() -> ApiError:
    return ApiError(413, 3006, "Request is too large")


@dataclass
class EngineResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None


def envelope(result: Any = None, errors: list | None = None, **extra) -> bytes:
    return json.dumps(
        {"result": result if result is not None else {}, "success": not errors, "errors": errors or [],
         "messages": [], **extra},
        ensure_ascii=False,
    ).encode()


def refusal(error: ApiError) -> EngineResponse:
    """An error answered as Cloudflare does: its status, the envelope with its code, a request id."""
    body = envelope(errors=[{"code": error.code, "message": error.message}])
    return EngineResponse(error.status, {"content-type": "application/json", "cf-ai-req-id": str(uuid.uuid4())}, body)


class LocalEngine:
    """Answers Workers AI requests with the models in `MODELS`. `token=None` accepts any bearer token."""

    def __init__(self, token: str | None = None, models: dict[str, LocalModel] = MODELS) -> None:
        self.token = token
        self.models = models
        self._gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    async def handle(self, method: str, path: str, query: dict, headers: dict, body: bytes) -> EngineResponse:
        try:
            self.check_headers(headers)
            if len(body) > MAX_BODY_BYTES:
                raise too_large()
            if method == "POST" and (match := _RUN.match(path)):
                response = await self._run(match["model"], headers, body)
            elif method == "GET" and _SEARCH.match(path):
                response = self._search(query)
            else:
                raise ApiError(404, 7000, "No route for that URI")
        except ApiError as error:
            return refusal(error)
        response.headers["cf-ai-req-id"] = str(uuid.uuid4())
        return response

    def check_headers(self, headers: dict) -> None:
        """Raise the ApiError that the headers alone earn: checked before a body is read, so none is read in vain."""
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        if scheme != "Bearer" or not token or (
            self.token is not None and not hmac.compare_digest(token.encode(), self.token.encode())
        ):
            raise ApiError(401, 10000, "Authentication error")
        declared = headers.get("content-length")
        if declared is None:
            return
        if not (declared.isascii() and declared.isdigit()):
            raise ApiError(400, 3003, "Malformed Content-Length header")
        digits = declared.lstrip("0") or "0"  # length first: int() refuses over 4,300 digits
        if len(digits) > len(str(MAX_BODY_BYTES)) or int(digits) > MAX_BODY_BYTES:
            raise too_large()

    # ── catalogue ─────────────────────────────────────────────────────────────────────────────

    def _search(self, query: dict) -> EngineResponse:
        items = [m.catalogue_item() for m in self.models.values()
                 if not query.get("task") or m.task.lower() == str(query["task"]).lower()]
        if needle := str(query.get("search") or "").lower():
            items = [i for i in items if needle in i["name"].lower() or needle in i["description"].lower()]
        per_page = max(1, min(int(query.get("per_page") or 20), 100))
        page = max(1, int(query.get("page") or 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        info = {"page": page, "per_page": per_page, "count": len(chunk), "total_count": len(items)}
        return EngineResponse(200, {"content-type": "application/json"}, envelope(chunk, result_info=info))

    # ── running a model ───────────────────────────────────────────────────────────────────────

    async def _run(self, name: str, headers: dict, body: bytes) -> EngineResponse:
        model = self.models.get(name)
        if model is None:
            if not name.startswith(("@cf/", "@hf/", "@local/")):
                raise ApiError(404, 3042, "Invalid model ID")
            raise ApiError(400, 5007, f"No such model {name} or task")
        is_json = "json" in (headers.get("content-type") or "")
        payload = _json_object(body) if is_json else None
        if model.task == CHAT:
            return await self._generate(model, payload)
        if model.task == EMBEDDINGS:
            texts, pooling = _texts(payload)
            vectors = await self._work(model, lambda m: m.embed(texts))
            result = {"shape": list(vectors.shape), "data": vectors.tolist(), "pooling": pooling}
        elif model.task == SPEECH:
            result = await self._work(model, lambda m: m.transcribe(_binary(payload, body, "audio")))
        elif model.task == VISION:
            result = await self._work(model, lambda m: m.classify(_binary(payload, body, "image")))
        else:  # a model in the table with a task this engine cannot run
            raise ApiError(400, 5007, f"No such model {name} or task")
        return EngineResponse(200, {"content-type": "application/json"}, envelope(result))

    def _gate(self, model: LocalModel) -> asyncio.Semaphore:
        """A per-model, per-event-loop gate: `model.workers` requests run, the others wait their turn."""
        gates = self._gates.setdefault(asyncio.get_running_loop(), {})
        return gates.setdefault(model.name, asyncio.Semaphore(model.workers))

    async def _work(self, model: LocalModel, job) -> Any:
        """Run `job(loaded_model)` on the model's worker thread; ValueError is the caller's bad input."""
        async with self._gate(model):
            return await self._in_pool(model, lambda: job(model.get()))

    async def _in_pool(self, model: LocalModel, fn) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(model.pool, fn)
        except ValueError as exc:
            raise bad_input(str(exc)) from exc

    async def _generate(self, model: LocalModel, payload: dict | None) -> EngineResponse:
        messages, options, stream = _generation_request(payload)
        if not stream:
            result = await self._work(model, lambda m: m.complete(messages, **options))
            return EngineResponse(200, {"content-type": "application/json"}, envelope(result))
        gate = self._gate(model)
        await gate.acquire()
        try:  # start generating before answering, so a bad input is a JSON error, not a broken stream
            chat = await self._in_pool(model, model.get)
            tokens = await self._in_pool(model, lambda: iter(chat.stream(messages, **options)))
            first = await self._in_pool(model, lambda: next(tokens, None))
        except BaseException:
            gate.release()
            raise
        return EngineResponse(200, {"content-type": "text/event-stream", "cache-control": "no-cache"},
                              stream=self._sse(model, gate, tokens, first))

    async def _sse(self, model: LocalModel, gate: asyncio.Semaphore, tokens, item) -> AsyncIterator[bytes]:
        """Each token as Workers AI sends it: `data: {"response": …}`, usage last, then `[DONE]`."""
        try:
            while item is not None:
                event = {"response": item.get("text", "")}
                if item.get("usage"):
                    event["usage"] = item["usage"]
                yield b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n"
                item = await self._in_pool(model, lambda: next(tokens, None))
            yield b"data: [DONE]\n\n"
        finally:  # also when the reader goes away mid-stream: stop generating, free the model
            try:
                await self._in_pool(model, tokens.close)
            finally:
                gate.release()


# ── reading request bodies the way Workers AI does ───────────────────────────────────────────────


def _json_object(body: bytes) -> dict:
    try:
        payload = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad_input("the body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise bad_input("the body must be a JSON object")
    return payload


def _generation_request(payload: dict | None) -> tuple[list[dict], dict, bool]:
    if payload is None:
        raise bad_input("text generation takes a JSON body")
    messages = payload.get("messages")
    if messages is None and isinstance(payload.get("prompt"), str):
        messages = [{"role": "user", "content": payload["prompt"]}]
    if not isinstance(messages, list) or not messages or not all(
        isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") in
        ("system", "user", "assistant", "tool") for m in messages
    ):
        raise bad_input("required properties at '/' are 'messages' or 'prompt'")
    max_tokens = payload.get("max_tokens", 256)
    temperature = payload.get("temperature", 0.6)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or not 1 <= max_tokens <= 8192:
        raise bad_input("max_tokens must be an integer between 1 and 8192")
    if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 5:
        raise bad_input("temperature must be a number between 0 and 5")
    options = {"max_tokens": max_tokens, "temperature": float(temperature)}
    if isinstance(payload.get("seed"), int):
        options["seed"] = payload["seed"]
    return messages, options, payload.get("stream") is True


def _texts(payload: dict | None) -> tuple[list[str], str]:
    text = (payload or {}).get("text")
    texts = [text] if isinstance(text, str) else text
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise bad_input("'text' must be a string or a non-empty array of strings")
    if len(texts) > MAX_EMBEDDING_TEXTS:
        raise bad_input(f"too many items: at most {MAX_EMBEDDING_TEXTS} texts per request")
    pooling = (payload or {}).get("pooling", "mean")
    if pooling != "mean":
        raise bad_input("this model supports mean pooling only")
    return texts, pooling


def _binary(payload: dict | None, body: bytes, field_name: str) -> bytes:
    """Raw bytes body, `{field: [0-255 ints]}`, or (like turbo) `{field: "<base64>"}`."""
    if payload is None:
        if not body:
            raise bad_input(f"the request has no {field_name}")
        return body
    value = payload.get(field_name)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise bad_input(f"'{field_name}' is not valid base64") from exc
    if isinstance(value, list) and value and all(isinstance(v, int) and 0 <= v <= 255 for v in value):
        return bytes(value)
    raise bad_input(f"Type mismatch of '/{field_name}', expected 'array' or 'binary'")

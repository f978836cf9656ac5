"""The offline engine: Workers AI's REST contract (paths, envelope, error codes, binary bodies, SSE)
answered by small local models.

`LocalEngine.handle()` takes a request and gives back an `EngineResponse`; two thin adapters carry it:
an httpx transport (in-process, the app's default: transport.py) and an ASGI app (served on a port:
`python -m components.local`). Model work runs on each model's own worker threads, never on the event loop.

Routes: `POST …/ai/run/{model}`, `GET …/ai/models/search`, `GET …/ai/models/schema?model=` (schemas.py), and the
OpenAI-compatible `…/ai/v1/chat/completions`, `…/ai/v1/embeddings` and `…/ai/v1/models` (openai_routes.py). Every
route reads its body with the same rules (inputs.py) and runs the models through the same three calls here —
`open_generation`, `complete`, `embed` — so the limits, the queueing and the answers cannot drift apart.

What can be refused from the headers alone is refused there (`check_headers`): a missing or wrong bearer token
(compared in constant time, so its bytes cannot be guessed one by one from response times) and a declared
`Content-Length` over `MAX_BODY_BYTES` (413) or malformed (400), so a served engine never reads such a body.
Each model runs `workers` requests at once; up to `max_waiting` more wait their turn, and beyond that (or at once
with Workers AI's `"options": {"rejectIfBusy": true}`) a request is answered 429 / 3040, as Workers AI does.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from typing import Any

import numpy as np

from ..workers_ai import CHAT, EMBEDDINGS, SPEECH, VISION
from . import openai_routes
from .inputs import MAX_EMBEDDING_TEXTS, binary, embedding_request, generation_request, json_object, reject_if_busy
from .models import MODELS, LocalModel
from .schemas import schema_of
from .wire import (
    MAX_BODY_BYTES,
    SSE,
    ApiError,
    EngineResponse,
    StreamedAnswer,
    bad_input,
    busy,
    envelope,
    json_response,
    refusal,
    too_large,
    unknown_model,
)

log = logging.getLogger("local")
MAX_WAITING = 64  # requests queued per model beyond those running: each holds its body (up to 25 MB) while it waits
_RUN = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/ai/run/(?P<model>.+)$")
_CATALOGUE = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/ai/models/(?P<action>search|schema)$")

__all__ = ["MAX_BODY_BYTES", "MAX_EMBEDDING_TEXTS", "ApiError", "EngineResponse", "LocalEngine", "bad_input",
           "envelope", "refusal", "too_large"]


class _Gate:
    """One model's turnstile on one event loop: `workers` requests run, up to `max_waiting` wait, the rest are busy."""

    def __init__(self, workers: int, max_waiting: int) -> None:
        self._slots = asyncio.Semaphore(workers)
        self._max_waiting = max_waiting
        self.waiting = 0

    async def acquire(self, reject_if_busy: bool = False) -> None:
        if self._slots.locked() and (reject_if_busy or self.waiting >= self._max_waiting):
            raise busy()
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1

    def release(self) -> None:
        self._slots.release()


class LocalEngine:
    """Answers Workers AI requests with the models in `MODELS`. `token=None` accepts any bearer token."""

    def __init__(self, token: str | None = None, models: dict[str, LocalModel] = MODELS,
                 max_waiting: int = MAX_WAITING) -> None:
        self.token = token
        self.models = models
        self.max_waiting = max_waiting
        self.started = int(time.time())
        self._gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    async def handle(self, method: str, path: str, query: dict, headers: dict, body: bytes) -> EngineResponse:
        try:
            self.check_headers(headers)
            if len(body) > MAX_BODY_BYTES:
                raise too_large()
            if (route := openai_routes.route_of(path)) is not None:
                response = await openai_routes.handle(self, method, route, headers, body)
            elif method == "POST" and (match := _RUN.match(path)):
                response = await self._run(match["model"], headers, body)
            elif method == "GET" and (match := _CATALOGUE.match(path)):
                response = self._search(query) if match["action"] == "search" else self._schema(query)
            else:
                raise ApiError(404, 7000, "No route for that URI")
        except ApiError as error:
            return self.refusal(path, error)
        except RuntimeError as exc:  # a model that could not load, or failed: its sentence, never a stack trace
            log.warning("%s %s failed: %s", method, path, exc)
            return self.refusal(path, ApiError(500, 3043, f"Internal server error: {exc}"))
        response.headers["cf-ai-req-id"] = str(uuid.uuid4())
        return response

    def refusal(self, path: str, error: ApiError) -> EngineResponse:
        """`error` worded for the route that was asked: OpenAI's error object under /ai/v1/, else Cloudflare's."""
        if openai_routes.route_of(path) is not None:
            return openai_routes.refusal(error)
        return refusal(error)

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

    def model(self, name: str) -> LocalModel:
        """The model called `name`, or the error Workers AI gives for an unknown one."""
        model = self.models.get(name)
        if model is None:
            raise unknown_model(name)
        return model

    # ── catalogue ─────────────────────────────────────────────────────────────────────────────

    def _search(self, query: dict) -> EngineResponse:
        task = str(query.get("task") or "").lower()
        items = [m.catalogue_item() for m in self.models.values() if not task or m.task.lower() == task]
        if needle := str(query.get("search") or "").lower():
            items = [i for i in items if needle in i["name"].lower() or needle in i["description"].lower()]
        per_page = min(_positive(query, "per_page", 20), 100)
        page = _positive(query, "page", 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        info = {"page": page, "per_page": per_page, "count": len(chunk), "total_count": len(items)}
        return json_response(envelope(chunk, result_info=info))

    def _schema(self, query: dict) -> EngineResponse:
        return json_response(envelope(schema_of(self.model(str(query.get("model") or "")))))

    # ── running a model: the three calls every route shares ──────────────────────────────────────

    async def open_generation(self, model: LocalModel, messages: list[dict], options: dict,
                              reject_if_busy: bool = False) -> Generation:
        """Start generating: the first token is made before this returns, so a bad input raises here, as an error
        answer rather than a broken stream. The Generation holds the model until it ends or is closed."""
        gate = self._gate(model)
        await gate.acquire(reject_if_busy)
        try:
            chat = await self._in_pool(model, model.get)
            tokens = await self._in_pool(model, lambda: iter(chat.stream(messages, **options)))
            first = await self._in_pool(model, lambda: next(tokens, None))
        except BaseException:
            gate.release()
            raise
        return Generation(self, model, gate, tokens, first)

    async def complete(self, model: LocalModel, messages: list[dict], options: dict,
                       reject_if_busy: bool = False) -> dict:
        """The whole reply: `{"response", "usage", "finish_reason"}`."""
        return await self._work(model, lambda m: m.answer(messages, **options), reject_if_busy)

    async def embed(self, model: LocalModel, texts: list[str], reject_if_busy: bool = False) -> tuple[np.ndarray, int]:
        """(vectors, tokens the model read) for `texts`."""
        return await self._work(model, lambda m: m.embed_counted(texts), reject_if_busy)

    async def _run(self, name: str, headers: dict, body: bytes) -> EngineResponse:
        model = self.model(name)
        # Text models take JSON only, whatever Content-Type says (curl -d says a form); binary ones may take bytes.
        is_json = "json" in (headers.get("content-type") or "") or model.task in (CHAT, EMBEDDINGS)
        payload = json_object(body) if is_json else None
        reject = reject_if_busy(payload)
        if model.task == CHAT:
            messages, options, stream = generation_request(payload)
            if stream:
                events = await self.open_generation(model, messages, options, reject)
                return EngineResponse(200, dict(SSE), stream=StreamedAnswer(_workers_ai_sse(events), events))
            reply = await self.complete(model, messages, options, reject)
            result = {"response": reply["response"], "usage": reply["usage"]}
        elif model.task == EMBEDDINGS:
            texts, pooling = embedding_request(payload)
            vectors, _ = await self.embed(model, texts, reject)
            result = {"shape": list(vectors.shape), "data": vectors.tolist(), "pooling": pooling}
        elif model.task == SPEECH:
            result = await self._work(model, lambda m: m.transcribe(binary(payload, body, "audio")), reject)
        elif model.task == VISION:
            result = await self._work(model, lambda m: m.classify(binary(payload, body, "image")), reject)
        else:  # a model in the table with a task this engine cannot run
            raise ApiError(400, 5007, f"No such model {name} or task")
        return json_response(envelope(result))

    def _gate(self, model: LocalModel) -> _Gate:
        """A per-model, per-event-loop gate: `model.workers` requests run, the others wait their turn."""
        gates = self._gates.setdefault(asyncio.get_running_loop(), {})
        if (gate := gates.get(model.name)) is None:
            gate = gates[model.name] = _Gate(model.workers, self.max_waiting)
        return gate

    async def _work(self, model: LocalModel, job, reject_if_busy: bool = False) -> Any:
        """Run `job(loaded_model)` on the model's worker thread; ValueError is the caller's bad input."""
        gate = self._gate(model)
        await gate.acquire(reject_if_busy)
        try:
            return await self._in_pool(model, lambda: job(model.get()))
        finally:
            gate.release()

    async def _in_pool(self, model: LocalModel, fn) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(model.pool, fn)
        except ValueError as exc:
            raise bad_input(str(exc)) from exc


class Generation:
    """A reply being generated, as an async iterator of the model's events: `{"text"}` per token, then `{"text": "",
    "usage", "finish_reason"}`. Its end, `aclose()`, or (last resort) its loss stops generating and frees the model."""

    def __init__(self, engine: LocalEngine, model: LocalModel, gate: _Gate, tokens, first: dict | None) -> None:
        self._engine, self._model, self._gate, self._tokens = engine, model, gate, tokens
        self._pending = first  # made before the answer began
        self._loop = asyncio.get_running_loop()
        self._open = True

    def __aiter__(self) -> Generation:
        return self

    async def __anext__(self) -> dict:
        item, self._pending = self._pending, None
        if item is None and self._open:
            item = await self._engine._in_pool(self._model, lambda: next(self._tokens, None))
        if item is None:
            await self.aclose()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            await self._engine._in_pool(self._model, self._tokens.close)
        finally:
            self._gate.release()

    def __del__(self) -> None:  # dropped unclosed (a served reader gone before the first byte): free the model anyway
        if getattr(self, "_open", False):
            self._open = False
            try:
                self._tokens.close()
            except ValueError:  # the model is mid-token: its thread ends the generation
                pass
            finally:
                try:
                    self._loop.call_soon_threadsafe(self._gate.release)  # the model's slot, whatever happened
                except RuntimeError:  # the loop is closed, and its gate with it
                    pass


async def _workers_ai_sse(events: Generation) -> AsyncIterator[bytes]:
    """Each token as Workers AI sends it: `data: {"response": …}`, usage last, then `[DONE]`."""
    async for item in events:
        event = {"response": item.get("text", "")}
        if item.get("usage"):
            event["usage"] = item["usage"]
        yield b"data: " + json.dumps(event, ensure_ascii=False).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


def _positive(query: dict, name: str, default: int) -> int:
    value = str(query.get(name) or default)
    if not (value.isascii() and value.isdigit()) or len(value) > 6 or int(value) < 1:
        raise bad_input(f"'{name}' must be a positive whole number")
    return int(value)

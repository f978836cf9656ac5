"""The OpenAI-compatible routes Workers AI also serves (shared/docs/workers-ai-contract.md §7), for the OpenAI SDK,
LangChain, LlamaIndex or the Vercel AI SDK pointed at `http://127.0.0.1:8788/client/v4/accounts/local/ai/v1`:

    POST …/ai/v1/chat/completions   messages, max_tokens (or max_completion_tokens), temperature, top_p, seed,
                                    frequency/presence_penalty, stream (+ stream_options.include_usage)
    POST …/ai/v1/embeddings         input: a string or a list of strings; encoding_format float or base64
    GET  …/ai/v1/models             the local models, as OpenAI's list (and …/models/{id} for one)

OpenAI's shapes, no envelope: `chat.completion`, `chat.completion.chunk` events ending in `data: [DONE]`, and
`{"error": {"message", "type", "param", "code"}}` with OpenAI's statuses. The body is translated into the Workers AI
one and read by the very rules /ai/run uses (inputs.py); the models run through the engine's own calls
(`open_generation`, `complete`, `embed`), so both routes share the same models, limits and queue. Parameters the
local models cannot honour are refused (`n` other than 1, token-array inputs, other `dimensions`); others that only
shape a cloud model's answer (`stop`, `tools`, `response_format`, `logprobs`, `user`…) are ignored.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from ..workers_ai import CHAT, EMBEDDINGS
from .inputs import embedding_texts, generation_request, json_object, reject_if_busy
from .models import LocalModel
from .wire import BAD_INPUT, JSON, SSE, ApiError, EngineResponse, StreamedAnswer, bad_input

LocalEngine = Any  # engine.py's LocalEngine, which imports this module: named here for the reader only

_V1 = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/ai/v1(?P<route>/.*)?$")
_SAMPLING = ("temperature", "top_p", "seed", "frequency_penalty", "presence_penalty")
# Cloudflare's code → OpenAI's error type and code (others: invalid_request_error, or server_error for a 5xx).
_ERRORS = {
    10000: ("invalid_request_error", "invalid_api_key"),
    5007: ("invalid_request_error", "model_not_found"),
    3042: ("invalid_request_error", "model_not_found"),
    3006: ("invalid_request_error", "request_too_large"),
    3040: ("rate_limit_error", "rate_limit_exceeded"),
    7000: ("invalid_request_error", "unknown_url"),
}


def route_of(path: str) -> str | None:
    """The part of `path` after `/ai/v1` ("/chat/completions"…), or None for a path outside the OpenAI routes."""
    match = _V1.match(path)
    return None if match is None else (match["route"] or "/")


def refusal(error: ApiError) -> EngineResponse:
    """`error` as OpenAI words one: `{"error": {"message", "type", "param", "code"}}`, with its HTTP status."""
    kind, code = _ERRORS.get(error.code, ("server_error" if error.status >= 500 else "invalid_request_error", None))
    message = error.message.removeprefix(BAD_INPUT)
    if error.status == 401:
        message = "Incorrect API key provided: pass the engine's token as the API key (Authorization: Bearer …)."
    elif error.status == 413:
        message = f"{message}: the engine takes request bodies of at most 25 MB."
    body = {"error": {"message": message, "type": kind, "param": error.param, "code": code}}
    headers = {**JSON, "cf-ai-req-id": str(uuid.uuid4())}
    if error.status == 429:
        headers["retry-after"] = "1"
    return EngineResponse(error.status, headers, json.dumps(body, ensure_ascii=False).encode())


async def handle(engine: LocalEngine, method: str, route: str, headers: dict, body: bytes) -> EngineResponse:
    if method == "POST" and route == "/chat/completions":
        return await _chat(engine, json_object(body))  # whatever Content-Type says (curl -d: a form)
    if method == "POST" and route == "/embeddings":
        return await _embeddings(engine, json_object(body))
    if method == "GET" and route == "/models":
        return _json({"object": "list", "data": [_model_card(engine, m) for m in engine.models.values()]})
    if method == "GET" and route.startswith("/models/"):
        return _json(_model_card(engine, _model(engine, route.removeprefix("/models/"), None)))
    raise ApiError(404, 7000, f"Invalid URL ({method} /v1{route}): this engine serves POST /v1/chat/completions, "
                              "POST /v1/embeddings and GET /v1/models.")


def _model(engine: LocalEngine, name: Any, task: str | None) -> LocalModel:
    if not isinstance(name, str) or not name:
        raise bad_input("'model' is required: one of the ids GET /v1/models lists", "model")
    model = engine.models.get(name)
    if model is None:
        raise ApiError(404, 5007, f"The model `{name}` does not exist: GET /v1/models lists the models here.", "model")
    if task is not None and model.task != task:
        route = "chat/completions" if task == CHAT else "embeddings"
        raise bad_input(f"{name} is a {model.task} model; /v1/{route} takes a {task} model", "model")
    return model


def _model_card(engine: LocalEngine, model: LocalModel) -> dict:
    return {"id": model.name, "object": "model", "created": engine.started, "owned_by": "local",
            "task": model.task, "description": model.description}


def _json(body: dict) -> EngineResponse:
    return EngineResponse(200, dict(JSON), json.dumps(body, ensure_ascii=False).encode())


# ── chat completions ─────────────────────────────────────────────────────────────────────────────


def _content(content: Any) -> Any:
    """OpenAI's content: a string, or a list of parts of which only text parts are readable here."""
    if isinstance(content, list):
        if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                   for p in content):
            raise bad_input("message content parts must be text parts ({\"type\": \"text\", \"text\": …}): "
                            "the local chat model reads text only", "messages")
        return "".join(part["text"] for part in content)
    return content


def _generation(payload: dict) -> dict:
    """The OpenAI body as the Workers AI one that /ai/run reads."""
    if payload.get("n") not in (None, 1):
        raise bad_input("'n' must be 1: the local model writes one choice per request", "n")
    messages = payload.get("messages")
    if messages is None:
        raise bad_input("'messages' is required", "messages")
    if isinstance(messages, list):
        messages = [{**m, "role": "system" if m.get("role") == "developer" else m.get("role"),
                     "content": _content(m.get("content"))} if isinstance(m, dict) else m for m in messages]
    translated = {"messages": messages}
    max_tokens = payload.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = payload.get("max_tokens")
    if max_tokens is not None:
        translated["max_tokens"] = max_tokens
    translated.update({name: payload[name] for name in _SAMPLING if payload.get(name) is not None})
    if payload.get("stream") is not None:
        translated["stream"] = payload["stream"]
    return translated


async def _chat(engine: LocalEngine, payload: dict) -> EngineResponse:
    model = _model(engine, payload.get("model"), CHAT)
    try:
        messages, options, stream = generation_request(_generation(payload))
    except ApiError as error:  # name the parameter as the caller did
        if error.param == "max_tokens" and payload.get("max_completion_tokens") is not None:
            error.param, error.message = "max_completion_tokens", error.message.replace("max_tokens",
                                                                                        "max_completion_tokens")
        raise
    reject = reject_if_busy(payload)
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": model.name}
    if not stream:
        reply = await engine.complete(model, messages, options, reject)
        message = {"role": "assistant", "content": reply["response"], "refusal": None}
        return _json({**head, "object": "chat.completion", "system_fingerprint": None, "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": reply["finish_reason"]}],
            "usage": reply["usage"]})
    stream_options = payload.get("stream_options")
    if stream_options is not None and not isinstance(stream_options, dict):
        raise bad_input("'stream_options' must be an object", "stream_options")
    usage = bool((stream_options or {}).get("include_usage"))
    events = await engine.open_generation(model, messages, options, reject)
    return EngineResponse(200, dict(SSE), stream=StreamedAnswer(_chunks(events, head, usage), events))


async def _chunks(events: AsyncIterator[dict], head: dict, include_usage: bool) -> AsyncIterator[bytes]:
    """OpenAI's stream: a first chunk with the role, one per token, one with the finish reason, the usage chunk
    when asked for (`stream_options.include_usage`), then `data: [DONE]`."""
    prefix = json.dumps({**head, "object": "chat.completion.chunk", "system_fingerprint": None},
                        ensure_ascii=False)[:-1]  # every chunk opens alike: encoded once

    def chunk(delta: dict | None, finish: str | None = None, usage: dict | None = None) -> bytes:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        tail = {"choices": choices, "usage": usage} if include_usage else {"choices": choices}
        return b"data: " + (prefix + ", " + json.dumps(tail, ensure_ascii=False)[1:]).encode() + b"\n\n"

    yield chunk({"role": "assistant", "content": ""})
    async for event in events:
        if event.get("text"):
            yield chunk({"content": event["text"]})
        if event.get("usage"):
            yield chunk({}, event.get("finish_reason") or "stop")
            if include_usage:
                yield chunk(None, usage=event["usage"])
    yield b"data: [DONE]\n\n"


# ── embeddings ───────────────────────────────────────────────────────────────────────────────────


async def _embeddings(engine: LocalEngine, payload: dict) -> EngineResponse:
    model = _model(engine, payload.get("model"), EMBEDDINGS)
    if "input" not in payload:
        raise bad_input("'input' is required: a string or a list of strings", "input")
    texts = embedding_texts(payload["input"], "input")
    encoding = payload.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise bad_input("'encoding_format' must be 'float' or 'base64'", "encoding_format")
    dimensions = int(model.properties.get("output_dimensions", 0)) or None
    if payload.get("dimensions") not in (None, dimensions):
        raise bad_input(f"{model.name} makes {dimensions}-dimensional vectors only", "dimensions")
    vectors, tokens = await engine.embed(model, texts, reject_if_busy(payload))
    if encoding == "base64":  # OpenAI's: the float32 values' little-endian bytes
        rows = [base64.b64encode(row.astype("<f4").tobytes()).decode() for row in vectors]
    else:
        rows = vectors.tolist()
    return _json({"object": "list", "model": model.name,
                  "data": [{"object": "embedding", "index": i, "embedding": row} for i, row in enumerate(rows)],
                  "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

"""Reading request bodies the way Workers AI does: one set of rules and limits for every route of the engine.

`/ai/run`, the OpenAI-compatible `/ai/v1/…` routes (openai_routes.py) and the published model schemas (schemas.py)
all take their limits from here, so a schema never promises what the engine refuses, nor the reverse.
Each refusal is an `ApiError` (400, code 5006, "AiError: Bad input: …") naming the parameter at fault.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from .chat_model import ROLES
from .wire import bad_input

MAX_EMBEDDING_TEXTS = 100
DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 0.6
# name: (low, high, integer?) — llama-3.1-8b-instruct-fast's published ranges, which the local chat model honours.
SAMPLING = {
    "max_tokens": (1, 8192, True),  # 8192 = the local chat model's whole context window
    "temperature": (0, 5, False),
    "top_p": (0, 2, False),
    "top_k": (1, 50, True),
    "seed": (1, 9_999_999_999, True),
    "frequency_penalty": (0, 2, False),
    "presence_penalty": (0, 2, False),
}
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"  # what b64decode(validate=True) takes
_BASE64 = re.compile(BASE64_PATTERN)


def json_object(body: bytes) -> dict:
    try:
        payload = json.loads(body or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise bad_input("the body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise bad_input("the body must be a JSON object")
    return payload


def reject_if_busy(payload: dict | None) -> bool:
    """Workers AI's `"options": {"rejectIfBusy": true}`: answer 429 at once rather than wait for the model."""
    options = (payload or {}).get("options")
    return isinstance(options, dict) and options.get("rejectIfBusy") is True


def _number(payload: dict, name: str, default=None):
    """`payload[name]` within its SAMPLING range; `default` when absent (an explicit null is refused, as the schema
    does)."""
    if name not in payload:
        return default
    value, (low, high, integer) = payload[name], SAMPLING[name]
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        what = "an integer" if integer else "a number"
        raise bad_input(f"{name} must be {what} between {low} and {high}", name)
    return value


def generation_request(payload: dict | None) -> tuple[list[dict], dict, bool]:
    """(messages, options for ChatModel.stream/complete, stream?) from a text-generation body."""
    if payload is None:
        raise bad_input("text generation takes a JSON body")
    messages, prompt = payload.get("messages"), payload.get("prompt")
    if messages is not None and prompt is not None:
        raise bad_input("send 'messages' or 'prompt', not both", "messages")
    if messages is None and prompt is not None:
        if not isinstance(prompt, str) or not prompt:
            raise bad_input("'prompt' must be a non-empty string", "prompt")
        messages = [{"role": "user", "content": prompt}]
    if messages is None:
        raise bad_input("required properties at '/' are 'messages' or 'prompt'", "messages")
    if not isinstance(messages, list) or not messages or not all(
        isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") in ROLES for m in messages
    ):
        raise bad_input(f"'messages' must be a non-empty array of {{role, content}} objects, role one of "
                        f"{', '.join(ROLES)} and content a string", "messages")
    options = {"max_tokens": _number(payload, "max_tokens", DEFAULT_MAX_TOKENS),
               "temperature": float(_number(payload, "temperature", DEFAULT_TEMPERATURE))}
    for name in ("top_p", "top_k", "seed", "frequency_penalty", "presence_penalty"):
        if (value := _number(payload, name)) is not None:
            options[name] = value
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise bad_input("'stream' must be true or false", "stream")
    return [{"role": m["role"], "content": m["content"]} for m in messages], options, stream


def embedding_texts(value, name: str = "text") -> list[str]:
    """A string or a non-empty array of at most MAX_EMBEDDING_TEXTS strings, none empty."""
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise bad_input(f"'{name}' must be a string or a non-empty array of strings", name)
    if len(texts) > MAX_EMBEDDING_TEXTS:
        raise bad_input(f"too many items: at most {MAX_EMBEDDING_TEXTS} texts per request", name)
    if not all(texts):
        raise bad_input(f"'{name}' must not contain an empty string", name)
    return texts


def embedding_request(payload: dict | None) -> tuple[list[str], str]:
    texts = embedding_texts((payload or {}).get("text"))
    pooling = (payload or {}).get("pooling", "mean")
    if pooling != "mean":
        raise bad_input("this model supports mean pooling only", "pooling")
    return texts, pooling


def binary(payload: dict | None, body: bytes, field_name: str) -> bytes:
    """Raw bytes body, `{field: [0-255 ints]}`, or (like turbo) `{field: "<base64>"}`."""
    if payload is None:
        if not body:
            raise bad_input(f"the request has no {field_name}", field_name)
        return body
    value = payload.get(field_name)
    if isinstance(value, str):
        if not _BASE64.match(value):
            raise bad_input(f"'{field_name}' is not valid base64", field_name)
        try:
            return base64.b64decode(value, validate=True)
        except (ValueError, binascii.Error) as exc:  # pragma: no cover - the pattern already refused it
            raise bad_input(f"'{field_name}' is not valid base64", field_name) from exc
    if isinstance(value, list) and value and all(type(v) is int and 0 <= v <= 255 for v in value):
        return bytes(value)
    raise bad_input(f"Type mismatch of '/{field_name}', expected 'array' or 'binary'", field_name)

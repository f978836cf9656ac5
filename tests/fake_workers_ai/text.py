"""Text generation, in both output shapes (classic `response` and chat-completions `choices`)."""

from __future__ import annotations

import random
import string
import time
import uuid

from .errors import bad_input, request_object
from .sse import Stream

# A multi-byte dash and emoji make the "split" chunking cut inside a UTF-8 character.
DEFAULT_TOKENS = ("Hello", "!", " I", " am", " your", " friendly", " assistant", " —", " happy", " to", " help",
                  " 🙂", ".")


def _count_words(messages, prompt) -> int:
    texts = [prompt] if isinstance(prompt, str) else [m.get("content") for m in messages]
    return sum(len(t.split()) for t in texts if isinstance(t, str))


def _check_messages(messages) -> None:
    if not isinstance(messages, list) or not messages:
        raise bad_input("'/messages' must be a non-empty array")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) or "content" not in message:
            raise bad_input(f"'/messages/{index}' must be an object with 'role' and 'content'")


def _number(body: dict, key: str, default, low, high, kinds):
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        raise bad_input(f"'/{key}' must be a number between {low} and {high}")
    return value


def run_text(fake, req, info):
    """Validate like the runtime, then answer with `fake.stream_tokens` cut to `max_tokens`."""
    body = request_object(req)
    messages, prompt = body.get("messages"), body.get("prompt")
    if info.kind == "chat" and prompt is not None:
        raise bad_input("this model accepts 'messages' only, not 'prompt'")
    if messages is None and not isinstance(prompt, str):
        raise bad_input("required properties at '/' are 'messages' or 'prompt'")
    if messages is not None:
        _check_messages(messages)
    max_tokens = _number(body, "max_tokens", 256, 1, 131072, int)
    _number(body, "temperature", 0.6, 0, 5, (int, float))
    tokens = list(fake.stream_tokens)[:max_tokens]
    prompt_tokens = max(1, _count_words(messages, prompt))
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(tokens),
             "total_tokens": prompt_tokens + len(tokens)}
    chat = info.kind == "chat"
    if body.get("stream") is True:
        return Stream(_chat_events(info.name, tokens, usage) if chat else _classic_events(tokens, usage))
    if chat:
        return _chat_result(info.name, "".join(tokens), usage)
    return {"response": "".join(tokens), "usage": usage, "tool_calls": []}


def _padding() -> str:
    """The `p` field: random-length padding the real service adds (clients must ignore it)."""
    return "".join(random.choices(string.ascii_letters + string.digits, k=random.randint(0, 20)))


def _classic_events(tokens: list[str], usage: dict) -> list[dict]:
    return [*({"response": t, "p": _padding()} for t in tokens), {"response": "", "usage": usage}]


def _chat_events(model: str, tokens: list[str], usage: dict) -> list[dict]:
    """Chat-completion chunks that carry each token twice (delta.content and response), like the real ones."""
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model}
    events = [{**head, "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": None}], "response": t}
              for t in tokens]
    final = {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "response": "", "usage": usage}
    return [*events, final]


def _chat_result(model: str, text: str, usage: dict) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": usage,
    }

"""A chat answer, without any page: the messages sent, the history budget, the checks, the streamed answer.

    async for reply, stats in answer(message, history, model, system_prompt, max_tokens, temperature, request):
        ...  # reply: the answer so far; stats: tokens, speed and (at the end) its cost

The Chat tab (components/chat.py), the API's `/chat`, and the router's edge and escalation answers
(components/routing/router.py) all stream through `answer`. Every answer is metered (components/usage.py):
before the request, a bound on the prompt's tokens plus `max_tokens` of output is reserved against the budgets;
afterwards the usage the model reports is charged.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .backend import is_offline, model_or_default, shared_client
from .errors import InputProblem
from .usage import metered
from ..workers_ai import CHAT, Estimate, coalesce, estimate, prompt_bound, token_bound

DEFAULT_SYSTEM_PROMPT = "You are a helpful, concise assistant. Use Markdown when it helps."
# SmolLM2-135M answers nonsense without a short, firm system prompt (see shared/docs/local-models.md).
OFFLINE_SYSTEM_PROMPT = "You are a helpful assistant. Answer in one short sentence."
MAX_MESSAGE_CHARS = 32_000  # well inside the 8B models' context; longer pastes get a clear message
# A system prompt is sent with every message (and to an escalation target too): bounded like a message.
MAX_SYSTEM_PROMPT_CHARS = 4_000
# What is sent of a conversation: its newest turns that fit, with the system prompt and the new message, in this
# many characters (~4 a token), so that a long conversation keeps working instead of failing once it outgrows the
# model's context window. Cloud: ~8k tokens, inside the listed chat models' windows with room for the answer;
# offline: SmolLM2's 8,192-token window, less room for the longest answer.
HISTORY_CHARS = {"cloud": MAX_MESSAGE_CHARS, "offline": 12_000}
DEFAULT_MAX_TOKENS = 512
# One set of limits for the page's sliders, the API's schema (taken from the sliders) and `check_input`.
MAX_TOKENS_RANGE = (16, 4096)
# The reply is updated at most 20 times a second (the first token at once): smooth to the eye, and a visitor's
# cost to the server no longer grows with the model's speed (bench/README.md, concurrency).
UPDATE_INTERVAL = 0.05
TEMPERATURE_RANGE = (0.0, 2.0)
ERROR_PREFIX = "⚠️ Not answered: "  # marks the page's error notices, which are never sent back to the model


@dataclass
class AnswerStats:
    """What one answer cost and how fast it came."""

    model: str
    started: float
    max_tokens: int = 0
    prompt_estimate: int = 0  # an upper bound on the prompt's tokens (prompt_bound), for when no usage is reported
    first_token: float | None = None
    finished: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    chunks: int = 0
    reply_bytes: int = 0
    cost: Estimate | None = None
    left_out: int = 0  # earlier messages of the conversation not sent, to fit (build_messages)

    def measured_cost(self) -> Estimate:
        """From the usage the model reported; without one, bounds that hold: the prompt's, and for the answer
        one token per byte of it, at most max_tokens."""
        prompt = self.prompt_tokens if self.prompt_tokens is not None else self.prompt_estimate
        completion = (self.completion_tokens if self.completion_tokens is not None
                      else min(self.reply_bytes, self.max_tokens or self.reply_bytes))
        return estimate(self.model, input_tokens=prompt, output_tokens=completion)

    def line(self) -> str:
        parts = []
        if self.prompt_tokens is not None or self.completion_tokens is not None:
            parts.append(f"{self.prompt_tokens or 0} → {self.completion_tokens or 0} tokens")
        elif self.chunks:
            parts.append(f"≈{self.chunks} tokens out")
        if self.first_token is not None:
            parts.append(f"first token {self.first_token - self.started:.2f} s")
        generated = self.completion_tokens or self.chunks
        if self.finished is not None and self.first_token is not None and generated:
            span = max(self.finished - self.first_token, 1e-3)
            parts.append(f"{generated / span:.1f} tokens/s")
        parts.append(self.model.split("/")[-1])
        if self.cost is not None:
            parts.append(self.cost.describe(offline=is_offline(), basis=False))
        if self.left_out:
            parts.append(f"the {self.left_out} oldest messages not sent, to fit the model's context")
        return " · ".join(parts)


def build_messages(message: str, history: list[dict], system_prompt: str,
                   budget_chars: int | None = None) -> list[dict]:
    """System prompt, the conversation so far, then the new message — of the conversation, the newest turns that
    fit in `budget_chars` with the rest (by default the backend's `HISTORY_CHARS`)."""
    messages = [{"role": "system", "content": system_prompt.strip()}] if system_prompt.strip() else []
    if budget_chars is None:
        budget_chars = HISTORY_CHARS["offline" if is_offline() else "cloud"]
    room = budget_chars - len(message) - sum(len(m["content"]) for m in messages)
    kept: list[dict] = []
    for turn in reversed(text_turns(history)):
        room -= len(turn["content"])
        if room < 0:
            break
        kept.append(turn)
    while kept and kept[-1]["role"] == "assistant":  # begin with a question, as chat templates expect
        kept.pop()
    return messages + kept[::-1] + [{"role": "user", "content": message}]


def text_turns(history: list[dict]) -> list[dict]:
    """The conversation's user and assistant text turns, without the page's error notices."""
    turns = []
    for turn in history or []:
        content = text_of(turn.get("content")) if isinstance(turn, dict) else None
        if content is None or not content.strip() or content.startswith(ERROR_PREFIX):
            continue  # no text (a file), or an error notice shown on the page, not something the model said
        if turn.get("role") in ("user", "assistant"):
            turns.append({"role": turn["role"], "content": content})
    return turns


def text_of(content) -> str | None:
    """A turn's text. The page's history (Gradio 6's Chatbot) holds a list of parts, `{"type": "text", "text": …}`
    or files; the API's history holds plain strings. None when there is no text."""
    if isinstance(content, str):
        return content
    parts = [content] if isinstance(content, dict) else content if isinstance(content, list) else []
    texts = [part if isinstance(part, str) else part.get("text") for part in parts
             if isinstance(part, str) or (isinstance(part, dict) and part.get("type", "text") == "text")]
    texts = [text for text in texts if isinstance(text, str)]
    return "\n".join(texts) if texts else None


# An API caller's `history`: its newest API_HISTORY_TURNS turns are read (far more than HISTORY_CHARS can send),
# and it may hold at most API_HISTORY_CHARS characters (as JSON text, checked before parsing it).
API_HISTORY_TURNS = 1_000
API_HISTORY_CHARS = 1_000_000
HISTORY_SHAPE = 'a list of {"role": "user" or "assistant", "content": "text"}, oldest first'


def api_history(history) -> list[dict]:
    """The conversation an API or MCP caller passed, checked: a list, or a JSON string of one, of user and assistant
    text turns. The server keeps none between calls (Gradio's MCP server sends every caller through one session, so
    a kept one would be shared), so this is how a caller continues a conversation. Bad input gets a sentence that
    names the turn, without echoing it."""
    if history is None:
        return []
    if isinstance(history, str):
        if len(history) > API_HISTORY_CHARS:
            raise InputProblem(_history_too_long(len(history)))
        try:
            history = json.loads(history) if history.strip() else []
        except (ValueError, RecursionError):
            raise InputProblem(f"The history is not valid JSON: send {HISTORY_SHAPE}.") from None
    if not isinstance(history, list):
        raise InputProblem(f"The history must be {HISTORY_SHAPE}.")
    first = max(len(history) - API_HISTORY_TURNS, 0)
    turns = []
    for index, turn in enumerate(history[first:], start=first):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise InputProblem(f'history[{index}]: the role must be "user" or "assistant" (the system prompt is a '
                               f"parameter of its own). The history is {HISTORY_SHAPE}.")
        if not isinstance(turn.get("content"), str):
            raise InputProblem(f"history[{index}]: the content must be a string. The history is {HISTORY_SHAPE}.")
        turns.append({"role": turn["role"], "content": turn["content"]})
    if (size := sum(len(turn["content"]) for turn in turns)) > API_HISTORY_CHARS:
        raise InputProblem(_history_too_long(size))
    return turns


def _history_too_long(size: int) -> str:
    return (f"The history is {size:,} characters long; the limit is {API_HISTORY_CHARS:,}. Send its newest turns: "
            f"at most {HISTORY_CHARS['cloud']:,} characters of it reach the model.")


def turns_left_out(history: list[dict], messages: list[dict]) -> int:
    """How many of the conversation's turns `build_messages` left out of `messages` to fit."""
    sent = sum(1 for m in messages[:-1] if m["role"] != "system")
    return len(text_turns(history)) - sent


def check_input(message: str, max_tokens: float, temperature: float, system_prompt: str | None = "") -> str:
    if not isinstance(system_prompt, (str, type(None))) or len(system_prompt or "") > MAX_SYSTEM_PROMPT_CHARS:
        raise InputProblem(f"The system prompt must be text of at most {MAX_SYSTEM_PROMPT_CHARS:,} characters.")
    if not isinstance(message, (str, type(None))):
        raise InputProblem("The message must be text.")
    message = (message or "").strip()
    if not message:
        raise InputProblem("Type a message first.")
    if "\x00" in message:
        message = message.replace("\x00", "")
    if len(message) > MAX_MESSAGE_CHARS:
        raise InputProblem(
            f"The message is {len(message):,} characters long; the limit here is {MAX_MESSAGE_CHARS:,}. "
            "Shorten it or split it over several messages."
        )
    _in_range("Max tokens", max_tokens, MAX_TOKENS_RANGE)
    _in_range("Temperature", temperature, TEMPERATURE_RANGE)
    return message


def _in_range(name: str, value, limits: tuple[float, float]) -> None:
    """A number within `limits`, or a sentence: the API events skip Gradio's own input processing
    (components/ui.py `api_endpoint`)."""
    low, high = limits
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not low <= number <= high:  # NaN fails too
        raise InputProblem(f"{name} must be a number between {low:g} and {high:,g}.")


async def answer(
    message: str, history: list[dict], model: str, system_prompt: str, max_tokens: float, temperature: float,
    request=None,
) -> AsyncIterator[tuple[str, AnswerStats]]:
    """Stream one answer: yields the cumulative reply and its statistics so far.

    A stream that ends with the model's usage is charged that; one cut short after its request was answered (an
    error, or the visitor pressing stop) is charged its upper bound (components/usage.py: what ran is charged).
    """
    message = check_input(message, max_tokens, temperature, system_prompt)
    model = model_or_default(model, CHAT)
    if is_offline() and not (system_prompt or "").strip():
        system_prompt = OFFLINE_SYSTEM_PROMPT
    payload = {
        "messages": build_messages(message, history, system_prompt or ""),
        "max_tokens": int(max_tokens),
        "temperature": float(temperature),
    }
    prompt = prompt_bound(payload["messages"])
    stats = AnswerStats(model=model, started=time.perf_counter(), max_tokens=int(max_tokens),
                        prompt_estimate=prompt, left_out=turns_left_out(history, payload["messages"]))
    reply = ""
    upper = estimate(model, input_tokens=prompt, output_tokens=int(max_tokens))
    async with metered(request, "chat", CHAT, upper) as meter:
        async for batch in coalesce(shared_client().stream(model, payload), UPDATE_INTERVAL):
            grown = False
            for delta in batch:
                if delta.text:
                    if stats.first_token is None:
                        stats.first_token = time.perf_counter()
                    stats.chunks += 1
                    stats.reply_bytes += token_bound(delta.text)
                    reply += delta.text
                    grown = True
                if delta.usage:
                    stats.prompt_tokens = delta.usage.get("prompt_tokens", stats.prompt_tokens)
                    stats.completion_tokens = delta.usage.get("completion_tokens", stats.completion_tokens)
            if grown:
                yield reply, stats
        # The stream ended: charged what it reported. Cut short, it never gets here, and `metered` charges the
        # bound if its request was answered (components/usage.py: what ran is charged).
        stats.cost = stats.measured_cost()
        meter.record(stats.cost)
    stats.finished = time.perf_counter()
    yield reply, stats

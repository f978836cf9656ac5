"""Chat tab: a streaming conversation with any Workers AI text-generation model.

`/chat` is the public API: message + parameters in, the reply text out (streamed, cumulative). The
per-answer statistics (tokens, time to first token, tokens/s, estimated neurons) live in their own element on
the page and never in the reply, so API and MCP users get exactly what the model said.

Every answer is metered (components/usage.py): before the request, the prompt (~4 characters per token) plus
`max_tokens` of output is reserved against the budgets; afterwards the usage the model reports is charged.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import gradio as gr

from .header import refresh_meter
from .how_it_works import describe_trace, panel, sent_requests
from .backend import default_model, is_offline, model_or_default, shared_client
from .ui import (
    InputProblem, concurrency_limit, friendly_errors, loading_note, model_dropdown, setup_notice, user_error,
)
from .usage import metered, session_key
from .workers_ai import CHAT, Estimate, capture, coalesce, estimate, prompt_bound, token_bound

DEFAULT_SYSTEM_PROMPT = "You are a helpful, concise assistant. Use Markdown when it helps."
# SmolLM2-135M answers nonsense without a short, firm system prompt (see shared/docs/local-models.md).
OFFLINE_SYSTEM_PROMPT = "You are a helpful assistant. Answer in one short sentence."
OFFLINE_NOTICE = (
    "**Offline mode:** answers come from SmolLM2-135M, a *tiny* local model — fine for seeing streaming work, "
    "not for facts. Configure a Cloudflare account for real models."
)
MAX_MESSAGE_CHARS = 32_000  # well inside the 8B models' context; longer pastes get a clear message
# A system prompt is sent with every message (and to an escalation target too): bounded like a message.
MAX_SYSTEM_PROMPT_CHARS = 4_000
# What is sent of a conversation: its newest turns that fit, with the system prompt and the new message, in this
# many characters (~4 a token), so that a long conversation keeps working instead of failing once it outgrows the
# model's context window. Cloud: ~8k tokens, inside the listed chat models' windows with room for the answer;
# offline: SmolLM2's 8,192-token window, less room for the longest answer.
HISTORY_CHARS = {"cloud": MAX_MESSAGE_CHARS, "offline": 12_000}
DEFAULT_MAX_TOKENS = 512
# One set of limits for the page's sliders, the API's schema (taken from the sliders) and the check below.
MAX_TOKENS_RANGE = (16, 4096)
# The reply is updated at most 20 times a second (the first token at once): smooth to the eye, and a visitor's
# cost to the server no longer grows with the model's speed (bench/README.md, concurrency).
UPDATE_INTERVAL = 0.05
TEMPERATURE_RANGE = (0.0, 2.0)
EXAMPLES = [
    "Explain what Cloudflare Workers AI is in three bullet points.",
    "Write a haiku about edge computing.",
    "What is the difference between an embedding and a token?",
]


PAGE_ANSWER = "chat-answer"  # the page's whole answer (judge and model requests) in the How-it-works record
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


def _check(message: str, max_tokens: float, temperature: float, system_prompt: str | None = "") -> str:
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
    """A number within `limits`, or a sentence: the API events skip Gradio's own input processing (see `render`)."""
    low, high = limits
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not low <= number <= high:  # NaN fails too
        raise InputProblem(f"{name} must be a number between {low:g} and {high:,g}.")


async def _answer(
    message: str, history: list[dict], model: str, system_prompt: str, max_tokens: float, temperature: float,
    request: gr.Request | None = None,
) -> AsyncIterator[tuple[str, AnswerStats]]:
    """Stream one answer: yields the cumulative reply and its statistics so far.

    A stream that ends with the model's usage is charged that; one cut short after its request was answered (an
    error, or the visitor pressing stop) is charged its upper bound (components/usage.py: what ran is charged).
    """
    message = _check(message, max_tokens, temperature, system_prompt)
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


async def respond(message, history, model, system_prompt, max_tokens, temperature, route_mode: str = "",
                  request: gr.Request | None = None):
    """The page's chat function: the reply streams into the chat, the statistics line beside it, and the
    requests it sent into the How-it-works panel whenever that line changes (not per token).

    A failure becomes a notice in the conversation instead of an exception: Gradio 6.31's ChatInterface
    leaves its textbox disabled after its function raises, and the visitor could not type again.
    In Auto-route mode (components/chat_routing.py) each message is judged and routed first.
    """
    reply, line = "", None
    with capture((session_key(request), PAGE_ANSWER)) as sent:  # every request of this answer
        async for reply, new_line in _respond(message, history, model, system_prompt, max_tokens, temperature,
                                              route_mode, request):
            changed, line = new_line != line, new_line
            yield reply, line, describe_trace(sent) if changed else gr.skip()
    if line is not None:
        yield reply, line, describe_trace(sent)  # the same reply, now with every request's status and time


async def _respond(message, history, model, system_prompt, max_tokens, temperature, route_mode, request):
    from . import chat_routing  # deferred: chat_routing builds on this module

    if route_mode == chat_routing.AUTO_ROUTE:
        async for item in chat_routing.respond_routed(message, history, model, system_prompt, max_tokens,
                                                      temperature, request):
            yield item
        return
    model = model_or_default(model, CHAT)
    if note := loading_note(model):
        yield "", f"*{note}*"
    reply = ""
    try:
        async for reply, stats in _answer(message, history, model, system_prompt, max_tokens, temperature, request):
            yield reply, stats.line() if stats.finished else "*streaming…*"
    except Exception as exc:
        notice = ERROR_PREFIX + user_error(exc).message
        yield ([reply] if reply else []) + [notice], ""


@friendly_errors
async def chat(
    message: str,
    model: str = default_model(CHAT),
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    max_tokens: float = DEFAULT_MAX_TOKENS,
    temperature: float = 0.6,
    history: str | list[dict] = "",
    request: gr.Request | None = None,
):
    """Chat with a Workers AI text-generation model; streams the reply as it is generated.

    Each call stands alone: the server keeps no conversation. To continue one, pass the earlier turns as `history`.

    Args:
        message: What to say to the model.
        model: Any Workers AI text-generation model id, e.g. "@cf/meta/llama-3.1-8b-instruct-fast".
        system_prompt: Instructions that shape every answer.
        max_tokens: The longest answer to generate, in tokens (16-4096).
        temperature: Randomness, 0 (deterministic) to 2; 0.6 is a good default.
        history: The conversation so far, oldest first, as a JSON list of {"role": "user" or "assistant", "content": "text"}; empty to start one.

    Returns:
        The reply text (cumulative while streaming).
    """
    history = api_history(history)
    async for reply, _stats in _answer(message, history, model, system_prompt, max_tokens, temperature, request):
        yield reply


def api_endpoint(fn, api_name: str, parameters: list, extra_outputs: list | None = None) -> None:
    """A public chat endpoint without a page of its own: hidden message, history and reply boxes, and the tab's
    `parameters`. It keeps nothing between calls, no gr.State: Gradio's MCP server calls every tool through one
    cached client, so all MCP callers share one session, and a State would carry one caller's conversation into the
    next one's prompt. The caller passes `history` (JSON text: an MCP tool's schema cannot take a gr.JSON input)."""
    message = gr.Textbox(label="Message", visible=False)
    history = gr.Textbox("", label="History (JSON)", visible=False)  # a default value: optional for callers
    reply = gr.Textbox(label="Reply", visible=False)
    gr.Button(visible=False).click(
        fn, [message, *parameters, history], [reply, *(extra_outputs or [])],
        api_name=api_name, concurrency_limit=concurrency_limit(),
        # Plain strings and numbers need no conversion; `_check` validates them. Skipping Gradio's processing
        # saves a worker-thread hop per input before the request can start (bench/README.md, time to first token).
        preprocess=False, postprocess=False,
    )


def render(meter: gr.HTML | None = None) -> list[tuple[str, gr.Dropdown]]:
    """The Chat tab; each answer refreshes the header `meter` (if given). Returns its model dropdown, for the
    app to fill from the live catalogue."""
    from . import chat_routing  # deferred: chat_routing builds on this module

    if notice := setup_notice() or (OFFLINE_NOTICE if is_offline() else ""):
        gr.Markdown(notice, elem_classes="setup-notice")
    with gr.Row(equal_height=True):  # side by side on a laptop; one above the other on a phone (min_width)
        model = model_dropdown(CHAT, info="Any text-generation model id works; the list is the live catalogue.",
                               min_width=280)
        route_mode = chat_routing.route_mode_control()
    system_prompt = gr.Textbox(
        OFFLINE_SYSTEM_PROMPT if is_offline() else DEFAULT_SYSTEM_PROMPT, label="System prompt", lines=2, render=False
    )
    max_tokens = gr.Slider(*MAX_TOKENS_RANGE, value=DEFAULT_MAX_TOKENS, step=16, label="Max tokens", render=False)
    temperature = gr.Slider(*TEMPERATURE_RANGE, value=0.6, step=0.05, label="Temperature", render=False)
    stats = gr.Markdown(elem_classes="answer-stats", render=False)
    requests = sent_requests(render=False)
    gr.ChatInterface(
        respond,
        chatbot=gr.Chatbot(height=460, label="Conversation", buttons=["copy"], layout="bubble"),
        textbox=gr.Textbox(
            placeholder="Ask anything…", submit_btn=True, stop_btn=True, show_label=False, elem_id="chat-input"
        ),
        additional_inputs=[model, system_prompt, max_tokens, temperature, route_mode],
        additional_inputs_accordion=gr.Accordion("Parameters", open=False, render=False),
        additional_outputs=[stats, requests],
        examples=[[e] for e in EXAMPLES],
        concurrency_limit=concurrency_limit(),
        api_visibility="private",  # the public /chat below returns the reply alone
    )
    stats.render()
    summary = chat_routing.summary_box()
    panel("chat", requests)
    # The statistics line changes when an answer starts and when it is complete (with its cost): the cue to
    # bring the header meter up to date. ChatInterface keeps its own events to itself.
    if meter is not None:
        stats.change(refresh_meter, None, meter, api_visibility="private", queue=False, show_progress="hidden")

    parameters = [model, system_prompt, max_tokens, temperature]
    api_endpoint(chat, "chat", parameters)  # message in, the reply alone out
    chat_routing.wire(stats, summary, parameters)
    return [(CHAT, model)]

"""Chat tab: a streaming conversation with any Workers AI text-generation model.

`/chat` is the public API: message + parameters in, the reply text out (streamed, cumulative). The
per-answer statistics (tokens, time to first token, tokens/s, estimated neurons) live in their own element on
the page and never in the reply, so API and MCP users get exactly what the model said. The answer itself, its
checks and its metering are components/core/conversation.py; Auto-route is components/tabs/chat_routing.py.
"""

from __future__ import annotations

import gradio as gr

from ..core.backend import is_offline, model_or_default
from ..core.conversation import (
    DEFAULT_MAX_TOKENS, DEFAULT_SYSTEM_PROMPT, ERROR_PREFIX, MAX_TOKENS_RANGE, OFFLINE_SYSTEM_PROMPT,
    TEMPERATURE_RANGE, answer, api_history,
)
from ..core.model_loading import loading_note
from ..core.usage import session_key
from ..ui.endpoints import api_endpoint, concurrency_limit
from ..ui.errors import friendly_errors, user_error
from ..ui.how_it_works import describe_trace, panel, sent_requests
from ..ui.models import model_dropdown
from ..ui.panels import after_answer, notice
from ..workers_ai import CHAT, capture
from . import chat_routing

OFFLINE_NOTICE = (
    "**Offline mode:** answers come from SmolLM2-135M, a *tiny* local model — fine for seeing streaming work, "
    "not for facts. Configure a Cloudflare account for real models."
)
EXAMPLES = [
    "Explain what Cloudflare Workers AI is in three bullet points.",
    "Write a haiku about edge computing.",
    "What is the difference between an embedding and a token?",
]
PAGE_ANSWER = "chat-answer"  # the page's whole answer (judge and model requests) in the How-it-works record


async def respond(message, history, model, system_prompt, max_tokens, temperature, route_mode: str = "",
                  request: gr.Request | None = None):
    """The page's chat function: the reply streams into the chat, the statistics line beside it, and the
    requests it sent into the How-it-works panel whenever that line changes (not per token).

    A failure becomes a notice in the conversation instead of an exception: Gradio 6.31's ChatInterface
    leaves its textbox disabled after its function raises, and the visitor could not type again.
    In Auto-route mode (components/tabs/chat_routing.py) each message is judged and routed first.
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
    """(reply, statistics or route line) pairs for the page, whichever the mode; a failure ends the reply with a
    notice instead of raising."""
    model = model_or_default(model, CHAT)
    if note := loading_note(model):
        yield "", f"*{note}*"
    lines = chat_routing.route_lines if route_mode == chat_routing.AUTO_ROUTE else _stat_lines
    reply = ""
    try:
        async for reply, line in lines(message, history, model, system_prompt, max_tokens, temperature, request):
            yield reply, line
    except Exception as exc:
        notice = ERROR_PREFIX + user_error(exc).message
        yield ([reply] if reply else []) + [notice], ""


async def _stat_lines(message, history, model, system_prompt, max_tokens, temperature, request):
    """Single-model chat: the reply so far, and its statistics line once it is complete."""
    async for reply, stats in answer(message, history, model, system_prompt, max_tokens, temperature, request):
        yield reply, stats.line() if stats.finished else "*streaming…*"


@friendly_errors
async def chat(
    message: str,
    model: str = "",
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
    async for reply, _stats in answer(message, history, model, system_prompt, max_tokens, temperature, request):
        yield reply


def render(meter: gr.HTML | None = None) -> list[tuple[str, gr.Dropdown]]:
    """The Chat tab; each answer refreshes the header `meter` (if given). Returns its model dropdown, for the
    app to fill from the live catalogue."""
    notice(offline=OFFLINE_NOTICE)
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
        examples=[[e] for e in EXAMPLES],  # a click sends it at once (run_examples_on_click)
        # Never Gradio's cache: it is one per app whatever the backend, skips the budget and the meter, and on
        # Spaces would ask the paid API at start-up. A chat answer streams in a second or two anyway.
        cache_examples=False,
        concurrency_limit=concurrency_limit(),
        api_visibility="private",  # the public /chat below returns the reply alone
    )
    stats.render()
    summary = chat_routing.summary_box()
    panel("chat", requests)
    # The statistics line changes when an answer starts and when it is complete (with its cost): the cue to
    # bring the header meter up to date. ChatInterface keeps its own events to itself.
    after_answer(stats.change, "chat", meter=meter)

    parameters = [model, system_prompt, max_tokens, temperature]
    api_endpoint(chat, "chat", parameters)  # message in, the reply alone out
    chat_routing.wire(stats, summary, parameters)
    return [(CHAT, model)]

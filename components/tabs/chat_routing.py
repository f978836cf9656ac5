"""The chat tab's Auto-route mode: the mode switch, the route line under each answer, the session summary, and
the public `/chat_routed` endpoint. The routing itself lives in components/core/routing.

In Auto-route each message is judged first and answered by the tab's model (the edge) or escalated; the
statistics line under the answer becomes its route line (route, verdict and score, cost), and the summary under
the chat shows the session's split and what it saved. Single-model chat stays exactly as it was.
"""

from __future__ import annotations

import gradio as gr

from ..core import routing
from ..core.backend import is_offline
from ..core.conversation import DEFAULT_MAX_TOKENS, DEFAULT_SYSTEM_PROMPT, api_history
from ..core.usage import session_key
from ..ui.endpoints import api_endpoint
from ..ui.errors import friendly_errors

SINGLE_MODEL, AUTO_ROUTE = "Single model", "Auto-route"
ROUTE_MODES = [SINGLE_MODEL, AUTO_ROUTE]


def route_mode_control() -> gr.Radio:
    """The switch between plain chat with the chosen model and Auto-route."""
    hard = ("are marked as needing a Cloudflare account (offline there is no larger model)" if is_offline()
            else "go to a large model")
    return gr.Radio(
        ROUTE_MODES, value=SINGLE_MODEL, label="Routing", elem_id="route-mode", min_width=280,
        info=f"Auto-route: a cheap judge sends easy questions to the model above (the edge); hard ones {hard}. "
             "Each answer says which way it went, why, and what it cost.",
    )


def summary_box() -> gr.Markdown:
    return gr.Markdown(routing.summary.EMPTY, elem_classes="route-summary", elem_id="route-summary")


async def route_lines(message, history, model, system_prompt, max_tokens, temperature, request=None):
    """Auto-route for the page: the reply so far and its route line; a finished answer joins the session summary
    (before the page sees the final line, whose change refreshes the summary)."""
    async for reply, info in routing.routed_answer(message, history, model, system_prompt, max_tokens,
                                                   temperature, request):
        if info.finished:
            routing.summaries.add(session_key(request), info)
        yield reply, info.line()


def session_summary(request: gr.Request) -> str:
    """This page session's Auto-route summary."""
    return routing.summaries.get(session_key(request)).line()


@friendly_errors
async def chat_routed(
    message: str,
    model: str = "",
    system_prompt: str = DEFAULT_SYSTEM_PROMPT,
    max_tokens: float = DEFAULT_MAX_TOKENS,
    temperature: float = 0.6,
    history: str | list[dict] = "",
    request: gr.Request | None = None,
):
    """Chat with Workers AI in Auto-route: a cheap judge sends easy messages to the edge model, hard ones to a big one.

    Each call stands alone: the server keeps no conversation. To continue one, pass the earlier turns as `history`.

    Args:
        message: What to say.
        model: The edge model, any Workers AI text-generation model id, e.g. "@cf/meta/llama-3.1-8b-instruct-fast".
        system_prompt: Instructions that shape every answer.
        max_tokens: The longest answer to generate, in tokens (16-4096).
        temperature: Randomness, 0 (deterministic) to 2; Anthropic accepts at most 1, so more is capped there.
        history: The conversation so far, oldest first, as a JSON list of {"role": "user" or "assistant", "content": "text"}; empty to start one.

    Returns:
        The reply text (cumulative while streaming).
        The route: route (edge, escalated, fallback or offline), model, verdict, score, reason, cost_usd, baseline_cost_usd.
    """
    history = api_history(history)
    async for reply, info in routing.routed_answer(message, history, model, system_prompt, max_tokens,
                                                      temperature, request):
        yield reply, info.to_dict()  # no session summary: that is the page's, and API calls keep nothing


def wire(stats: gr.Markdown, summary: gr.Markdown, parameters: list) -> None:
    """The summary follows each answer; `/chat_routed` (the chat tab's `parameters`) serves API and MCP callers."""
    stats.change(session_summary, None, summary, api_visibility="private", queue=False, show_progress="hidden")
    api_endpoint(chat_routed, "chat_routed", parameters, [gr.JSON(label="Route", visible=False)])

"""The estimated cost under each answer, and the header meter brought up to date with it.

The public endpoints return what they always returned (API and MCP users get the answer alone); the cost reaches
the page through a private event that runs after each answer and reads the ledger: this session's last estimate
for that action, and today's totals for the header.
"""

from __future__ import annotations

import gradio as gr

from ..core.backend import is_offline
from .header import meter_html
from ..core.usage import session_key, shared_ledger
from ..workers_ai import Estimate


def cost_line() -> gr.Markdown:
    """The element under an answer that shows its estimated cost."""
    return gr.Markdown(elem_classes="answer-cost")


def describe(cost: Estimate | None) -> str:
    """'est. 0.228 neurons ≈ $0.0000025 · 1 image'; offline, what the call would cost on Workers AI."""
    return cost.describe(offline=is_offline()) if cost else ""


def show_cost_after(event, action: str, line: gr.Markdown, meter: gr.HTML | None) -> None:
    """After `event` (success or not), fill `line` with its estimate and refresh the header `meter`, if any.
    Quietly: a loading overlay over the header after every answer would flicker (and catch clicks meant for the
    tabs below it).

    A call that failed or was refused leaves no estimate, so the line empties rather than show an old one.
    """

    def cost(request: gr.Request) -> str:
        return describe(shared_ledger().last(session_key(request), action))

    def cost_and_meter(request: gr.Request) -> tuple[str, str]:
        return cost(request), meter_html(request)

    if meter is None:  # a tab built on its own, without the app's header
        event.then(cost, None, line, api_visibility="private", queue=False, show_progress="hidden")
    else:
        event.then(cost_and_meter, None, [line, meter], api_visibility="private", queue=False,
                   show_progress="hidden")

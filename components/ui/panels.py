"""The panels every tab shares: the setup notice above it, the cost line under each answer, and one private event
after each answer that brings the cost line, the "How it works" requests and the header meter up to date.

The public endpoints return what they always returned (API and MCP users get the answer alone); the cost and the
requests reach the page through that private event, which reads this session's last record for the action: its
estimate from the ledger (components/core/usage.py) and the requests the client recorded (components/ui/how_it_works.py).
"""

from __future__ import annotations

import gradio as gr

from ..core.backend import is_offline, shared_client
from ..core.usage import session_key, shared_ledger
from ..workers_ai import Estimate, recent
from .header import meter_html
from .how_it_works import describe_trace

NO_ACCOUNT = (
    "**No Cloudflare account configured.** Set `CLOUDFLARE_ACCOUNT_ID` and `CLOUDFLARE_API_TOKEN` "
    "(a token with *Workers AI Read* and *Edit*) in the environment and restart — see the README."
)


def setup_notice() -> str:
    """One sentence on the page when no account is configured; empty otherwise."""
    return "" if shared_client().settings.configured else NO_ACCOUNT  # configured: Cloudflare, or the offline engine


def notice(offline: str = "") -> None:
    """The notice at the top of a tab, if there is one: the setup notice, else `offline` when offline."""
    if text := setup_notice() or (offline if is_offline() else ""):
        gr.Markdown(text, elem_classes="setup-notice")


def cost_line() -> gr.Markdown:
    """The element under an answer that shows its estimated cost."""
    return gr.Markdown(elem_classes="answer-cost")


def describe(cost: Estimate | None) -> str:
    """'est. 0.228 neurons ≈ $0.0000025 · 1 image'; offline, what the call would cost on Workers AI."""
    return cost.describe(offline=is_offline()) if cost else ""


def after_answer(listen, action: str, *, cost: gr.Markdown | None = None, requests: gr.Markdown | None = None,
                 meter: gr.HTML | None = None, curl: bool = False) -> None:
    """After each answer, fill `cost` with its estimate, `requests` with what it sent (also as curl commands with
    `curl`) and refresh the header `meter` (each only if given), in one private event. `listen` is what triggers it: an answer's `event.then`
    (success or not), or a component's `.change`.

    Quietly: a loading overlay over the header after every answer would flicker (and catch clicks meant for the
    tabs below it). A call that failed or was refused leaves no estimate, so the line empties rather than show an
    old one."""
    outputs = [element for element in (cost, requests, meter) if element is not None]
    if not outputs:
        return

    def update(request: gr.Request):
        key = session_key(request)
        values = []
        if cost is not None:
            values.append(describe(shared_ledger().last(key, action)))
        if requests is not None:
            values.append(describe_trace(recent((key, action)), curl=curl))
        if meter is not None:
            values.append(meter_html(request))
        return values[0] if len(values) == 1 else tuple(values)

    listen(update, None, outputs if len(outputs) > 1 else outputs[0], api_visibility="private", queue=False,
           show_progress="hidden")

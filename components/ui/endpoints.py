"""How events run: each one's concurrency limit, and the public chat endpoints that have no page of their own."""

from __future__ import annotations

import gradio as gr

from ..core.backend import is_offline

# Concurrency is a decision. Cloud calls spend their time waiting on the network, so many run at once:
# 50 visitors chatting all stream together. Local models are CPU-bound: two at a time on two cores, and the
# other visitors see their place in Gradio's queue instead of everyone crawling.
NETWORK_CONCURRENCY = 64
LOCAL_CONCURRENCY = 2


def concurrency_limit() -> int:
    return LOCAL_CONCURRENCY if is_offline() else NETWORK_CONCURRENCY


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
        # Plain strings and numbers need no conversion; `conversation.check_input` validates them. Skipping
        # Gradio's processing saves a worker-thread hop per input before the request can start (bench/README.md,
        # time to first token).
        preprocess=False, postprocess=False,
    )

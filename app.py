"""Workers AI showcase: tabs over one shared Workers AI client (chat, vision, speech, embeddings, documents, a
playground for any model of the catalogue) and one for what they cost.

    python app.py            # or `make run`
The Blocks are built at import (no network, no model loads), so `demo` can be mounted, tested or deployed.
"""

from __future__ import annotations

import asyncio
import logging
import os

# Before gradio is imported: no analytics, no hub lookups from a demo that must also run offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from components.ui import gradio_patches  # noqa: E402

# Before the Blocks are built; none when SHOWCASE_GRADIO_PATCHES=0 or on another Gradio: see the module.
GRADIO_PATCHES = gradio_patches.apply()
import gradio as gr  # noqa: E402

from components.tabs import chat, cost as cost_tab, documents, embeddings, playground, speech, vision  # noqa: E402
from components.ui.header import CSS, header_html, meter_html, refresh_meter  # noqa: E402
from components.ui.models import refresh_models  # noqa: E402
from components.ui.uploads import MAX_UPLOAD_BYTES  # noqa: E402
from components.core.backend import shared_client  # noqa: E402
from components.core.visitors import VisitorMiddleware  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

THEME = gr.themes.Soft(primary_hue="orange", secondary_hue="amber")  # built-in: bundled fonts, no CDN

# Uploads and the files the tabs return live in Gradio's cache folder: every hour, those older than an hour go.
DELETE_CACHE = (3600, 3600)
# How many jobs may wait and run. Every event sets its own concurrency_limit (see components/ui/endpoints.py);
# max_threads caps all running jobs, async ones included, so it must exceed 50 streaming chats.
QUEUE_MAX_SIZE = 256
# Gradio keeps each session's copy of the page config (~0.2 MB here) for its last `state_session_capacity`
# sessions; its default of 10,000 lets memory grow by ~2 GB on a busy public Space. 500 recent visitors keep
# their chat history; older sessions are forgotten.
LAUNCH_OPTIONS = dict(theme=THEME, css=CSS, max_threads=128, footer_links=["api", "gradio"], state_session_capacity=500,
                      max_file_size=MAX_UPLOAD_BYTES)


def launch_options() -> dict:
    """LAUNCH_OPTIONS, and a FastAPI app whose every request passes VisitorMiddleware first: it works out who the
    visitor is (a forged X-Forwarded-For changes nothing) and caps each visitor's queued jobs (components/core/visitors.py).
    A fresh dict per launch: Gradio writes its lifespan handler into `app_kwargs`."""
    return {**LAUNCH_OPTIONS, "app_kwargs": {"middleware": [Middleware(VisitorMiddleware)]}}


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Workers AI showcase", delete_cache=DELETE_CACHE) as demo:
        gr.HTML(header_html(shared_client().settings))
        meter = gr.HTML(meter_html(), elem_classes="usage-meter-block")  # filled per visitor on page load
        dropdowns: list[tuple[str, gr.Dropdown]] = []
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                dropdowns += chat.render(meter)
            with gr.Tab("Vision", id="vision"):
                dropdowns += vision.render(meter)
            with gr.Tab("Speech", id="speech"):
                dropdowns += speech.render(meter)
            with gr.Tab("Embeddings", id="embeddings"):
                dropdowns += embeddings.render(meter)
            with gr.Tab("Documents", id="documents"):
                dropdowns += documents.render(meter, demo)
            with gr.Tab("Playground", id="playground") as playground_tab:
                playground.render(meter, playground_tab)
            with gr.Tab("Cost", id="cost") as cost:
                cost_tab.render(cost)

        async def fill_model_lists(*current: str):
            """Fill every model dropdown from the live catalogue (cached) when a page opens."""
            if not shared_client().settings.configured:
                return [gr.update() for _ in dropdowns]
            return await asyncio.gather(*(refresh_models(task, value) for (task, _), value in zip(dropdowns, current)))

        components = [dropdown for _, dropdown in dropdowns]
        demo.load(fill_model_lists, components, components, api_visibility="private", queue=False)
        demo.load(refresh_meter, None, meter, api_visibility="private", queue=False, show_progress="hidden")
    return demo


demo = build_demo()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the client logs each call once, more briefly
    demo.queue(max_size=QUEUE_MAX_SIZE).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), **launch_options()
    )


if __name__ == "__main__":
    main()

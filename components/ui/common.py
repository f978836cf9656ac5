"""What every tab shares: friendly errors, model dropdowns filled from the catalogue, the setup notice."""

from __future__ import annotations

import functools
import inspect

import gradio as gr
from gradio.blocks import Block
from gradio_client.utils import is_http_url_like

from ..core.downloads import DownloadRefused, fetch
from ..core.errors import user_message
from ..core.backend import default_model, is_offline, local_model_loaded, shared_catalogue, shared_client
from ..workers_ai import MODEL_ID_MAX_LENGTH, MODEL_ID_PATTERN, ModelInfo, builtin_models


def user_error(exc: Exception) -> gr.Error:
    """Any failure as a gr.Error carrying one sentence for the person (components/core/errors.py says which, and
    logs what needs logging).

    Gradio prints a full traceback for every gr.Error unless told not to: for a refusal (a budget, a bad file) that
    is noise, and formatting it is CPU a visitor can make the app spend at will."""
    if isinstance(exc, gr.Error):
        return exc
    return quiet_error(user_message(exc))


def quiet_error(message: str) -> gr.Error:
    """A gr.Error for the person, without Gradio printing its traceback (see `user_error`)."""
    return gr.Error(message, print_exception=False)


def friendly_errors(fn):
    """Turn every failure of a handler into a gr.Error with one clear sentence, for functions and generators."""
    if inspect.isasyncgenfunction(fn):

        @functools.wraps(fn)
        async def agen(*args, **kwargs):
            try:
                async for item in fn(*args, **kwargs):
                    yield item
            except Exception as exc:
                raise user_error(exc) from None

        return agen

    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        try:
            return await fn(*args, **kwargs)
        except Exception as exc:
            raise user_error(exc) from None

    return wrapper


# Gradio refuses a larger upload before any tab sees it (the page says so before sending the file; the API answers
# 413), and a file named by link is fetched up to this size at most (`fetch_links_capped`). It holds each tab's
# own limit: Vision takes pictures up to 20 MB; Speech takes 2 hours, which is ~115 MB of 128 kbit/s MP3 or M4A,
# while an uncompressed WAV fits up to ~35 min at 48 kHz mono (a browser recording).
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


async def fetch_links_capped(block, url_or_file_path):
    """`async_move_resource_to_block_cache` for a file input (gr.Image, gr.Audio) whose class sets `link_limit`:
    a file an API or MCP caller names by link is fetched with at most that many bytes, keeping Gradio's check
    against links into private networks (components/downloads.py). Gradio's own fetch has no limit and holds the
    whole answer in memory, before any tab's code runs. Assigned in the class body (a mixin base would change the
    front-end component a template component resolves to: Gradio names it after the first base class)."""
    if isinstance(url_or_file_path, str) and is_http_url_like(url_or_file_path):
        try:
            path = await fetch(url_or_file_path, block.GRADIO_CACHE, block.link_limit)
        except DownloadRefused as exc:
            raise quiet_error(str(exc)) from None
        block.temp_files.add(path)
        return path
    return await Block.async_move_resource_to_block_cache(block, url_or_file_path)


def model_choices(models: list[ModelInfo]) -> list[tuple[str, str]]:
    return [(m.label, m.name) for m in models]


class ModelDropdown(gr.Dropdown):
    """gr.Dropdown whose API and MCP schema is any model id: the list only suggests models, every id of the
    model-id grammar is accepted (components/workers_ai/_model_id.py), and the schema says so as a `pattern`.

    A plain Dropdown declares its choices as a JSON-schema `enum`, and strict MCP clients then refuse any
    other model id. `is_template` keeps the browser using the Dropdown component.
    """

    is_template = True

    def api_info(self) -> dict[str, str | int]:
        return {"type": "string", "pattern": MODEL_ID_PATTERN, "maxLength": MODEL_ID_MAX_LENGTH}


def model_dropdown(task: str, label: str = "Model", **kwargs) -> gr.Dropdown:
    """A dropdown that lists the catalogue for `task` but accepts any model id (API and MCP users)."""
    return ModelDropdown(
        choices=model_choices(builtin_models(task, shared_client().settings.backend)),
        value=default_model(task),
        label=label,
        allow_custom_value=True,
        filterable=True,
        **kwargs,
    )


async def refresh_models(task: str, current: str | None = None):
    """Fill a dropdown from the live catalogue (cached), keeping the current choice."""
    models = await shared_catalogue().models(task)
    return gr.update(choices=model_choices(models), value=current or default_model(task))


# Concurrency is a decision. Cloud calls spend their time waiting on the network, so many run at once:
# 50 visitors chatting all stream together. Local models are CPU-bound: two at a time on two cores, and the
# other visitors see their place in Gradio's queue instead of everyone crawling.
NETWORK_CONCURRENCY = 64
LOCAL_CONCURRENCY = 2


def concurrency_limit() -> int:
    return LOCAL_CONCURRENCY if is_offline() else NETWORK_CONCURRENCY


def loading_note(model: str) -> str:
    """'Loading smollm2-135m-instruct (first use only)…' while a local model is not in memory yet; else ''."""
    return "" if local_model_loaded(model) else f"Loading {model.split('/')[-1]} (first use only)…"


def announce_loading(model: str, progress) -> None:
    """On first use of a local model, say so in the UI while it loads (a second or two)."""
    if note := loading_note(model):
        progress(0, desc=note)


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

"""The Playground's "Any model" panel: pick any model of the live catalogue, fill the form its schema describes (or
write JSON), run it, and see the answer rendered by what it is. Also the public `run_model` endpoint (API and MCP).

Picking a model fetches its schema (cached by the client) into this session's state; a `gr.render` block then builds
the form for the chosen input variant, with its Run button. The answer's components sit beside it, shown or hidden
by the kind of answer (components/core/playground/outputs.py).
"""

from __future__ import annotations

import asyncio
import json

import gradio as gr

from ..core.backend import default_model, model_or_default
from ..core.errors import InputProblem, user_message
from ..core.playground import form as forms
from ..core.playground.form import example_of
from ..core.playground.outputs import AUDIO, BOXES, FILE, IMAGE, JSON, LABELS, TEXT, VECTORS, Shown
from ..core.playground.payload import MAX_FILE_BYTES, body_from_form
from ..core.playground.run import (ACTION, ModelForm, body_for_api, catalogue, model_form, pick_variant, recent_form,
                                   run, run_once)
from ..core.scratch import write_file
from ..ui.endpoints import concurrency_limit
from ..ui.errors import friendly_errors
from ..ui.how_it_works import panel, sent_requests
from ..ui.models import ModelDropdown
from ..ui.panels import after_answer, cost_line
from ..ui.schema_form import form_components, values_of
from ..ui.uploads import fetch_links_capped
from ..workers_ai import CHAT, MODEL_ID_MAX_LENGTH, WorkersAIError

class ModelFile(gr.File):
    """gr.File whose file named by link (what MCP clients send) is fetched up to the size a model is sent
    (ui/uploads.py). `is_template` keeps the browser using the File component."""

    is_template = True
    link_limit = MAX_FILE_BYTES
    async_move_resource_to_block_cache = fetch_links_capped


ALL_TASKS = "All tasks"
JSON_MODE = "JSON"
OUTPUT_KINDS = (TEXT, IMAGE, AUDIO, LABELS, BOXES, JSON, FILE)  # the order of the answer's components


@friendly_errors
async def run_model(model: str, inputs_json: str = "", file: str | None = None,
                    request: gr.Request | None = None) -> tuple[dict, str | None]:
    """Run any Workers AI model of the catalogue with its own input, checked against the model's published schema.

    Args:
        model: The model id, e.g. "@cf/meta/m2m100-1.2b" or "@cf/black-forest-labs/flux-1-schnell".
        inputs_json: The model's input as a JSON object, e.g. {"text": "Hello", "target_lang": "fr"}.
        file: A file for models that take one (an image to classify, a recording to transcribe): sent as the whole body, or put into the input's file field.

    Returns:
        The answer as JSON (files described by their type and size) and, when the model answered with a file (an image, audio), that file.
    """
    model = model_or_default(model, CHAT)
    form = await model_form(model)
    shown = await run_once(form, await asyncio.to_thread(body_for_api, form, inputs_json, file), request)
    return _answer_json(shown), await saved(shown, model)


async def saved(shown: Shown, model: str) -> str | None:
    """The answer's file (a picture, audio), written off the event loop; None when it is no file."""
    if shown.data is None:
        return None
    return await asyncio.to_thread(write_file, "playground", model.split("/")[-1], shown.extension, shown.data)


def _answer_json(shown: Shown) -> dict:
    value = shown.value if isinstance(shown.value, dict) else {"result": shown.value}
    return {"kind": shown.kind, "summary": shown.summary, **value}


def _describe(form: ModelForm) -> str:
    """The model's card: name, task, description, deprecation, and what the form can do with it."""
    info = form.info
    lines = [f"**{form.model}**" + (f" · {info.task}" if info and info.task else "")]
    if info and info.description:
        lines.append(info.description[:400])
    if info and info.price_text:
        lines.append(f"Catalogue price: {info.price_text}.")
    if info and info.deprecation_date:
        lines.append(f"⚠ **Deprecated on {info.deprecation_date}**: Workers AI may refuse it; pick a newer model.")
    if form.form.note:
        lines.append(f"*{form.form.note}*")
    hidden = sorted({name for v in form.form.usable for name in v.hidden})
    if hidden:
        lines.append(f"*Also accepted, through JSON: {', '.join(f'`{n}`' for n in hidden)}.*")
    return "\n\n".join(lines)


async def _list_models(task: str, current: str | None):
    """The task filter and the model list from the live catalogue (cached), grouped by task."""
    models = await catalogue()
    tasks = sorted({m.task for m in models if m.task})
    task = task if task in tasks else ALL_TASKS
    chosen = sorted((m for m in models if task == ALL_TASKS or m.task == task), key=lambda m: (m.task, m.name))
    choices = [(f"{m.task} · {m.label}" if m.task else m.label, m.name) for m in chosen]
    names = [name for _, name in choices]
    value = current if current in names else default_model(CHAT) if default_model(CHAT) in names else (
        names[0] if names else None)
    return gr.update(choices=[ALL_TASKS, *tasks], value=task), gr.update(choices=choices, value=value)


async def _open_model(model: str | None):
    """A picked model's form into the session's state, its card, and the input variants to choose from."""
    if not model:
        return None, "*Pick a model to see its inputs.*", gr.update(choices=[], value=None, visible=False)
    try:
        form = await model_form(model_or_default(str(model)[:MODEL_ID_MAX_LENGTH], CHAT))
    except (InputProblem, WorkersAIError) as exc:
        return None, user_message(exc), gr.update(choices=[], value=None, visible=False)
    titles = [v.title for v in form.form.usable] + [JSON_MODE]
    return (form.model, titles[0]), _describe(form), gr.update(choices=titles, value=titles[0],
                                                               visible=len(titles) > 1)


def _outputs_for(shown: Shown, input_image: str | None, path: str | None) -> tuple:
    """One update per answer component (OUTPUT_KINDS order), then the summary line; `path` holds its file."""
    kind = shown.kind
    values = {
        TEXT: shown.text if kind in (TEXT, VECTORS) else None,
        IMAGE: path if kind == IMAGE else None,
        AUDIO: path if kind == AUDIO else None,
        LABELS: shown.labels if kind == LABELS else None,
        BOXES: (input_image, shown.boxes) if kind == BOXES and input_image else None,
        JSON: shown.value if kind in (JSON, LABELS, BOXES, VECTORS) or kind == TEXT and isinstance(shown.value, dict)
        else None,
        FILE: path if kind == FILE else None,
    }
    updates = [gr.update(value=values[k], visible=values[k] is not None) for k in OUTPUT_KINDS]
    return (*updates, f"**Answer:** {shown.summary}" if shown.summary else "")


def _input_image(variant: forms.Variant | None, values: dict) -> str | None:
    """The picture the visitor sent, to draw an object detector's boxes on."""
    fields = (variant.raw_body,) if variant and variant.raw_body else (variant.fields if variant else ())
    return next((values.get(f.name) for f in fields if f and f.kind == forms.IMAGE and values.get(f.name)), None)


def render(meter: gr.HTML | None, tab: gr.Tab, opens_with: gr.Tab | None = None) -> None:
    """The "Any model" panel; `tab` is its sub-tab: the catalogue is fetched when it is opened, or when `opens_with`
    (the Playground tab, where the panel is the one shown first) is."""
    with gr.Row():
        task = gr.Dropdown([ALL_TASKS], value=ALL_TASKS, label="Task", scale=1, elem_id="playground-task")
        model = gr.Dropdown([], label="Model", filterable=True, allow_custom_value=True, scale=3,
                            info="Type to search the catalogue; deprecated models are marked with their date.",
                            elem_id="playground-model")
    card = gr.Markdown("*Pick a model to see its inputs.*", elem_id="playground-card")
    # (model id, input variant): one value, so that picking a model renders its form once. The form itself is
    # run.recent_form(id): Gradio hashes session state, and a form holds dicts.
    chosen = gr.State(None)
    mode = gr.Radio([], label="Input as", visible=False, elem_id="playground-mode")
    requests = sent_requests(render=False)
    with gr.Row(equal_height=False):
        with gr.Column():
            @gr.render(inputs=[chosen], triggers=[chosen.change])
            def the_form(view: tuple[str, str] | None):
                form = recent_form(view[0]) if view else None
                if form is None:
                    return
                mode_title = view[1]
                variant = next((v for v in form.form.usable if v.title == mode_title), None)
                if variant is None:  # JSON: an example to edit
                    example = example_of(pick_variant(form.form, {}) if form.form.variants else None, form.task)
                    inputs = [gr.Code(json.dumps(example, indent=2), language="json", label="Input (JSON)",
                                      elem_id="playground-json", interactive=True)]
                else:
                    inputs = form_components(variant, example_of(variant, form.task))
                button = gr.Button("Run", variant="primary", elem_id="playground-run")

                async def go(request: gr.Request, *values):
                    # Files are read, encoded and written off the event loop that serves every other visitor.
                    if variant is None:
                        body = await asyncio.to_thread(body_for_api, form, values[0], None)
                        image = None
                    else:
                        given = values_of(variant.fields, values)
                        body = await asyncio.to_thread(body_from_form, variant, given)
                        image = _input_image(variant, given)
                    async for shown in run(form, body, request):
                        yield _outputs_for(shown, image, await saved(shown, form.model))

                event = button.click(friendly_errors(go), inputs, [*answers, summary], api_visibility="private",
                                     concurrency_limit=concurrency_limit())
                after_answer(event.then, ACTION, cost=cost, requests=requests, meter=meter, curl=True)

        with gr.Column():
            summary = gr.Markdown(elem_id="playground-summary")
            answers = [
                gr.Textbox(label="Answer", lines=8, max_lines=30, visible=False, interactive=False, buttons=["copy"],
                           elem_id="playground-text"),
                gr.Image(label="Picture", type="filepath", visible=False, interactive=False,
                         elem_id="playground-out-image"),
                gr.Audio(label="Audio", type="filepath", visible=False, interactive=False,
                         elem_id="playground-out-audio"),
                gr.Label(label="Labels", num_top_classes=5, visible=False, elem_id="playground-labels"),
                gr.AnnotatedImage(label="Objects found", visible=False, elem_id="playground-boxes"),
                gr.JSON(label="Whole answer (JSON)", visible=False, elem_id="playground-json-out"),
                gr.File(label="Download", visible=False, elem_id="playground-file"),
            ]
            cost = cost_line()
    panel(ACTION, requests)
    for opened in filter(None, (tab, opens_with)):
        opened.select(_list_models, [task, model], [task, model], api_visibility="private", show_progress="hidden")
    task.change(_list_models, [task, model], [task, model], api_visibility="private", show_progress="hidden")
    model.change(_open_model, model, [chosen, card, mode], api_visibility="private", show_progress="minimal")
    mode.input(lambda view, title: (view[0], title) if view else None, [chosen, mode], chosen,
               api_visibility="private", queue=False, show_progress="hidden")
    with gr.Group(visible=False):  # the API's own inputs: run_model has no page of its own
        api_model = ModelDropdown([], value="", label="Model", allow_custom_value=True)
        api_json = gr.Textbox("", label="Inputs (JSON)")
        api_file = ModelFile(label="File", type="filepath")
        api_answer, api_output = gr.JSON(label="Answer"), gr.File(label="Output file")
    gr.Button(visible=False).click(run_model, [api_model, api_json, api_file], [api_answer, api_output],
                                   api_name="run_model", concurrency_limit=concurrency_limit(),
                                   show_progress="hidden")

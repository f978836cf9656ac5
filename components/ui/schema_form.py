"""A model's input form as Gradio components (components/core/playground/form.py decides the fields).

Binary inputs are plain file uploads: the file's path reaches the core untouched (no decoding on the way), and the
core reads it with a size limit and encodes it the way the schema asks (raw body, byte array or base64).
"""

from __future__ import annotations

import json
import re

import gradio as gr

from ..core.playground import form as f

MAX_SLIDER_SPAN = 10_000  # wider ranges (seeds) get a number box: a slider cannot pick one value among millions
FILE_TYPES = {f.IMAGE: ["image"], f.AUDIO: ["audio"], f.FILE: None}


def component_for(field: f.Field, example=None) -> gr.Component:
    """The component that edits `field`, labelled, with its hint and default; a required text, choice or list starts
    with `example` (a new visitor can run the model at once)."""
    # Interactive by decree: the browser infers it from the events a component feeds, and a form rendered again
    # in quick succession (one model, then another) has been seen to come out disabled.
    common = dict(label=field.label, info=field.hint() or None, interactive=True, elem_id=element_id(field.name))
    if field.kind in (f.TEXT, f.LONG_TEXT):
        start = example if isinstance(example, str) else field.default if isinstance(field.default, str) else ""
        return gr.Textbox(value=start,
                          lines=4 if field.kind == f.LONG_TEXT else 1, max_lines=12 if field.kind == f.LONG_TEXT else 1,
                          max_length=field.max_length, **common)
    if field.kind in (f.NUMBER, f.INTEGER):
        # Every value a slider or number box holds is sent (the browser sends 0 for an empty number box), so only
        # a number with a default gets one. Without a default it is a text box that starts blank, and blank is left
        # out of the request: the model decides.
        low, high, default = field.minimum, field.maximum, field.default
        if not isinstance(default, (int, float)) or isinstance(default, bool):
            return gr.Textbox("", placeholder="blank: the model's default", **common)
        if low is not None and high is not None and 0 < high - low <= MAX_SLIDER_SPAN:
            step = 1 if field.kind == f.INTEGER else _step(low, high)
            return gr.Slider(low, high, value=default, step=step, **common)
        return gr.Number(value=default, precision=0 if field.kind == f.INTEGER else None, minimum=low, maximum=high,
                         **common)
    if field.kind == f.CHOICE:
        start = example if example in field.choices else field.default if field.default in field.choices else None
        return gr.Dropdown(choices=list(field.choices), value=start, **common)
    if field.kind == f.BOOLEAN:
        return gr.Checkbox(value=bool(field.default), **common)
    if field.kind == f.MESSAGES:
        example = [{"role": "system", "content": "You are a helpful assistant."},
                   {"role": "user", "content": "Explain Workers AI in one sentence."}]
        return gr.Code(value=json.dumps(example, indent=2), language="json", label=field.label, interactive=True,
                       elem_id=element_id(field.name))
    if field.kind == f.STRINGS:
        start = "\n".join(example) if isinstance(example, list) else ""
        return gr.Textbox(start, lines=3, max_lines=12, label=field.label, interactive=True,
                          elem_id=element_id(field.name),
                          info=" ".join(filter(None, [field.hint(), "One item per line."])))
    return gr.File(label=f"{field.label} ({field.kind} upload)", file_types=FILE_TYPES.get(field.kind),
                   type="filepath", interactive=True, elem_id=element_id(field.name))


def form_components(variant: f.Variant, example: dict) -> list[gr.Component]:
    """The components of `variant`, in its fields' order: what must be filled in (and texts and files) first, the
    rest folded into a closed "Settings" accordion."""
    shown = [x for x in variant.fields if x.required or x.kind in (f.LONG_TEXT, *f.BINARY_KINDS)]
    folded = [x for x in variant.fields if x not in shown]
    made = {x.name: component_for(x, example.get(x.name)) for x in shown}
    if folded:
        with gr.Accordion(f"Settings ({len(folded)})", open=False):
            made |= {x.name: component_for(x, example.get(x.name)) for x in folded}
    return [made[x.name] for x in variant.fields]


def element_id(name: str) -> str:
    """The page id of a field's component: `playground-field-<name>`, letters, digits and dashes only."""
    return "playground-field-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "x")


def _step(low: float, high: float) -> float:
    span = high - low
    return 0.01 if span <= 2 else 0.1 if span <= 20 else 1


def values_of(fields: tuple[f.Field, ...], values: tuple) -> dict:
    """The components' values by field name, in the order `component_for` made them."""
    return {field.name: value for field, value in zip(fields, values)}

"""A model's input form as Gradio components (components/core/playground/form.py decides the fields).

Binary inputs are plain file uploads: the file's path reaches the core untouched (no decoding on the way), and the
core reads it with a size limit and encodes it the way the schema asks (raw body, byte array or base64).
"""

from __future__ import annotations

import json

import gradio as gr

from ..core.playground import form as f

MAX_SLIDER_SPAN = 10_000  # wider ranges (seeds) get a number box: a slider cannot pick one value among millions
FILE_TYPES = {f.IMAGE: ["image"], f.AUDIO: ["audio"], f.FILE: None}


def component_for(field: f.Field) -> gr.Component:
    """The component that edits `field`, labelled, with its hint and default."""
    common = dict(label=field.label, info=field.hint() or None)
    if field.kind in (f.TEXT, f.LONG_TEXT):
        return gr.Textbox(value=field.default if isinstance(field.default, str) else "",
                          lines=4 if field.kind == f.LONG_TEXT else 1, max_lines=12 if field.kind == f.LONG_TEXT else 1,
                          max_length=field.max_length, **common)
    if field.kind in (f.NUMBER, f.INTEGER):
        step = 1 if field.kind == f.INTEGER else None
        low, high = field.minimum, field.maximum
        if low is not None and high is not None and high - low <= MAX_SLIDER_SPAN and high > low:
            value = field.default if isinstance(field.default, (int, float)) else low
            return gr.Slider(low, high, value=value, step=step or _step(low, high), **common)
        return gr.Number(value=field.default if isinstance(field.default, (int, float)) else None,
                         precision=0 if field.kind == f.INTEGER else None, minimum=low, maximum=high, **common)
    if field.kind == f.CHOICE:
        return gr.Dropdown(choices=list(field.choices), value=field.default if field.default in field.choices else None,
                           **common)
    if field.kind == f.BOOLEAN:
        return gr.Checkbox(value=bool(field.default), **common)
    if field.kind == f.MESSAGES:
        example = [{"role": "system", "content": "You are a helpful assistant."},
                   {"role": "user", "content": "Explain Workers AI in one sentence."}]
        return gr.Code(value=json.dumps(example, indent=2), language="json", label=field.label)
    if field.kind == f.STRINGS:
        return gr.Textbox(lines=3, max_lines=12, label=field.label,
                          info=" ".join(filter(None, [field.hint(), "One item per line."])))
    return gr.File(label=f"{field.label} ({field.kind} upload)", file_types=FILE_TYPES.get(field.kind),
                   type="filepath")


def _step(low: float, high: float) -> float:
    span = high - low
    return 0.01 if span <= 2 else 0.1 if span <= 20 else 1


def values_of(fields: tuple[f.Field, ...], values: tuple) -> dict:
    """The components' values by field name, in the order `component_for` made them."""
    return {field.name: value for field, value in zip(fields, values)}

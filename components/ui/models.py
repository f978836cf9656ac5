"""Model pickers: dropdowns that list the live catalogue but accept any model id."""

from __future__ import annotations

import gradio as gr

from ..core.backend import default_model, shared_catalogue, shared_client
from ..workers_ai import MODEL_ID_MAX_LENGTH, MODEL_ID_PATTERN, ModelInfo, builtin_models


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

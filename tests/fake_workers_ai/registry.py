"""The fake's model table, its catalogue (`/ai/models/search`) and per-model schemas.

`kind` picks the behaviour (see `handler.RUNNERS`); everything else feeds the catalogue.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .errors import ApiError

TASKS = {
    "text-generation": ("Text Generation", "Family of generative text models, such as large language models."),
    "text-embeddings": ("Text Embeddings", "Feature extraction models transform raw data into numerical features."),
    "speech-recognition": ("Automatic Speech Recognition", "Transcribe spoken language into text."),
    "image-classification": ("Image Classification", "Assign a label or class to an entire image."),
}
TASK_OF_KIND = {
    "classic": "text-generation",
    "chat": "text-generation",
    "embeddings": "text-embeddings",
    "whisper": "speech-recognition",
    "whisper-turbo": "speech-recognition",
    "resnet": "image-classification",
}
DEPRECATION_DATE = "2026-05-30"
_IDS = uuid.UUID("6f1c1c9e-1e0a-4a8e-9c7e-0a1b2c3d4e5f")  # namespace: catalogue ids stay stable across runs


@dataclass(frozen=True)
class ModelInfo:
    name: str
    kind: str
    description: str
    properties: tuple[tuple[str, str], ...] = ()
    dims: int = 0  # embedding width
    deprecated: bool = False
    paid: bool = False

    @property
    def task(self) -> str:
        return TASK_OF_KIND[self.kind]

    @property
    def beta(self) -> bool:
        return ("beta", "true") in self.properties


def _model(name, kind, description, *properties, **extra) -> ModelInfo:
    if extra.get("deprecated"):
        properties += (("planned_deprecation_date", DEPRECATION_DATE),)
    if extra.get("dims"):
        properties += (("output_dimensions", str(extra["dims"])),)
    return ModelInfo(name, kind, description, tuple(properties), **extra)


def _ctx(tokens: int) -> tuple[str, str]:
    return ("context_window", str(tokens))


_BETA = ("beta", "true")
_TOOLS = ("function_calling", "true")

MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        _model("@cf/meta/llama-3.1-8b-instruct-fast", "classic", "Llama 3.1 8B, tuned for speed.", _ctx(128000)),
        _model("@cf/meta/llama-3.1-8b-instruct-fp8", "classic", "Llama 3.1 8B quantised to fp8.", _ctx(32000)),
        _model("@cf/meta/llama-3.3-70b-instruct-fp8-fast", "classic", "Llama 3.3 70B, fp8, fast.", _ctx(24000), _TOOLS),
        _model("@cf/meta/llama-3.2-1b-instruct", "classic", "Llama 3.2 1B for small devices.", _ctx(60000)),
        _model("@cf/meta/llama-3.2-3b-instruct", "classic", "Llama 3.2 3B, multilingual dialogue.", _ctx(80000)),
        _model("@cf/ibm-granite/granite-4.0-h-micro", "classic", "IBM Granite 4.0 micro.", _ctx(131000), _TOOLS),
        _model("@cf/zai-org/glm-4.7-flash", "chat", "GLM 4.7 Flash, chat completions.", _ctx(131072), _TOOLS, _BETA),
        _model("@cf/google/gemma-4-26b-a4b-it", "chat", "Gemma 4 26B A4B, instruction tuned.", _ctx(128000), _BETA),
        _model("@cf/moonshotai/kimi-k2.5", "chat", "Kimi K2.5 (Workers Paid only).", _ctx(256000), _TOOLS, paid=True),
        _model("@cf/meta/llama-3.1-8b-instruct", "classic", "Llama 3.1 8B (deprecated).", _ctx(7968), deprecated=True),
        _model("@cf/mistral/mistral-7b-instruct-v0.1", "classic", "Mistral 7B v0.1 (deprecated).", _ctx(2824),
               deprecated=True),
        _model("@cf/microsoft/resnet-50", "resnet", "ResNet-50 trained on ImageNet."),
        _model("@cf/openai/whisper", "whisper", "Whisper speech recognition."),
        _model("@cf/openai/whisper-tiny-en", "whisper", "Whisper tiny, English only.", _BETA),
        _model("@cf/openai/whisper-large-v3-turbo", "whisper-turbo", "Whisper large v3 turbo."),
        _model("@cf/baai/bge-small-en-v1.5", "embeddings", "BGE small English embeddings.", dims=384),
        _model("@cf/baai/bge-base-en-v1.5", "embeddings", "BGE base English embeddings.", dims=768),
        _model("@cf/baai/bge-large-en-v1.5", "embeddings", "BGE large English embeddings.", dims=1024),
        _model("@cf/baai/bge-m3", "embeddings", "BGE M3, multilingual embeddings.", dims=1024),
    )
}


def resolve(model: str) -> ModelInfo:
    """The checks /ai/run does before running anything, in the order the real service reports them."""
    if not model.startswith(("@cf/", "@hf/")):
        raise ApiError(404, 3042, "Invalid model ID")
    info = MODELS.get(model)
    if info is None:
        raise ApiError(400, 5007, f"No such model {model} or task")
    if info.deprecated:
        raise ApiError(400, 5028, f"This model was deprecated on {DEPRECATION_DATE}. Please use a different model.")
    if info.paid:
        raise ApiError(403, 5035, "AiError: This model requires the Workers Paid plan.")
    return info


def catalogue_item(info: ModelInfo) -> dict:
    task_name, task_description = TASKS[info.task]
    return {
        "id": str(uuid.uuid5(_IDS, info.name)),
        "name": info.name,
        "description": info.description,
        "task": {"id": str(uuid.uuid5(_IDS, info.task)), "name": task_name, "description": task_description},
        "properties": [{"property_id": key, "value": value} for key, value in info.properties],
    }


def _positive_int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and int(text) > 0 else default


def _matches(info: ModelInfo, query: dict[str, str]) -> bool:
    task, search, author = query.get("task"), query.get("search"), query.get("author")
    if task and task.lower() != TASKS[info.task][0].lower():
        return False
    if search and search.lower() not in f"{info.name} {info.description}".lower():
        return False
    if author and author.lower() != info.name.split("/")[1].lower():
        return False
    return not (query.get("hide_experimental", "").lower() == "true" and info.beta)


def search(query: dict[str, str], page_cap: int) -> tuple[list[dict], dict]:
    """One page of the catalogue and its `result_info`; `per_page` is capped so callers must page."""
    found = [info for info in MODELS.values() if _matches(info, query)]
    per_page = min(_positive_int(query.get("per_page"), 20), page_cap)
    page = _positive_int(query.get("page"), 1)
    chosen = found[(page - 1) * per_page : page * per_page]
    info = {"page": page, "per_page": per_page, "count": len(chosen), "total_count": len(found)}
    return [catalogue_item(m) for m in chosen], info


_INPUTS = {
    "classic": {"prompt": "string", "messages": "array", "max_tokens": "integer", "temperature": "number",
                "stream": "boolean"},
    "chat": {"messages": "array", "max_tokens": "integer", "temperature": "number", "stream": "boolean"},
    "resnet": {"image": "array"},
    "whisper": {"audio": "array"},
    "whisper-turbo": {"audio": "string", "task": "string", "language": "string", "vad_filter": "boolean",
                      "initial_prompt": "string", "prefix": "string"},
    "embeddings": {"text": "array", "pooling": "string"},
}


def schema(model: str | None) -> dict:
    """A minimal schema: the input property names and types each behaviour understands."""
    info = MODELS.get(model or "")
    if info is None:
        raise ApiError(400, 5007, f"No such model {model} or task")
    properties = {name: {"type": kind} for name, kind in _INPUTS[info.kind].items()}
    return {"input": {"type": "object", "properties": properties}, "output": {"type": "object"}}

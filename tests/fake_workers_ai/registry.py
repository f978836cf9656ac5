"""The fake's model table, its catalogue (`/ai/models/search`) and per-model schemas (`/ai/models/schema`).

`kind` picks the behaviour (see `handler.RUNNERS`) and the schema (schemas.py); everything else feeds the
catalogue. A model's `price` is its catalogue `price` property, in US dollars per the catalogue's unit, copied from
Cloudflare's model pages (cloudflare-docs src/content/workers-ai-models/*.json, autumn 2026): for the models
priced in components/workers_ai/prices.json these are its neurons × $0.011 / 1,000, rounded as Cloudflare rounds
them (three significant digits; 0.045 for llama-3.1-8b-instruct-fast). Models whose pages give no price
(whisper-tiny-en, detr-resnet-50, llava-1.5-7b-hf, the deprecated ones) have none. kimi-k2.5 is priced only here:
the app's price list does not know it, so a run of it is estimated at the catalogue's price.

One model publishes no schema: llava-1.5-7b-hf (beta), whose schema request is answered

    HTTP 404  {"code": 5020, "message": "AiError: No schema found for model @cf/llava-hf/llava-1.5-7b-hf"}

Cloudflare's documented code for this case is not known; 5020 (a runtime `AiError` code not used by any other
answer) and the sentence are this fake's choice, and the client recognises either (components/workers_ai/
_schema.py). A deprecated model's schema answers 5028, like its runs; an unknown one 5007.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .errors import ApiError
from .schemas import schema_of

TASKS = {
    "text-generation": ("Text Generation", "Family of generative text models, such as large language models."),
    "text-embeddings": ("Text Embeddings", "Feature extraction models transform raw data into numerical features."),
    "speech-recognition": ("Automatic Speech Recognition", "Transcribe spoken language into text."),
    "image-classification": ("Image Classification", "Assign a label or class to an entire image."),
    "text-to-image": ("Text-to-Image", "Generates images from input text."),
    "text-to-speech": ("Text-to-Speech", "Generating natural sounding speech given text input."),
    "translation": ("Translation", "Translation models convert a sequence of text from one language to another."),
    "object-detection": ("Object Detection", "Detect instances of objects in an image, with a label, a score and "
                                             "a surrounding box for each."),
    "image-to-text": ("Image-to-Text", "Output a text from a given image, such as a caption."),
}
TASK_OF_KIND = {
    "classic": "text-generation",
    "chat": "text-generation",
    "embeddings": "text-embeddings",
    "whisper": "speech-recognition",
    "whisper-turbo": "speech-recognition",
    "resnet": "image-classification",
    "flux": "text-to-image",
    "sdxl": "text-to-image",
    "melotts": "text-to-speech",
    "aura-2": "text-to-speech",
    "aura-1": "text-to-speech",
    "m2m100": "translation",
    "detr": "object-detection",
    "llava": "image-to-text",
}
NO_SCHEMA = (404, 5020, "AiError: No schema found for model {model}")
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
    has_schema: bool = True
    price: tuple[tuple[str, float], ...] = ()  # (unit, USD), as the catalogue's `price` property words them

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


def _tokens(usd_in: float, usd_out: float | None = None) -> tuple[tuple[str, float], ...]:
    """A price per million tokens in (and out, when the model writes tokens)."""
    price = (("per M input tokens", usd_in),)
    return price if usd_out is None else price + (("per M output tokens", usd_out),)

MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        _model("@cf/meta/llama-3.1-8b-instruct-fast", "classic", "Llama 3.1 8B, tuned for speed.", _ctx(128000),
               price=_tokens(0.045, 0.384)),
        _model("@cf/meta/llama-3.1-8b-instruct-fp8", "classic", "Llama 3.1 8B quantised to fp8.", _ctx(32000),
               price=_tokens(0.152, 0.287)),
        _model("@cf/meta/llama-3.3-70b-instruct-fp8-fast", "classic", "Llama 3.3 70B, fp8, fast.", _ctx(24000), _TOOLS,
               price=_tokens(0.293, 2.253)),
        _model("@cf/meta/llama-3.2-1b-instruct", "classic", "Llama 3.2 1B for small devices.", _ctx(60000),
               price=_tokens(0.027, 0.201)),
        _model("@cf/meta/llama-3.2-3b-instruct", "classic", "Llama 3.2 3B, multilingual dialogue.", _ctx(80000),
               price=_tokens(0.0509, 0.335)),
        _model("@cf/ibm-granite/granite-4.0-h-micro", "classic", "IBM Granite 4.0 micro.", _ctx(131000), _TOOLS,
               price=_tokens(0.017, 0.112)),
        _model("@cf/zai-org/glm-4.7-flash", "chat", "GLM 4.7 Flash, chat completions.", _ctx(131072), _TOOLS, _BETA,
               price=_tokens(0.0605, 0.4)),
        _model("@cf/google/gemma-4-26b-a4b-it", "chat", "Gemma 4 26B A4B, instruction tuned.", _ctx(128000), _BETA,
               price=_tokens(0.1, 0.3)),
        _model("@cf/moonshotai/kimi-k2.5", "chat", "Kimi K2.5 (Workers Paid only).", _ctx(256000), _TOOLS, paid=True,
               price=_tokens(0.6, 3) + (("per M cached input tokens", 0.1),)),
        _model("@cf/meta/llama-3.1-8b-instruct", "classic", "Llama 3.1 8B (deprecated).", _ctx(7968), deprecated=True),
        _model("@cf/mistral/mistral-7b-instruct-v0.1", "classic", "Mistral 7B v0.1 (deprecated).", _ctx(2824),
               deprecated=True),
        _model("@cf/microsoft/resnet-50", "resnet", "ResNet-50 trained on ImageNet.",
               price=(("per inference request", 0.00000251),)),
        _model("@cf/openai/whisper", "whisper", "Whisper speech recognition.",
               price=(("per audio minute", 0.000453),)),
        _model("@cf/openai/whisper-tiny-en", "whisper", "Whisper tiny, English only.", _BETA),
        _model("@cf/openai/whisper-large-v3-turbo", "whisper-turbo", "Whisper large v3 turbo.",
               price=(("per audio minute", 0.000513),)),
        _model("@cf/baai/bge-small-en-v1.5", "embeddings", "BGE small English embeddings.", dims=384,
               price=_tokens(0.0202)),
        _model("@cf/baai/bge-base-en-v1.5", "embeddings", "BGE base English embeddings.", dims=768,
               price=_tokens(0.0666)),
        _model("@cf/baai/bge-large-en-v1.5", "embeddings", "BGE large English embeddings.", dims=1024,
               price=_tokens(0.204)),
        _model("@cf/baai/bge-m3", "embeddings", "BGE M3, multilingual embeddings.", dims=1024,
               price=_tokens(0.0118)),
        _model("@cf/black-forest-labs/flux-1-schnell", "flux", "FLUX.1 [schnell], a 12 billion parameter rectified "
               "flow transformer that generates images from text.",
               price=(("per 512 by 512 tile", 0.0000528), ("per step", 0.000106))),
        _model("@cf/bytedance/stable-diffusion-xl-lightning", "sdxl", "SDXL-Lightning: high-quality 1024px images "
               "in a few steps.", _BETA, price=(("per step", 0),)),
        _model("@cf/myshell-ai/melotts", "melotts", "MeloTTS, multi-lingual text-to-speech by MyShell.ai.",
               price=(("per audio minute", 0.000205),)),
        _model("@cf/deepgram/aura-2-en", "aura-2", "Aura-2, context-aware English text-to-speech by Deepgram.",
               ("partner", "true"), price=(("per 1k characters", 0.03),)),
        _model("@cf/deepgram/aura-1", "aura-1", "Aura, context-aware text-to-speech by Deepgram.",
               ("partner", "true"), price=(("per 1k characters", 0.015),)),
        _model("@cf/meta/m2m100-1.2b", "m2m100", "Many-to-many multilingual translation (100 languages).",
               ("languages", "english, chinese, french, spanish, arabic, russian, german, japanese, portuguese, "
                "hindi"), price=_tokens(0.342, 0.342)),
        _model("@cf/facebook/detr-resnet-50", "detr", "DETR, object detection trained on COCO 2017.", _BETA),
        _model("@cf/llava-hf/llava-1.5-7b-hf", "llava", "LLaVA 1.5 7B: describes an image, answers about it.", _BETA,
               has_schema=False),
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
        "properties": [{"property_id": key, "value": value} for key, value in info.properties] + ([{
            "property_id": "price",
            "value": [{"unit": unit, "price": usd, "currency": "USD"} for unit, usd in info.price],
        }] if info.price else []),
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


def schema(model: str | None) -> dict:
    """The model's input and output JSON Schemas (schemas.py), or the error the service answers instead."""
    info = MODELS.get(model or "")
    if info is None:
        raise ApiError(400, 5007, f"No such model {model} or task")
    if info.deprecated:
        raise ApiError(400, 5028, f"This model was deprecated on {DEPRECATION_DATE}. Please use a different model.")
    if not info.has_schema:
        status, code, message = NO_SCHEMA
        raise ApiError(status, code, message.format(model=model))
    return schema_of(info.kind)

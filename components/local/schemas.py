"""The input and output JSON Schema of each local model, served at `GET …/ai/models/schema?model=<id>` as Workers AI
serves its own (shared/docs/workers-ai-contract.md §6).

Each is written in the style of Cloudflare's published schema for the model it stands in for
(cloudflare-docs `src/content/workers-ai-models/*.json`): SmolLM2 for `@cf/meta/llama-3.1-8b-instruct-fast`
(`oneOf` a prompt or a messages object, sampling ranges and defaults), MiniLM for `@cf/baai/bge-small-en-v1.5`
(`text` a string or an array of strings), EfficientNet for `@cf/microsoft/resnet-50` and Whisper tiny.en for
`@cf/openai/whisper-tiny-en` (a raw binary body, or the bytes as an array of 0-255 integers). Every range, default and
size comes from inputs.py, the rules the engine enforces, so what a schema accepts the engine runs and what it
refuses the engine refuses too (tests/test_local_schemas.py checks both ways). Properties the engine does not
read (Cloudflare's `raw`, `lora`, `tools`…) are left out rather than promised.
"""

from __future__ import annotations

from ..workers_ai import CHAT, EMBEDDINGS, SPEECH, VISION
from .inputs import BASE64_PATTERN, DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, MAX_EMBEDDING_TEXTS, ROLES, SAMPLING
from .models import LocalModel

_DESCRIPTIONS = {
    "max_tokens": "The maximum number of tokens to generate in the response.",
    "temperature": "Controls the randomness of the output; higher values produce more random results.",
    "top_p": "Adjusts the creativity of the AI's responses by controlling how many possible words it considers. "
             "Lower values make outputs more predictable; higher values allow for more varied and creative responses.",
    "top_k": "Limits the AI to choose from the top 'k' most probable words. Lower values make responses more "
             "focused; higher values introduce more variety and potential surprises.",
    "seed": "Random seed for reproducibility of the generation.",
    "frequency_penalty": "Decreases the likelihood of the model repeating the same lines verbatim.",
    "presence_penalty": "Increases the likelihood of the model introducing new topics.",
}
_DEFAULTS = {"max_tokens": DEFAULT_MAX_TOKENS, "temperature": DEFAULT_TEMPERATURE}


def _sampling() -> dict:
    properties = {}
    for name, (low, high, integer) in SAMPLING.items():
        spec = {"type": "integer" if integer else "number"}
        if name in _DEFAULTS:
            spec["default"] = _DEFAULTS[name]
        properties[name] = {**spec, "minimum": low, "maximum": high, "description": _DESCRIPTIONS[name]}
    return properties


def _stream(description: str) -> dict:
    return {"type": "boolean", "default": False, "description": description}


def chat_schema(model: LocalModel) -> dict:
    window = model.properties.get("context_window", "8192")
    prompt = {"type": "string", "minLength": 1,
              "description": f"The input text prompt for the model to generate a response (the prompt and the "
                             f"reply share a context window of {window} tokens)."}
    message = {
        "type": "object",
        "properties": {
            "role": {"type": "string", "enum": list(ROLES),
                     "description": "The role of the message sender (e.g., 'user', 'assistant', 'system', 'tool')."},
            "content": {"type": "string", "description": "The content of the message as a string."},
        },
        "required": ["role", "content"],
    }
    messages = {"type": "array", "minItems": 1, "items": message,
                "description": "An array of message objects representing the conversation history."}
    stream = "If true, the response will be streamed back incrementally using SSE, Server Sent Events."
    usage = {
        "type": "object", "description": "Usage statistics for the inference request",
        "properties": {name: {"type": "number", "default": 0, "description": text} for name, text in (
            ("prompt_tokens", "Total number of tokens in input"),
            ("completion_tokens", "Total number of tokens in output"),
            ("total_tokens", "Total number of input and output tokens"),
        )},
    }
    return {
        "input": {
            "type": "object",
            "oneOf": [
                {"title": "Prompt", "properties": {"prompt": prompt, "stream": _stream(stream), **_sampling()},
                 "required": ["prompt"], "not": {"required": ["messages"]}},
                {"title": "Messages", "properties": {"messages": messages, "stream": _stream(stream), **_sampling()},
                 "required": ["messages"], "not": {"required": ["prompt"]}},
            ],
        },
        "output": {
            "oneOf": [
                {"type": "object", "contentType": "application/json",
                 "properties": {"response": {"type": "string",
                                             "description": "The generated text response from the model"},
                                "usage": usage},
                 "required": ["response"]},
                {"type": "string", "contentType": "text/event-stream", "format": "binary"},
            ]
        },
    }


def embeddings_schema(model: LocalModel) -> dict:
    one = {"type": "string", "description": "The text to embed", "minLength": 1}
    dimensions = model.properties.get("output_dimensions", "384")
    return {
        "input": {
            "type": "object",
            "properties": {
                "text": {"oneOf": [
                    one,
                    {"type": "array", "description": "Batch of text values to embed", "items": one,
                     "minItems": 1, "maxItems": MAX_EMBEDDING_TEXTS},
                ]},
                "pooling": {"type": "string", "enum": ["mean"], "default": "mean",
                            "description": "The pooling method used in the embedding process: this model was "
                                           "trained with mean pooling, the only one it offers."},
            },
            "required": ["text"],
        },
        "output": {
            "type": "object",
            "contentType": "application/json",
            "properties": {
                "shape": {"type": "array", "items": {"type": "number"}},
                "data": {"type": "array", "description": "Embeddings of the requested text values",
                         "items": {"type": "array", "description": f"A {dimensions}-dimensional, unit-length "
                                   "embedding of one text", "items": {"type": "number"}}},
                "pooling": {"type": "string", "enum": ["mean"],
                            "description": "The pooling method used in the embedding process."},
            },
        },
    }


def _binary_input(name: str, what: str) -> dict:
    """A raw body of bytes, or a JSON object whose `name` is the bytes as 0-255 integers (or base64)."""
    return {
        "oneOf": [
            {"type": "string", "format": "binary", "description": f"The {what} to {_VERB[name]}"},
            {
                "type": "object",
                "properties": {
                    name: {"oneOf": [
                        {"type": "array", "minItems": 1,
                         "description": f"An array of integers that represent the {name} data constrained to 8-bit "
                                        "unsigned integer values",
                         "items": {"type": "integer", "minimum": 0, "maximum": 255,
                                   "description": "A value between 0 and 255 (unsigned 8bit)"}},
                        {"type": "string", "format": "binary", "contentEncoding": "base64",
                         "pattern": BASE64_PATTERN, "description": f"The {what}'s bytes, base64-encoded"},
                    ]},
                },
                "required": [name],
            },
        ]
    }


_VERB = {"image": "classify", "audio": "transcribe"}


def image_schema(model: LocalModel) -> dict:
    return {
        "input": _binary_input("image", "image"),
        "output": {
            "type": "array",
            "contentType": "application/json",
            "description": "The five most likely ImageNet classes, the most likely first",
            "maxItems": 5,
            "items": {
                "type": "object",
                "properties": {
                    "score": {"type": "number", "minimum": 0, "maximum": 1,
                              "description": "A confidence value, between 0 and 1, indicating how certain the model "
                                             "is about the predicted label"},
                    "label": {"type": "string",
                              "description": "The predicted category or class for the input image based on analysis"},
                },
                "required": ["label", "score"],
            },
        },
    }


def speech_schema(model: LocalModel) -> dict:
    word = {"type": "object", "properties": {
        "word": {"type": "string"},
        "start": {"type": "number", "description": "The second this word begins in the recording"},
        "end": {"type": "number", "description": "The ending second when the word completes"},
    }}
    return {
        "input": _binary_input("audio", "audio recording (English speech: wav, mp3, ogg, flac, m4a or webm)"),
        "output": {
            "type": "object",
            "contentType": "application/json",
            "properties": {
                "text": {"type": "string", "description": "The transcription"},
                "word_count": {"type": "number"},
                "words": {"type": "array", "items": word},
                "vtt": {"type": "string", "description": "The transcription as WebVTT subtitles"},
                "transcription_info": {"type": "object", "properties": {
                    "language": {"type": "string", "description": "The language of the audio (always 'en')"},
                    "duration": {"type": "number", "description": "The duration of the audio in seconds"},
                }},
            },
            "required": ["text"],
        },
    }


_BY_TASK = {CHAT: chat_schema, EMBEDDINGS: embeddings_schema, VISION: image_schema, SPEECH: speech_schema}


def schema_of(model: LocalModel) -> dict:
    """`{"input": <JSON Schema>, "output": <JSON Schema>}` for `model` (a model of a task with no schema: empty)."""
    maker = _BY_TASK.get(model.task)
    return maker(model) if maker else {"input": {}, "output": {}}

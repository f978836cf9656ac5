"""Input and output JSON Schemas of the fake's text, embedding, speech-recognition and classification models, as
`GET /ai/models/schema?model=…` answers them.

Modelled on Cloudflare's published schemas (cloudflare/cloudflare-docs, src/content/workers-ai-models/*.json):
`oneOf` prompt vs messages for the classic chat models, messages only for the chat-completions ones (the fake
refuses `prompt` for them, as the contract says), `text` string-or-array for embeddings, raw bytes
(`format: binary`) or arrays of integers for images and audio, and `contentType` on every output. Parameters carry
the published minimum/maximum/default/maxLength. The media models' schemas are in schemas_media.py.
"""

from __future__ import annotations

from .schemas_media import BYTE_ARRAY, MEDIA_SCHEMAS, binary

MAX_PROMPT = 131072  # llama-3.1-8b-instruct-fast's published maxLength of a prompt and of a message


def _sampling() -> dict:
    """The generation parameters the Llama 3.1 family publishes (contract §3)."""
    return {
        "stream": {"type": "boolean", "default": False,
                   "description": "If true, the response will be streamed back incrementally using SSE."},
        "max_tokens": {"type": "integer", "default": 256,
                       "description": "The maximum number of tokens to generate in the response."},
        "temperature": {"type": "number", "default": 0.6, "minimum": 0, "maximum": 5,
                        "description": "Controls the randomness of the output; higher values produce more random "
                                       "results."},
        "top_p": {"type": "number", "minimum": 0, "maximum": 2,
                  "description": "Adjusts the creativity of the AI's responses by controlling how many possible "
                                 "words it considers."},
        "top_k": {"type": "integer", "minimum": 1, "maximum": 50,
                  "description": "Limits the AI to choose from the top 'k' most probable words."},
        "seed": {"type": "integer", "minimum": 1, "maximum": 9999999999,
                 "description": "Random seed for reproducibility of the generation."},
        "repetition_penalty": {"type": "number", "minimum": 0, "maximum": 2,
                               "description": "Penalty for repeated tokens; higher values discourage repetition."},
        "frequency_penalty": {"type": "number", "minimum": 0, "maximum": 2,
                              "description": "Decreases the likelihood of the model repeating the same lines "
                                             "verbatim."},
        "presence_penalty": {"type": "number", "minimum": 0, "maximum": 2,
                             "description": "Increases the likelihood of the model introducing new topics."},
    }


def _messages(roles: list[str] | None = None) -> dict:
    role = {"type": "string", "description": "The role of the message sender (e.g., 'user', 'assistant', "
                                             "'system', 'tool')."}
    if roles:
        role["enum"] = roles
    return {
        "type": "array",
        "description": "An array of message objects representing the conversation history.",
        "items": {
            "type": "object",
            "properties": {
                "role": role,
                "content": {"type": "string", "maxLength": MAX_PROMPT,
                            "description": "The content of the message as a string."},
            },
            "required": ["role", "content"],
        },
    }


_TOOLS = {
    "type": "array",
    "description": "A list of tools available for the assistant to use.",
    "items": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "description": "Specifies the type of tool (e.g., 'function')."},
            "function": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "The name of the function."},
                    "description": {"type": "string", "description": "A brief description of what it does."},
                    "parameters": {"type": "object", "description": "JSON Schema of the function's parameters."},
                },
                "required": ["name", "description", "parameters"],
            },
        },
        "required": ["type", "function"],
    },
}
_STREAM_OUTPUT = {"type": "string", "contentType": "text/event-stream", "format": "binary"}
_USAGE = {
    "type": "object",
    "description": "Usage statistics for the inference request",
    "properties": {name: {"type": "number", "default": 0}
                   for name in ("prompt_tokens", "completion_tokens", "total_tokens")},
}


def classic_text() -> dict:
    """llama-3.1-8b-instruct-fast and its family: a prompt or messages; `response` or a stream."""
    prompt = {
        "title": "Prompt",
        "properties": {
            "prompt": {"type": "string", "minLength": 1, "maxLength": MAX_PROMPT,
                       "description": "The input text prompt for the model to generate a response."},
            "raw": {"type": "boolean", "default": False,
                    "description": "If true, a chat template is not applied and you must adhere to the specific "
                                   "model's expected formatting."},
            **_sampling(),
            "lora": {"type": "string", "description": "Name of the LoRA (Low-Rank Adaptation) model to "
                                                      "fine-tune the base model."},
        },
        "required": ["prompt"],
    }
    messages = {
        "title": "Messages",
        "properties": {"messages": _messages(), "tools": _TOOLS, **_sampling()},
        "required": ["messages"],
    }
    output = {
        "type": "object",
        "contentType": "application/json",
        "properties": {
            "response": {"type": "string", "description": "The generated text response from the model"},
            "usage": _USAGE,
            "tool_calls": {"type": "array", "description": "Tool calls requested during the response generation",
                           "items": {"type": "object", "properties": {"arguments": {"type": "object"},
                                                                      "name": {"type": "string"}}}},
        },
    }
    return {"input": {"type": "object", "oneOf": [prompt, messages]}, "output": {"oneOf": [output, _STREAM_OUTPUT]}}


def chat_completions() -> dict:
    """glm-4.7-flash, gemma-4, kimi: OpenAI-style chat completions, messages only."""
    properties = {
        "messages": _messages(["system", "user", "assistant", "tool"]),
        "tools": _TOOLS,
        "stream": {"type": "boolean", "default": False, "description": "Stream the answer as server-sent events."},
        "max_tokens": {"anyOf": [{"type": "integer"}, {"type": "null"}],
                       "description": "Deprecated in favor of max_completion_tokens."},
        "max_completion_tokens": {"anyOf": [{"type": "integer"}, {"type": "null"}],
                                  "description": "An upper bound for the number of tokens that can be generated."},
        "temperature": {"anyOf": [{"type": "number", "minimum": 0, "maximum": 2}, {"type": "null"}],
                        "default": 1, "description": "Sampling temperature between 0 and 2."},
        "top_p": {"anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}], "default": 1},
        "frequency_penalty": {"anyOf": [{"type": "number", "minimum": -2, "maximum": 2}, {"type": "null"}],
                              "default": 0},
        "presence_penalty": {"anyOf": [{"type": "number", "minimum": -2, "maximum": 2}, {"type": "null"}],
                             "default": 0},
        "seed": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
        "reasoning_effort": {"anyOf": [{"type": "string", "enum": ["low", "medium", "high"]}, {"type": "null"}]},
    }
    choice = {
        "type": "object",
        "properties": {
            "index": {"type": "integer"},
            "message": {"type": "object", "properties": {"role": {"type": "string"},
                                                         "content": {"type": ["string", "null"]}}},
            "finish_reason": {"type": ["string", "null"]},
        },
    }
    output = {
        "type": "object",
        "contentType": "application/json",
        "properties": {
            "id": {"type": "string"}, "object": {"type": "string", "enum": ["chat.completion"]},
            "created": {"type": "integer"}, "model": {"type": "string"},
            "choices": {"type": "array", "items": choice}, "usage": _USAGE,
        },
    }
    return {"input": {"type": "object", "properties": properties, "required": ["messages"]},
            "output": {"oneOf": [output, _STREAM_OUTPUT]}}


def embeddings() -> dict:
    text = {"oneOf": [
        {"type": "string", "description": "The text to embed", "minLength": 1},
        {"type": "array", "description": "Batch of text values to embed", "maxItems": 100,
         "items": {"type": "string", "description": "The text to embed", "minLength": 1}},
    ]}
    pooling = {"type": "string", "enum": ["mean", "cls"], "default": "mean",
               "description": "The pooling method used in the embedding process: `cls` and `mean` embeddings are "
                              "not comparable."}
    output = {
        "type": "object",
        "contentType": "application/json",
        "properties": {
            "shape": {"type": "array", "items": {"type": "number"}},
            "data": {"type": "array", "description": "Embeddings of the requested text values",
                     "items": {"type": "array", "items": {"type": "number"}}},
            "pooling": {"type": "string", "enum": ["mean", "cls"]},
        },
    }
    return {"input": {"type": "object", "properties": {"text": text, "pooling": pooling}, "required": ["text"]},
            "output": output}


def _words() -> dict:
    return {"type": "array", "items": {"type": "object", "properties": {
        "word": {"type": "string"},
        "start": {"type": "number", "description": "The second this word begins in the recording"},
        "end": {"type": "number", "description": "The ending second when the word completes"},
    }}}


def whisper() -> dict:
    audio = {"type": "object", "properties": {"audio": BYTE_ARRAY}, "required": ["audio"]}
    output = {"type": "object", "contentType": "application/json", "required": ["text"], "properties": {
        "text": {"type": "string", "description": "The transcription"},
        "word_count": {"type": "number"}, "words": _words(), "vtt": {"type": "string"},
    }}
    return {"input": {"oneOf": [binary("The audio to transcribe"), audio]}, "output": output}


def whisper_turbo() -> dict:
    properties = {
        "audio": {"type": "string", "description": "Base64 encoded value of the audio data."},
        "task": {"type": "string", "default": "transcribe", "description": "Supported tasks are 'translate' or "
                                                                           "'transcribe'."},
        "language": {"type": "string", "default": "en", "description": "The language of the audio."},
        "vad_filter": {"type": "boolean", "default": False,
                       "description": "Preprocess the audio with a voice activity detection model."},
        "initial_prompt": {"type": "string", "description": "A text prompt to give the model context."},
        "prefix": {"type": "string", "description": "A prefix that guides the beginning of the transcription."},
    }
    segment = {"type": "object", "properties": {
        "start": {"type": "number"}, "end": {"type": "number"}, "text": {"type": "string"}, "words": _words()}}
    output = {"type": "object", "contentType": "application/json", "required": ["text"], "properties": {
        "transcription_info": {"type": "object", "properties": {
            "language": {"type": "string"}, "language_probability": {"type": "number"},
            "duration": {"type": "number"}, "duration_after_vad": {"type": "number"}}},
        "text": {"type": "string"}, "word_count": {"type": "number"},
        "segments": {"type": "array", "items": segment}, "vtt": {"type": "string"},
    }}
    return {"input": {"type": "object", "properties": properties, "required": ["audio"]}, "output": output}


def resnet() -> dict:
    image = {"type": "object", "properties": {"image": BYTE_ARRAY}, "required": ["image"]}
    output = {"type": "array", "contentType": "application/json", "items": {"type": "object", "properties": {
        "score": {"type": "number", "description": "A confidence value, between 0 and 1"},
        "label": {"type": "string", "description": "The predicted category or class for the input image"},
    }}}
    return {"input": {"oneOf": [binary("The image to classify"), image]}, "output": output}


SCHEMAS = {
    "classic": classic_text,
    "chat": chat_completions,
    "embeddings": embeddings,
    "whisper": whisper,
    "whisper-turbo": whisper_turbo,
    "resnet": resnet,
    **MEDIA_SCHEMAS,
}


def schema_of(kind: str) -> dict:
    """A fresh copy of the schemas of a model of that `kind` (callers may change what they get)."""
    return SCHEMAS[kind]()

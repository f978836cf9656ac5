"""A model's input schema (`GET …/ai/models/schema`) as a form: the fields to show, in the order a visitor needs them.

Workers AI publishes a JSON Schema for each model's input. This module reads one into plain data the page (or a test)
can use without gradio:

- a `Form` holds one `Variant` per alternative the schema offers (`oneOf`/`anyOf`: *prompt* or *messages*, a raw
  upload or a JSON body), the simplest first;
- a `Variant` holds its `Field`s: text and long text, numbers and integers with their ranges and defaults, enums as
  choices, booleans, message lists, lists of strings, and binary inputs (image, audio) as uploads;
- what a form cannot show (tools, response formats: nested objects) stays reachable through the raw JSON input; a
  variant that *requires* such a property is marked `expressible=False`, and the page offers only raw JSON for it.

Nothing here sends anything: payload.py turns the values a visitor entered into a request body and checks it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

# Field kinds, named for what the page shows.
TEXT, LONG_TEXT, NUMBER, INTEGER, CHOICE, BOOLEAN = "text", "long_text", "number", "integer", "choice", "boolean"
MESSAGES, STRINGS, IMAGE, AUDIO, FILE = "messages", "strings", "image", "audio", "file"
BINARY_KINDS = (IMAGE, AUDIO, FILE)
# How a binary field travels: the whole request body, a JSON array of 0-255 integers, or a base64 string.
RAW, BYTES, BASE64 = "raw", "bytes", "base64"

# Names whose text is usually long: shown as a text area.
_LONG_NAMES = {"prompt", "text", "content", "input_text", "system_prompt", "context", "query", "negative_prompt",
               "initial_prompt", "instructions"}
# Tasks whose binary input is a picture, or a recording, when the property's name does not say.
_IMAGE_TASKS = {"Image Classification", "Object Detection", "Image-to-Text", "Image-to-Image"}
_AUDIO_TASKS = {"Automatic Speech Recognition", "Voice Activity Detection"}
# The order of optional fields: what a visitor writes first, switches last.
_RANK = {LONG_TEXT: 0, IMAGE: 1, AUDIO: 1, FILE: 1, NUMBER: 3, INTEGER: 3, BOOLEAN: 4}
# Properties the page sets for the visitor: streaming follows the model's ability, never a checkbox.
_HANDLED = {"stream"}


@dataclass(frozen=True)
class Field:
    """One input of a form."""

    name: str
    kind: str
    required: bool = False
    description: str = ""
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    choices: tuple = ()
    encoding: str = ""  # binary fields only: RAW, BYTES or BASE64

    @property
    def title(self) -> str:
        """'max_tokens' → 'Max tokens': how sentences name the field."""
        return title_of(self.name)

    @property
    def label(self) -> str:
        """The title, with '*' on required fields: what the page shows."""
        return f"{self.title} *" if self.required else self.title

    @property
    def binary(self) -> bool:
        return self.kind in BINARY_KINDS

    def hint(self) -> str:
        """The description, with the range and default the schema gives: what the page shows under the field."""
        parts = [self.description.strip()] if self.description.strip() else []
        if self.minimum is not None and self.maximum is not None:
            parts.append(f"{_number(self.minimum)} to {_number(self.maximum)}.")
        elif self.minimum is not None:
            parts.append(f"At least {_number(self.minimum)}.")
        elif self.maximum is not None:
            parts.append(f"At most {_number(self.maximum)}.")
        if self.max_length:
            parts.append(f"Up to {self.max_length:,} characters.")
        if self.default is not None and self.kind not in (BOOLEAN, CHOICE):
            parts.append(f"Default {self.default}.")
        return " ".join(parts)


@dataclass(frozen=True)
class Variant:
    """One alternative of an input schema: the body as a raw upload, or a JSON object with these fields."""

    title: str
    fields: tuple[Field, ...] = ()
    schema: dict = field(default_factory=dict)  # what the body is checked against (payload.py)
    raw_body: Field | None = None  # the whole body is this binary input (no JSON)
    hidden: tuple[str, ...] = ()  # optional properties only raw JSON can set
    expressible: bool = True  # False when a required property cannot be shown as a field
    streams: bool = False  # the schema offers `stream`

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class Form:
    """Every variant of a model's input, simplest first. No variant at all: the model has no usable schema."""

    variants: tuple[Variant, ...]
    note: str = ""  # one sentence for the page when the form cannot help (no schema, nothing expressible)

    @property
    def usable(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.expressible)

    @property
    def streams(self) -> bool:
        return any(v.streams for v in self.variants)


def title_of(name: str) -> str:
    """A property's name as words: 'max_tokens' → 'Max tokens'."""
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


NO_SCHEMA = "This model publishes no input schema: write its input as JSON (an example is filled in)."
NOT_EXPRESSIBLE = "This model's input needs structures a form cannot show: write it as JSON (an example is filled in)."


def form_of(schema: dict | None, task: str = "") -> Form:
    """The form for an input `schema` (None or malformed: no variants and a note saying to write JSON)."""
    if not isinstance(schema, dict) or not schema:
        return Form((), NO_SCHEMA)
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if isinstance(alternatives, list) and alternatives:
        base = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
        variants = [_variant(_merged(base, alt), task, i)
                    for i, alt in enumerate(alternatives) if isinstance(alt, dict)]
    else:
        variants = [_variant(schema, task, 0)]
    # Simplest first: those a form can show, then by how many fields must be filled, then in the schema's order.
    ordered = sorted(enumerate(variants), key=lambda iv: (not iv[1].expressible, _effort(iv[1]), iv[0]))
    variants = tuple(v for _, v in ordered)
    if len(variants) == 1 and not isinstance(schema.get("title"), str):
        variants = (replace(variants[0], title="Form"),)
    note = "" if any(v.expressible for v in variants) else NOT_EXPRESSIBLE
    return Form(variants, note)


def _merged(base: dict, alternative: dict) -> dict:
    """An alternative with its parent's shared properties and requirements folded in."""
    merged = {**base, **alternative}
    if isinstance(base.get("properties"), dict) and isinstance(alternative.get("properties"), dict):
        merged["properties"] = {**base["properties"], **alternative["properties"]}
    required = [*(base.get("required") or []), *(alternative.get("required") or [])]
    if required:
        merged["required"] = list(dict.fromkeys(r for r in required if isinstance(r, str)))
    return merged


def _effort(variant: Variant) -> int:
    """How much a visitor must do: a message list or a JSON structure is more than a text box."""
    weights = {MESSAGES: 3, STRINGS: 2}
    return sum(weights.get(f.kind, 1) for f in variant.fields if f.required)


def _variant(schema: dict, task: str, index: int) -> Variant:
    if _is_binary(schema):  # the whole body is a file: a raw upload
        body = Field("file", _binary_kind("", schema, task), required=True,
                     description=str(schema.get("description") or ""), encoding=RAW)
        return Variant(_title(schema, "Upload a file", index), (body,), schema, raw_body=body)
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    required = {r for r in schema.get("required") or [] if isinstance(r, str)}
    fields, hidden, expressible = [], [], True
    for name, spec in properties.items():
        if not isinstance(spec, dict) or name in _HANDLED:
            continue
        made = _field(str(name), spec, name in required, task)
        if made is not None:
            fields.append(made)
        elif name in required:
            expressible = False
        else:
            hidden.append(str(name))
    fields.sort(key=lambda f: (not f.required, _RANK.get(f.kind, 2)))  # required first, then text, switches last
    streams = isinstance(properties.get("stream"), dict)
    names = [f.name for f in fields if f.required] or [f.name for f in fields[:1]]
    fallback = " and ".join(title_of(n) for n in names[:2]) or "JSON body"
    return Variant(_title(schema, fallback, index), tuple(fields), schema, hidden=tuple(hidden),
                   expressible=expressible and bool(fields or not required), streams=streams)


def _title(schema: dict, fallback: str, index: int) -> str:
    title = schema.get("title")
    return str(title) if isinstance(title, str) and title.strip() else fallback or f"Input {index + 1}"


def _field(name: str, spec: dict, required: bool, task: str) -> Field | None:
    """The field for one property, or None when a form cannot show it."""
    options = [o for o in (spec.get("oneOf") or spec.get("anyOf") or []) if isinstance(o, dict)]
    described = {"description": str(spec.get("description") or (options[0].get("description") if options else "")
                                     or "")}
    if options:  # alternatives: a file if any is binary, else the simplest one that a field can show
        if any(_is_binary(o) or _is_byte_array(o) for o in options):
            encoding = BYTES if any(_is_byte_array(o) for o in options) else BASE64
            return Field(name, _binary_kind(name, spec, task), required, encoding=encoding, **described)
        for option in sorted(options, key=lambda o: o.get("type") != "string"):
            made = _field(name, {**option, **{k: v for k, v in spec.items() if k not in ("oneOf", "anyOf")}},
                          required, task)
            if made is not None:
                return made
        return None
    if _is_byte_array(spec) or _is_binary(spec) or _is_base64(name, spec):
        encoding = BYTES if _is_byte_array(spec) else BASE64
        return Field(name, _binary_kind(name, spec, task), required, encoding=encoding, **described)
    kind = spec.get("type")
    if isinstance(kind, list):  # ["string", "null"] and the like: the first real one
        kind = next((k for k in kind if k != "null"), None)
    common = dict(required=required, default=spec.get("default"), **described)
    if isinstance(spec.get("enum"), list) and spec["enum"]:
        return Field(name, CHOICE, choices=tuple(spec["enum"]), **common)
    if kind == "string":
        max_length = spec.get("maxLength") if isinstance(spec.get("maxLength"), int) else None
        long = name in _LONG_NAMES or (max_length or 0) > 500
        return Field(name, LONG_TEXT if long else TEXT, max_length=max_length, **common)
    if kind in ("integer", "number"):
        return Field(name, INTEGER if kind == "integer" else NUMBER, minimum=_bound(spec.get("minimum")),
                     maximum=_bound(spec.get("maximum")), **common)
    if kind == "boolean":
        return Field(name, BOOLEAN, **common)
    if kind == "array":
        items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        if _is_message_list(items):
            return Field(name, MESSAGES, **common)
        if items.get("type") == "string":
            return Field(name, STRINGS, **common)
    return None  # objects, arrays of objects or numbers: raw JSON only


def _bound(value: Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _number(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1000 else f"{value:g}"


def _is_binary(spec: dict) -> bool:
    return spec.get("type") == "string" and spec.get("format") == "binary"


def _is_byte_array(spec: dict) -> bool:
    """An array of numbers said to be 0-255 values: a file sent as integers."""
    items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
    if spec.get("type") != "array" or items.get("type") not in ("number", "integer"):
        return False
    text = f"{spec.get('description', '')} {items.get('description', '')}".lower()
    return any(word in text for word in ("8-bit", "0 and 255", "0-255", "byte", "image data", "audio data"))


def _is_base64(name: str, spec: dict) -> bool:
    text = str(spec.get("description") or "").lower()
    return spec.get("type") == "string" and ("base64" in text or spec.get("contentEncoding") == "base64"
                                             or name.endswith("_b64"))


def _is_message_list(items: dict) -> bool:
    properties = items.get("properties") if isinstance(items.get("properties"), dict) else {}
    return "role" in properties and "content" in properties


def _binary_kind(name: str, spec: dict, task: str) -> str:
    text = f"{name} {spec.get('description', '')}".lower()
    if "image" in text or "picture" in text or "mask" in text:
        return IMAGE
    if "audio" in text or "speech" in text or "recording" in text:
        return AUDIO
    return IMAGE if task in _IMAGE_TASKS else AUDIO if task in _AUDIO_TASKS else FILE


def example_of(variant: Variant | None, task: str = "") -> dict:
    """A small JSON body to start from: each required field filled with something sensible, defaults left out."""
    if variant is None:
        return dict(_TASK_EXAMPLES.get(task, {"prompt": "Hello!"}))
    body: dict[str, Any] = {}
    for f in variant.fields:
        if not f.required:
            continue
        if f.kind in (TEXT, LONG_TEXT):
            sample = _TASK_EXAMPLES.get(task, {}).get(f.name)
            body[f.name] = sample if isinstance(sample, str) else _SAMPLE_TEXT.get(f.name, "Hello!")
        elif f.kind == CHOICE:
            sample = _TASK_EXAMPLES.get(task, {}).get(f.name, _SAMPLE_TEXT.get(f.name))
            body[f.name] = next((c for c in (f.default, sample) if c in f.choices), f.choices[0])
        elif f.kind in (NUMBER, INTEGER):
            body[f.name] = f.default if f.default is not None else f.minimum if f.minimum is not None else 1
        elif f.kind == BOOLEAN:
            body[f.name] = bool(f.default)
        elif f.kind == MESSAGES:
            body[f.name] = [{"role": "user", "content": "Hello!"}]
        elif f.kind == STRINGS:
            sample = _TASK_EXAMPLES.get(task, {}).get(f.name)
            body[f.name] = sample if isinstance(sample, list) else ["Hello!"]
        elif f.binary:
            body[f.name] = [] if f.encoding == BYTES else ""
    return body


_SAMPLE_TEXT = {"prompt": "A lighthouse on a cliff at sunset, watercolour",
                "text": "Hello from the Workers AI showcase!",
                "target_lang": "fr", "query": "What is Workers AI?"}
_TASK_EXAMPLES = {
    "Text Generation": {"prompt": "Write a haiku about the edge of the network."},
    "Text Embeddings": {"text": ["Workers AI runs models at the edge."]},
    "Text-to-Image": {"prompt": "A lighthouse on a cliff at sunset, watercolour"},
    "Text-to-Speech": {"prompt": "Hello from the Workers AI showcase!"},
    "Translation": {"text": "Hello, world!", "source_lang": "en", "target_lang": "fr"},
    "Summarization": {"input_text": "Paste a long text here.", "max_length": 256},
    "Text Classification": {"text": "This demo is delightful."},
}

"""The request body of a Playground run: from a form's values or a visitor's JSON, checked against the model's schema.

Every refusal is one sentence naming the field and the rule (`InputProblem`), worded for a person, not the
validator's report: "Steps is at most 8; you gave 12." The schema's own checks run here, before anything is sent or
charged; Workers AI checks again (and its 5006 answers are worded by the client).
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from ..errors import InputProblem
from .form import BINARY_KINDS, BOOLEAN, BYTES, CHOICE, INTEGER, MESSAGES, NUMBER, STRINGS, Field, Variant, title_of

MAX_JSON_CHARS = 1_000_000  # a raw JSON body typed or pasted by a visitor
MAX_JSON_DEPTH = 32  # tools' parameter schemas, the deepest inputs a model takes, nest about eight
MAX_FILE_BYTES = 20 * 1024 * 1024  # an upload sent to a model (images and recordings; Workers AI answers 413 beyond)
MAX_BYTE_ARRAY = 5 * 1024 * 1024  # a file sent as a JSON array of integers is ~4x its size on the wire
_PLACEHOLDER = "<file>"  # what binary values are checked as (the schema's type rules, without a 20 MB array)


def body_from_form(variant: Variant, values: dict[str, Any]) -> dict | bytes:
    """The body for `variant` from the page's `values` (name → what the component holds). Blank optional fields
    and values equal to the schema's default are left out, so the request says only what the visitor chose."""
    if variant.raw_body is not None:
        path = values.get(variant.raw_body.name)
        if not path:
            raise InputProblem(f"Choose {_article(variant.raw_body.kind)} to send first.")
        return read_file(path)
    body: dict[str, Any] = {}
    for f in variant.fields:
        value = _value(f, values.get(f.name))
        if value is None:
            if f.required:
                raise InputProblem(f"{f.title} is required: fill it in.")
            continue
        if not f.required and f.default is not None and value == f.default:
            continue
        body[f.name] = value
    check(body, variant.schema, variant)
    return body


def body_from_json(text: str) -> dict:
    """A visitor's raw JSON body: an object (see `parse_json`)."""
    if not (text or "").strip():
        raise InputProblem("Write the model's input as a JSON object first, e.g. {\"prompt\": \"Hello\"}.")
    body = parse_json(text, "The input")
    if not isinstance(body, dict):
        raise InputProblem("The input must be a JSON object ({…}), with the model's fields as keys.")
    return body


def parse_json(text: str, what: str) -> Any:
    """JSON a visitor wrote: at most MAX_JSON_CHARS, nested at most MAX_JSON_DEPTH deep (no model's input goes
    deeper, and deeper nesting only makes every later step recurse), without NaN or Infinity."""
    text = str(text).strip()
    if len(text) > MAX_JSON_CHARS:
        raise InputProblem(f"{what} is {len(text):,} characters of JSON; up to {MAX_JSON_CHARS:,} are sent from here.")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InputProblem(f"{what} is not valid JSON{where}: check the quotes, commas and brackets.") from exc
    if _depth(value) > MAX_JSON_DEPTH:
        raise InputProblem(f"{what} nests JSON more than {MAX_JSON_DEPTH} levels deep: no model takes that.")
    return value


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in `value`, without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (list, dict)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def _no_constant(name: str):
    """NaN and Infinity: Python reads them, JSON (and Workers AI) does not."""
    raise ValueError(f"{name} is not JSON")


def check(body: dict, schema: dict | None, variant: Variant | None = None) -> None:
    """Refuse a body the schema does not admit, in one sentence. Binary fields are checked as placeholders (their
    size was checked when read). Without a usable schema nothing is checked here: Workers AI will say."""
    if not isinstance(schema, dict) or not schema:
        return
    binary = {f.name for f in (variant.fields if variant else ()) if f.kind in BINARY_KINDS}
    probe = {k: (_PLACEHOLDER if k in binary else v) for k, v in body.items()}
    schema = _lenient(schema, binary)
    try:
        validator = Draft202012Validator(schema)
        errors = list(validator.iter_errors(probe))
    except (SchemaError, RecursionError, TypeError, ValueError):
        return  # a schema the validator cannot read is Workers AI's to apply
    if errors:
        raise InputProblem(sentence(_deepest(errors)))


def sentence(error: ValidationError) -> str:
    """One validator error as a sentence a visitor can act on."""
    where = _where(error)
    rule, limit, value = error.validator, error.validator_value, error.instance
    if rule == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "a field"
        return f"{title_of(missing)} is required: fill it in."
    if rule == "maxLength":
        return f"{where} is {len(value):,} characters long; at most {limit:,} are accepted."
    if rule == "minLength":
        return f"{where} is empty: write something." if not value else f"{where} needs at least {limit:,} characters."
    if rule in ("maximum", "exclusiveMaximum"):
        return f"{where} is at most {limit:g}; you gave {value:g}."
    if rule in ("minimum", "exclusiveMinimum"):
        return f"{where} is at least {limit:g}; you gave {value:g}."
    if rule == "enum":
        shown = ", ".join(str(c) for c in list(limit)[:12]) + (" …" if len(limit) > 12 else "")
        return f"{where} must be one of: {shown} (not {str(value)[:40]!r})."
    if rule == "type":
        wanted = " or ".join(limit) if isinstance(limit, list) else limit
        return f"{where} must be {_article(str(wanted))}, not {_type_name(value)}."
    if rule == "additionalProperties":
        extra = error.message.split("'")[1] if "'" in error.message else "a field"
        return f"This model takes no field named {extra!r}: remove it."
    if rule in ("maxItems", "minItems"):
        bound = "at most" if rule == "maxItems" else "at least"
        return f"{where} has {len(value)} items; {bound} {limit} are accepted."
    if rule in ("oneOf", "anyOf"):
        return "The input matches none of the forms this model accepts: compare it with the example."
    return f"{where} is not accepted: {error.message[:160]}."


def read_file(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """An uploaded file's bytes, refused when empty, unreadable or over `limit`."""
    try:
        size = Path(path).stat().st_size
        if size > limit:
            raise InputProblem(f"This file is {size / 2**20:.1f} MB; files of up to {limit // 2**20} MB are sent "
                               "from here.")
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputProblem("The file could not be read: upload it again.") from exc
    if not data:
        raise InputProblem("The file is empty: choose another one.")
    return data


def encoded(f: Field, path: str | Path) -> list[int] | str:
    """An uploaded file as the value of binary field `f`: a byte array or a base64 string, as its schema asks."""
    data = read_file(path, MAX_BYTE_ARRAY if f.encoding == BYTES else MAX_FILE_BYTES)
    return list(data) if f.encoding == BYTES else base64.b64encode(data).decode("ascii")


def _value(f: Field, raw: Any) -> Any:
    """A component's value as the JSON the schema expects, or None when left blank."""
    if raw is None or (isinstance(raw, str) and not raw.strip() and f.kind not in BINARY_KINDS):
        return None
    if f.kind in BINARY_KINDS:
        return encoded(f, raw) if raw else None
    if f.kind in (NUMBER, INTEGER):
        return _number(f, raw)
    if f.kind == BOOLEAN:
        return bool(raw)
    if f.kind == CHOICE:
        return raw
    if f.kind == STRINGS:
        items = [line.strip() for line in str(raw).splitlines() if line.strip()]
        return items or None
    if f.kind == MESSAGES:
        return _messages(f, raw)
    return str(raw)


def _number(f: Field, raw: Any) -> int | float:
    try:
        number = float(raw)
    except (TypeError, ValueError) as exc:
        raise InputProblem(f"{f.title} must be a number.") from exc
    if not math.isfinite(number):
        raise InputProblem(f"{f.title} must be a finite number.")
    if f.kind == INTEGER:
        if not number.is_integer():
            raise InputProblem(f"{f.title} must be a whole number; you gave {number:g}.")
        return int(number)
    return number


def _messages(f: Field, raw: Any) -> list:
    messages = raw if isinstance(raw, list) else parse_json(raw, f.title)
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise InputProblem(f"{f.title} must be a list of {{\"role\", \"content\"}} objects.")
    return messages or None


def _lenient(schema: dict, binary: set[str]) -> dict:
    """The schema with the binary fields' rules relaxed to "present" (their encoding was chosen from the schema)."""
    if not binary:
        return schema

    def relax(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: relax(v) for k, v in node.items()}
            if isinstance(node.get("properties"), dict):
                node["properties"] = {k: ({} if k in binary else v) for k, v in node["properties"].items()}
            return node
        if isinstance(node, list):
            return [relax(v) for v in node]
        return node

    return relax(schema)


def _deepest(errors: list[ValidationError]) -> ValidationError:
    """The most specific error: a field's own rule before the object's."""
    return max(errors, key=lambda e: (len(e.absolute_path), e.validator != "oneOf"))


def _where(error: ValidationError) -> str:
    path = [p for p in error.absolute_path]
    if not path:
        return "The input"
    head = title_of(str(path[0]))
    rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[1:])
    return f"{head}{rest}"


def _article(kind: str) -> str:
    return {"image": "an image", "audio": "a recording", "file": "a file", "integer": "a whole number",
            "object": "an object", "array": "a list"}.get(kind, f"a {kind}")


def _type_name(value: Any) -> str:
    return {str: "text", bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "an object",
            type(None): "null"}.get(type(value), type(value).__name__)

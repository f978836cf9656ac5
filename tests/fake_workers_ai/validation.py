"""Input validation against a model's own JSON Schema, worded like the Workers AI runtime's validator.

The runtime answers 400/5006 with "AiError: Bad input: Error: <problem>", the problem phrased as observed in
real traffic (public code quoting live answers):

    required properties at '/' are 'prompt'
    Type mismatch of '/messages/0/content', 'array' not in 'string'
    Length of '/prompt' must be <= 2048
    '/temperature' must be <= 5
    oneOf at '/' not met, 0 matches: required properties at '/' are 'prompt', Type mismatch of ...

The enum, item-count and additional-property wordings were not seen in public traffic; they follow the same
style. Only the first problem is reported, as the runtime does. JSON bodies of models whose input is "raw bytes
or a JSON object" are checked against the object branch.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from .errors import bad_input, json_type


def _is_binary(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "string" and schema.get("format") == "binary"


def json_branch(schema: dict) -> dict:
    """The part of an input schema a JSON body must meet: a `oneOf` loses its raw-bytes branch."""
    branches = schema.get("oneOf")
    if isinstance(branches, list) and any(_is_binary(b) for b in branches):
        rest = [b for b in branches if not _is_binary(b)]
        return rest[0] if len(rest) == 1 else {**schema, "oneOf": rest}
    return schema


def _path(error: ValidationError) -> str:
    return "/" + "/".join(str(part) for part in error.absolute_path)


def _quoted(values) -> str:
    return ",".join(f"'{v}'" for v in values)


def describe(error: ValidationError) -> str:
    """One validation error as the runtime words it."""
    path, kind, limit = _path(error), error.validator, error.validator_value
    if kind == "required":
        missing = [name for name in limit if isinstance(error.instance, dict) and name not in error.instance]
        return f"required properties at '{path}' are '{','.join(missing or limit)}'"
    if kind == "type":
        expected = limit if isinstance(limit, list) else [limit]
        return f"Type mismatch of '{path}', '{json_type(error.instance)}' not in {_quoted(expected)}"
    if kind == "maxLength":
        return f"Length of '{path}' must be <= {limit}"
    if kind == "minLength":
        return f"Length of '{path}' must be >= {limit}"
    if kind == "maximum":
        return f"'{path}' must be <= {limit}"
    if kind == "minimum":
        return f"'{path}' must be >= {limit}"
    if kind == "enum":
        return f"'{path}' must be one of {_quoted(limit)}"
    if kind == "maxItems":
        return f"'{path}' must NOT have more than {limit} items"
    if kind == "minItems":
        return f"'{path}' must NOT have fewer than {limit} items"
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"additional properties at '{path}' are not allowed: {_quoted(extra)}"
    if kind == "pattern":
        return f"'{path}' failed test {limit} pattern"
    if kind in ("oneOf", "anyOf"):
        context = sorted(error.context or (), key=_order)
        failing = {sub.schema_path[0] for sub in context if sub.schema_path}
        matches = len(limit) - len(failing) if isinstance(limit, list) else 0
        causes = ", ".join(describe(sub) for sub in context)
        return f"{kind} at '{path}' not met, {matches} matches" + (f": {causes}" if causes else "")
    return f"'{path}' is invalid ({error.message})"


_FIRST = {"required": 0, "type": 1}  # at one place: what is missing, then the wrong type, then the rest


def _order(error: ValidationError) -> tuple:
    return (len(error.absolute_path), [str(p) for p in error.absolute_path], _FIRST.get(str(error.validator), 2),
            str(error.validator))


def validate(schema: dict, body: Any) -> None:
    """Raise the runtime's 5006 for the first way `body` breaks `schema` (its JSON branch)."""
    errors = sorted(Draft7Validator(json_branch(schema)).iter_errors(body), key=_order)
    if errors:
        raise bad_input(describe(errors[0]))


def check_bytes(values: list, path: str) -> bytes:
    """An `[0-255 ints]` array as bytes (the schemas say `number` items; the runtime wants bytes)."""
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values):
        raise bad_input(f"'{path}' items must be integers between 0 and 255")
    return bytes(values)

"""The rules of the fake Vectorize (tests/fake_workers_ai/vectorize.py): its limits and error codes, the checks on
what a request sends (values, namespaces, filters), what metadata filters see and how they are evaluated, and the
scores of the exact query."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ApiError

if TYPE_CHECKING:
    from .vectorize import Index

MAX_DIMENSIONS = 1536
MAX_NAME_BYTES = 64
MAX_ID_BYTES = 64
MAX_NAMESPACE_BYTES = 64
MAX_METADATA_BYTES = 10 * 1024
MAX_VECTORS_PER_WRITE = 5_000
MAX_BODY_BYTES = 100 * 1024 * 1024  # per write; the fake's other routes keep `max_body_bytes`
MAX_METADATA_INDEXES = 10
INDEXED_STRING_BYTES = 64  # strings are indexed on their first 64 bytes
MAX_FILTER_BYTES = 2048
MAX_TOP_K = 100
MAX_LIST = 1_000
DEFAULT_LIST = 100
METRICS = ("cosine", "euclidean", "dot-product")
RETURN_METADATA = ("none", "indexed", "all")
INDEX_TYPES = ("string", "number", "boolean")
OPERATORS = ("$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte")
ACCESS = ("edit", "read", "none", "not_entitled")
NDJSON = "application/x-ndjson"
NOT_FOUND = 3000
DUPLICATE = 3002
METADATA_INDEX_NOT_FOUND = 40005
DIMENSION_MISMATCH = 40006
TOP_K_TOO_LARGE = 40025
WRONG_FORMAT = 40026
INVALID = 40001
NOT_ENTITLED = 1005


def invalid(message: str) -> ApiError:
    return ApiError(400, INVALID, message)


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_kind(value: Any) -> str | None:
    """The metadata index type a value fits, or None (lists, objects, null are never indexed)."""
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _dimension_error(index: Index, got: int) -> ApiError:
    return ApiError(400, DIMENSION_MISMATCH, f"VECTOR_DIMENSION_MISMATCH: expected {index.dimensions} dimensions, "
                                             f"and got {got}")


def _values(index: Index, values: Any, where: str) -> list[float]:
    if not isinstance(values, list) or not all(_is_number(v) for v in values):
        raise invalid(f"{where} must be an array of numbers")
    if len(values) != index.dimensions:
        raise _dimension_error(index, len(values))
    return [float(v) for v in values]


def _namespace(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or _nbytes(value) > MAX_NAMESPACE_BYTES:
        raise invalid(f"a namespace must be a non-empty string of at most {MAX_NAMESPACE_BYTES} bytes")
    return value


def _indexed(index: Index, metadata: dict | None) -> dict[str, Any]:
    """What filters will see of `metadata`: the properties with a metadata index now, of that index's type."""
    seen: dict[str, Any] = {}
    for name, kind in index.metadata_indexes.items():
        value = (metadata or {}).get(name)
        if _json_kind(value) != kind:
            continue
        if kind == "string":
            value = value.encode("utf-8")[:INDEXED_STRING_BYTES].decode("utf-8", errors="ignore")
        seen[name] = value
    return seen


def _check_filter(index: Index, filter_: Any) -> dict:
    if not isinstance(filter_, dict):
        raise invalid("'filter' must be an object")
    if _nbytes(json.dumps(filter_, separators=(",", ":"))) >= MAX_FILTER_BYTES:
        raise invalid(f"the filter is {MAX_FILTER_BYTES} bytes or more as compact JSON")
    for name, condition in filter_.items():
        if not name or name.startswith("$"):
            raise invalid(f"'{name}' is not a property name (no $or/$and: keys are ANDed)")
        if name not in index.metadata_indexes:
            raise ApiError(400, METADATA_INDEX_NOT_FOUND, f"vectorize.metadata_index.not_found: no metadata index "
                                                          f"on '{name}': create one before writing the vectors")
        operators = condition if isinstance(condition, dict) else {"$eq": condition}
        if not operators:
            raise invalid(f"the condition on '{name}' is empty")
        for op, operand in operators.items():
            if op not in OPERATORS:
                raise invalid(f"unknown operator '{op}': use {' '.join(OPERATORS)}")
            operands = operand if op in ("$in", "$nin") else [operand]
            if op in ("$in", "$nin") and not isinstance(operand, list):
                raise invalid(f"'{op}' takes an array")
            if not all(_json_kind(o) is not None for o in operands):
                raise invalid(f"'{op}' on '{name}' takes strings, numbers or booleans")
    return filter_


def _same(a: Any, b: Any) -> bool:
    return _json_kind(a) == _json_kind(b) and a == b


def _holds(value: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return _same(value, operand)
    if op == "$ne":
        return not _same(value, operand)
    if op == "$in":
        return any(_same(value, o) for o in operand)
    if op == "$nin":
        return not any(_same(value, o) for o in operand)
    if _json_kind(value) != _json_kind(operand) or isinstance(value, bool):
        return False  # ranges compare numbers with numbers, strings with strings
    return {"$lt": value < operand, "$lte": value <= operand, "$gt": value > operand, "$gte": value >= operand}[op]


def _passes(vector: Vector, filter_: dict) -> bool:
    """A vector without the property indexed (written before its metadata index) never passes."""
    for name, condition in filter_.items():
        if name not in vector.indexed:
            return False
        operators = condition if isinstance(condition, dict) else {"$eq": condition}
        if not all(_holds(vector.indexed[name], op, operand) for op, operand in operators.items()):
            return False
    return True


def _scores(index: Index, query: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    if index.metric == "euclidean":
        return np.linalg.norm(matrix - query, axis=1)
    dots = matrix @ query
    if index.metric == "dot-product":
        return dots
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(query)
    return np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)


@dataclass
class Vector:
    id: str
    values: list[float]
    metadata: dict | None
    namespace: str | None
    indexed: dict[str, Any]  # the metadata its filters can see: properties with a metadata index when written

    def as_result(self, values: bool = True, metadata: str = "all") -> dict:
        item: dict[str, Any] = {"id": self.id}
        if values:
            item["values"] = list(self.values)
        if metadata == "all" and self.metadata is not None:
            item["metadata"] = self.metadata
        elif metadata == "indexed" and self.indexed:
            item["metadata"] = dict(self.indexed)
        if self.namespace is not None:
            item["namespace"] = self.namespace
        return item


def _parse_vectors(index: Index, req) -> list[Vector]:
    content_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != NDJSON:
        raise ApiError(400, WRONG_FORMAT, f"vectorize.invalid_content_type: writes take {NDJSON} (one vector per "
                                          f"line), not '{content_type or 'nothing'}'")
    try:
        lines = [line for line in req.body.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise invalid("the body is not UTF-8") from None
    if not lines:
        raise invalid("no vectors in the body")
    if len(lines) > MAX_VECTORS_PER_WRITE:
        raise invalid(f"too many vectors: at most {MAX_VECTORS_PER_WRITE} per request, got {len(lines)}")
    vectors = []
    for number, line in enumerate(lines, 1):
        try:
            item = json.loads(line)
        except ValueError:
            raise invalid(f"line {number} is not JSON") from None
        if not isinstance(item, dict):
            raise invalid(f"line {number} must be one vector object (NDJSON, no array)")
        vector_id = item.get("id")
        if not isinstance(vector_id, str) or not vector_id:
            raise invalid(f"line {number}: 'id' must be a non-empty string")
        if _nbytes(vector_id) > MAX_ID_BYTES:
            raise invalid(f"line {number}: the id is longer than {MAX_ID_BYTES} bytes")
        values = _values(index, item.get("values"), f"line {number}: 'values'")
        metadata = item.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise invalid(f"line {number}: 'metadata' must be an object")
        if metadata is not None and _nbytes(json.dumps(metadata, separators=(",", ":"))) > MAX_METADATA_BYTES:
            raise invalid(f"line {number}: metadata is larger than {MAX_METADATA_BYTES} bytes (10 KiB)")
        vectors.append(Vector(vector_id, values, metadata, _namespace(item.get("namespace")),
                              _indexed(index, metadata)))
    return vectors

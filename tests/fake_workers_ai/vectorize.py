"""Vectorize REST v2 in the fake (shared/docs/vectorize-contract.md §1): indexes, metadata indexes, NDJSON writes
that become searchable only after a delay, exact queries (numpy), namespaces, metadata filters, limits and errors.

Knobs on `FakeWorkersAI`, restored by `reset()` with the rest:
    vectorize_delay      seconds before a write (insert, upsert, delete, metadata index) is processed: until then
                         queries, get_by_ids and list do not see it and `info` reports the previous mutation
    vectorize_access     what the token may do: "edit" (default), "read" (writes get 403/10000), "none" (every
                         Vectorize call gets 403/10000) or "not_entitled" (the account lacks Vectorize: 403/1005)
    vectorize_top_k_cap  the most matches with `returnValues` or `returnMetadata: "all"` (20, the contract's safe
                         value; 50 plays 2026's docs): more is 40025 "max top K is 20"
    vectorize            the store itself (`fake.vectorize.indexes[name]`), for a test that looks inside
Faults: `fake.fail(Fault.error(503, 1011, "VECTOR_QUERY_ERROR"), model="vectorize")` hits the next Vectorize request,
`model="vectorize:query"` the next one of that operation (names in OPERATIONS).

Choices where the contract is silent, made the strict way: a filter on a property with no metadata index is 40005;
a vector written before a property's metadata index is invisible to filters on it; other refusals are 400 with
code 40001 (the contract names no code for them: a client must treat any 4xx as bad input).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from .errors import ApiError

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

_NAME = re.compile(r"[a-z][a-z0-9-]*")

# (method, path after /indexes/{name}) → (operation, needs Vectorize Edit)
_INDEX_ROUTES = {
    ("GET", ""): ("get_index", False),
    ("DELETE", ""): ("delete_index", True),
    ("GET", "info"): ("info", False),
    ("POST", "insert"): ("insert", True),
    ("POST", "upsert"): ("upsert", True),
    ("POST", "query"): ("query", False),
    ("POST", "get_by_ids"): ("get_by_ids", False),
    ("POST", "delete_by_ids"): ("delete_by_ids", True),
    ("GET", "list"): ("list", False),
    ("POST", "metadata_index/create"): ("create_metadata_index", True),
    ("GET", "metadata_index/list"): ("metadata_indexes", False),
    ("POST", "metadata_index/delete"): ("delete_metadata_index", True),
}
_TOP_ROUTES = {("POST", "indexes"): ("create_index", True), ("GET", "indexes"): ("list_indexes", False)}
OPERATIONS = tuple(op for op, _ in (*_TOP_ROUTES.values(), *_INDEX_ROUTES.values()))


def invalid(message: str) -> ApiError:
    return ApiError(400, INVALID, message)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


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


# ── the state ────────────────────────────────────────────────────────────────────────────────

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


@dataclass
class Mutation:
    id: str
    created: str  # ISO time, what `processedUpToDatetime` reports once it is processed
    ready_at: float  # time.monotonic() from which it is processed
    apply: Callable[[], None]


@dataclass
class Index:
    name: str
    description: str
    dimensions: int
    metric: str
    created_on: str = field(default_factory=_now_iso)
    modified_on: str = ""
    vectors: dict[str, Vector] = field(default_factory=dict)  # what queries see: processed writes only
    pending: deque[Mutation] = field(default_factory=deque)
    metadata_indexes: dict[str, str] = field(default_factory=dict)  # property → type, in effect for later writes
    processed: Mutation | None = None

    def __post_init__(self) -> None:
        self.modified_on = self.modified_on or self.created_on

    def as_result(self) -> dict:
        return {"name": self.name, "description": self.description,
                "config": {"dimensions": self.dimensions, "metric": self.metric},
                "created_on": self.created_on, "modified_on": self.modified_on}

    def settle(self) -> None:
        """Apply, in order, the writes whose time has come."""
        now = time.monotonic()
        while self.pending and self.pending[0].ready_at <= now:
            mutation = self.pending.popleft()
            mutation.apply()
            self.processed = mutation

    def mutate(self, apply: Callable[[], None], delay: float) -> dict:
        mutation = Mutation(str(uuid.uuid4()), _now_iso(), time.monotonic() + max(0.0, delay), apply)
        self.pending.append(mutation)
        self.settle()  # a zero delay is processed at once
        return {"mutationId": mutation.id}

    def info(self) -> dict:
        return {"dimensions": self.dimensions, "vectorCount": len(self.vectors),
                "processedUpToDatetime": self.processed.created if self.processed else None,
                "processedUpToMutation": self.processed.id if self.processed else None}


class VectorizeStore:
    """Every index of the fake's one account; one lock, as the server answers from many threads."""

    def __init__(self) -> None:
        self.indexes: dict[str, Index] = {}
        self.lock = threading.Lock()


# ── routing ──────────────────────────────────────────────────────────────────────────────────

def operation(method: str, rest: str) -> tuple[str, str | None, bool] | None:
    """`(operation, index name or None, needs Edit)` for a path under /vectorize/v2/, or None."""
    if (method, rest) in _TOP_ROUTES:
        op, writes = _TOP_ROUTES[(method, rest)]
        return op, None, writes
    found = re.fullmatch(r"indexes/([^/]+)(?:/(.*))?", rest)
    if not found:
        return None
    route = _INDEX_ROUTES.get((method, found[2] or ""))
    return None if route is None else (route[0], found[1], route[1])


def operation_name(method: str, rest: str) -> str:
    """What faults aimed at one operation (`model="vectorize:query"`) match against."""
    found = operation(method, rest)
    return found[0] if found else "unknown"


def serve(fake, req, method: str, rest: str) -> Any:
    """The `result` of one Vectorize request, or an ApiError."""
    found = operation(method, rest)
    if found is None:
        raise ApiError(404, 7000, "No route for that URI")
    op, name, writes = found
    _authorize(fake.vectorize_access, writes)
    store: VectorizeStore = fake.vectorize
    with store.lock:
        if op == "create_index":
            return _create_index(store, req)
        if op == "list_indexes":
            return [index.as_result() for index in store.indexes.values()]
        index = store.indexes.get(name)
        if index is None:
            raise ApiError(404, NOT_FOUND, f"vectorize.index.not_found: no index named '{name}'")
        index.settle()
        if op == "delete_index":
            del store.indexes[name]
            return None
        return _HANDLERS[op](fake, index, req)


def _authorize(access: str, writes: bool) -> None:
    if access not in ACCESS:
        raise ValueError(f"vectorize_access must be one of {ACCESS}")
    if access == "not_entitled":
        raise ApiError(403, NOT_ENTITLED, "vectorize.not_entitled: this account is not entitled to use Vectorize")
    if access == "none" or (access == "read" and writes):
        raise ApiError(403, 10000, "Authentication error")


# ── indexes ──────────────────────────────────────────────────────────────────────────────────

def _object(req) -> dict:
    if not isinstance(req.json, dict):
        raise invalid("the request body must be a JSON object")
    return req.json


def _create_index(store: VectorizeStore, req) -> dict:
    body = _object(req)
    name, config = body.get("name"), body.get("config")
    if not isinstance(name, str) or not _NAME.fullmatch(name) or _nbytes(name) > MAX_NAME_BYTES:
        raise invalid("the index name must be at most 64 lower-case letters, digits and dashes, starting with a "
                      "letter")
    if not isinstance(config, dict):
        raise invalid("'config' must be an object with 'dimensions' and 'metric'")
    dimensions, metric = config.get("dimensions"), config.get("metric")
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 1 <= dimensions <= MAX_DIMENSIONS:
        raise invalid(f"'config.dimensions' must be an integer from 1 to {MAX_DIMENSIONS}")
    if metric not in METRICS:
        raise invalid(f"'config.metric' must be one of {', '.join(METRICS)}")
    description = body.get("description", "")
    if not isinstance(description, str):
        raise invalid("'description' must be a string")
    if name in store.indexes:
        raise ApiError(400, DUPLICATE, f"vectorize.index.duplicate_name: an index named '{name}' already exists")
    index = Index(name, description, dimensions, metric)
    store.indexes[name] = index
    return index.as_result()


def _info(fake, index: Index, req) -> dict:
    return index.info()


# ── metadata indexes ─────────────────────────────────────────────────────────────────────────

def _property(body: dict) -> str:
    name = body.get("propertyName")
    if not isinstance(name, str) or not name or name.startswith("$") or _nbytes(name) > 512:
        raise invalid("'propertyName' must be a non-empty string")
    return name


def _create_metadata_index(fake, index: Index, req) -> dict:
    body = _object(req)
    name, kind = _property(body), body.get("indexType")
    if kind not in INDEX_TYPES:
        raise invalid(f"'indexType' must be one of {', '.join(INDEX_TYPES)}")
    if name in index.metadata_indexes:
        raise invalid(f"a metadata index on '{name}' already exists")
    if len(index.metadata_indexes) >= MAX_METADATA_INDEXES:
        raise invalid(f"an index has at most {MAX_METADATA_INDEXES} metadata indexes")
    index.metadata_indexes[name] = kind  # in effect for every later write, whenever this mutation is processed
    return index.mutate(lambda: None, fake.vectorize_delay)


def _metadata_indexes(fake, index: Index, req) -> dict:
    return {"metadataIndexes": [{"propertyName": name, "indexType": kind}
                                for name, kind in index.metadata_indexes.items()]}


def _delete_metadata_index(fake, index: Index, req) -> dict:
    name = _property(_object(req))
    if name not in index.metadata_indexes:
        raise ApiError(400, METADATA_INDEX_NOT_FOUND, f"vectorize.metadata_index.not_found: no metadata index on "
                                                      f"'{name}'")
    del index.metadata_indexes[name]
    return index.mutate(lambda: None, fake.vectorize_delay)


# ── writes ───────────────────────────────────────────────────────────────────────────────────

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


def _writer(keep_first: bool):
    def write(fake, index: Index, req) -> dict:
        vectors = _parse_vectors(index, req)

        def apply() -> None:
            for vector in vectors:
                if not (keep_first and vector.id in index.vectors):
                    index.vectors[vector.id] = vector

        return index.mutate(apply, fake.vectorize_delay)

    return write


def _ids(req) -> list[str]:
    ids = _object(req).get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid("'ids' must be an array of strings")
    return ids


def _delete_by_ids(fake, index: Index, req) -> dict:
    ids = _ids(req)

    def apply() -> None:
        for vector_id in ids:
            index.vectors.pop(vector_id, None)

    return index.mutate(apply, fake.vectorize_delay)


# ── reads ────────────────────────────────────────────────────────────────────────────────────

def _get_by_ids(fake, index: Index, req) -> list[dict]:
    return [index.vectors[i].as_result() for i in dict.fromkeys(_ids(req)) if i in index.vectors]


def _list(fake, index: Index, req) -> dict:
    text = req.query.get("count", str(DEFAULT_LIST))
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIST:
        raise invalid(f"'count' must be from 1 to {MAX_LIST}")
    count, ids = int(text), sorted(index.vectors)
    start = 0
    if cursor := req.query.get("cursor"):
        try:
            after = base64.urlsafe_b64decode(cursor.encode()).decode("utf-8")
        except ValueError:
            raise invalid("the cursor is not one this index gave") from None
        start = next((n for n, i in enumerate(ids) if i > after), len(ids))
    page = ids[start:start + count]
    truncated = start + count < len(ids)
    return {"count": len(page), "totalCount": len(ids), "isTruncated": truncated,
            "nextCursor": base64.urlsafe_b64encode(page[-1].encode()).decode() if truncated else None,
            "vectors": [{"id": i} for i in page]}


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


def _query(fake, index: Index, req) -> dict:
    body = _object(req)
    top_k = body.get("topK", 5)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise invalid("'topK' must be a positive integer")
    return_values = body.get("returnValues", False)
    if not isinstance(return_values, bool):
        raise invalid("'returnValues' must be a boolean")
    return_metadata = body.get("returnMetadata", "none")
    if not isinstance(return_metadata, str):
        raise ApiError(400, WRONG_FORMAT, "vectorize.invalid_request: 'returnMetadata' is a string on v2: "
                                          "'none', 'indexed' or 'all'")
    if return_metadata not in RETURN_METADATA:
        raise invalid(f"'returnMetadata' must be one of {', '.join(RETURN_METADATA)}")
    vector = _values(index, body.get("vector"), "'vector'")
    cap = fake.vectorize_top_k_cap if return_values or return_metadata == "all" else MAX_TOP_K
    if top_k > cap:
        raise ApiError(400, TOP_K_TOO_LARGE, f"VECTOR_QUERY_ERROR: topK {top_k} is too large: max top K is {cap}")
    namespace = _namespace(body.get("namespace"))
    filter_ = _check_filter(index, body["filter"]) if body.get("filter") is not None else None
    candidates = [v for v in index.vectors.values()
                  if (namespace is None or v.namespace == namespace) and (filter_ is None or _passes(v, filter_))]
    matches = []
    if candidates:
        scores = _scores(index, np.array(vector, dtype=np.float64),
                         np.array([v.values for v in candidates], dtype=np.float64))
        sign = 1 if index.metric == "euclidean" else -1  # euclidean: a distance, lower is closer
        order = sorted(range(len(candidates)), key=lambda n: (sign * scores[n], candidates[n].id))[:top_k]
        for n in order:
            found = candidates[n].as_result(values=return_values, metadata=return_metadata)
            matches.append({"id": found.pop("id"), "score": float(scores[n]), **found})
    return {"count": len(matches), "matches": matches}


_HANDLERS = {
    "get_index": lambda fake, index, req: index.as_result(),
    "info": _info,
    "insert": _writer(keep_first=True),
    "upsert": _writer(keep_first=False),
    "query": _query,
    "get_by_ids": _get_by_ids,
    "delete_by_ids": _delete_by_ids,
    "list": _list,
    "create_metadata_index": _create_metadata_index,
    "metadata_indexes": _metadata_indexes,
    "delete_metadata_index": _delete_metadata_index,
}

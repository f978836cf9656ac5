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
from .vectorize_rules import (  # noqa: F401  -- ACCESS, MAX_BODY_BYTES, Vector stay importable here
    MAX_BODY_BYTES, MAX_DIMENSIONS, MAX_NAME_BYTES, MAX_METADATA_INDEXES, MAX_TOP_K, MAX_LIST, DEFAULT_LIST, METRICS,
    RETURN_METADATA,
    INDEX_TYPES, ACCESS, NDJSON, NOT_FOUND, DUPLICATE, METADATA_INDEX_NOT_FOUND, TOP_K_TOO_LARGE, WRONG_FORMAT,
    NOT_ENTITLED, invalid, _nbytes, _values, _namespace, _check_filter, _passes, _scores, Vector, _parse_vectors,
)

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


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ── the state ────────────────────────────────────────────────────────────────────────────────


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

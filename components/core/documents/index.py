"""The document index: chunks with their vectors, per collection, searched by cosine. One interface, two backends.

    index = await document_index(model, dimensions)       # made on first use (never at import), prepared
    index = await document_index(model)                   # the one `model` already has, or LookupError
    new = await index.upsert(collection, chunks, vectors, on_progress)   # returns once they are searchable
    matches = await index.query(collection, vector, top_k)               # best first, top_k ≤ 20

- **The backends** implement `Backend` (below):
  embedded.py — the default: numpy + SQLite under DEMO_STATE_DIR, one file per embedding model and dimensions;
  vectorize_index.py — a Cloudflare Vectorize index, when an account is configured and VECTORIZE_INDEX names one.
- **`Index`** is what every caller holds: it checks what comes in, the same way for both backends, then hands it
  on. Collection ids by model.check_collection; chunk ids 1-64 bytes of letters, digits and `_ . : # = + -`,
  never a path; vectors of the index's dimensions (another model's → InputProblem naming both); top_k clamped to
  1..20 (Vectorize's safe cap with metadata); identical chunks in one call stored once. So switching backends
  changes nothing a user sees.
- **Collections** are Vectorize namespaces (plus a `collection` metadata filter, the contract's safe fallback) or
  the embedded store's column of the same name: no query ever crosses collections.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np

from .. import settings
from ..backend import shared_client
from ..errors import InputProblem
from ...workers_ai import Vectorize
from .embedded import EmbeddedIndex, default_directory, mismatch, store_path, stored_dimensions
from .model import MAX_ID_BYTES, Chunk, Match, check_collection
from .vectorize_index import INDEX_NAME, VectorizeIndex

log = logging.getLogger("showcase")

MAX_TOP_K = 20  # Vectorize's safe cap when metadata comes back; the embedded index keeps it
MAX_DIMENSIONS = 1536  # Vectorize's limit; the embedded index keeps it
EMBEDDED, VECTORIZE = "embedded", "vectorize"
_CHUNK_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:#=+-]*")

Progress = Callable[[float], object]  # called with the fraction stored so far, 0..1


class Backend(Protocol):
    """What a backend implements. `Index` calls it with checked input only: a valid collection id, unique valid
    chunk ids, float32 vectors of the prepared dimensions, 1 ≤ top_k ≤ MAX_TOP_K."""

    kind: str  # EMBEDDED or VECTORIZE
    where: str  # for people: "the embedded index (…)", "the Vectorize index “docs”"

    async def prepare(self, dimensions: int, model: str) -> None:
        """Create the store when missing (Vectorize: the index with these dimensions and cosine, then its metadata
        indexes, before any write); InputProblem when it was built for another model or other dimensions."""

    async def upsert(self, collection: str, chunks: list[Chunk], vectors: np.ndarray,
                     on_progress: Progress | None = None) -> int:
        """Store the chunks (replacing those of the same id); how many were new. Returns only once they are
        searchable."""

    async def known_ids(self, collection: str, ids: list[str]) -> set[str]:
        """Those of `ids` the collection holds (their chunks need no embedding)."""

    async def query(self, collection: str, vector: np.ndarray, top_k: int) -> list[Match]:
        """The collection's top_k chunks by cosine to `vector`, best first."""

    async def documents(self, collection: str) -> list[tuple[str, int]]:
        """(document name, chunks) of the collection (Index sorts them by name)."""

    async def count(self, collection: str) -> int:
        """The chunks the collection holds."""

    async def delete_collection(self, collection: str) -> int:
        """Remove every vector and text of the collection; how many chunks went."""


class Index:
    """The one front of a backend: every input checked here, the same way whichever backend stores it."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.model: str | None = None
        self.dimensions: int | None = None

    @property
    def kind(self) -> str:
        return self.backend.kind

    @property
    def where(self) -> str:
        return self.backend.where

    async def prepare(self, dimensions: int, model: str) -> None:
        dimensions = check_dimensions(dimensions)
        if not isinstance(model, str) or not model.strip():
            raise ValueError("prepare() needs the embedding model's id")
        if self.dimensions is not None and (self.dimensions, self.model) != (dimensions, model):
            raise mismatch(self.model, self.dimensions, model, dimensions)
        await self.backend.prepare(dimensions, model)
        self.dimensions, self.model = dimensions, model

    async def upsert(self, collection: str, chunks: list[Chunk], vectors, on_progress: Progress | None = None) -> int:
        """Store `chunks` (row i's vector is `vectors[i]`) in `collection`; how many were new."""
        collection = check_collection(collection)
        dimensions = self._prepared()
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(chunks):
            raise ValueError(f"{len(chunks)} chunks need a ({len(chunks)}, d) array of vectors, not {vectors.shape}")
        if not chunks:
            return 0
        if vectors.shape[1] != dimensions:
            raise mismatch(self.model, dimensions, "the embedding model used now", vectors.shape[1])
        if not np.isfinite(vectors).all():
            raise ValueError("the vectors hold NaN or infinity: the embedding model's answer is broken")
        first: dict[str, int] = {}
        for row, piece in enumerate(chunks):
            first.setdefault(check_chunk_id(piece.id), row)  # identical chunks (one id) are stored once
        rows = list(first.values())
        if len(rows) < len(chunks):
            chunks, vectors = [chunks[row] for row in rows], vectors[rows]
        return await self.backend.upsert(collection, chunks, vectors, on_progress)

    async def known_ids(self, collection: str, ids: list[str]) -> set[str]:
        collection = check_collection(collection)
        self._prepared()
        ids = list(dict.fromkeys(check_chunk_id(chunk_id) for chunk_id in ids))
        return await self.backend.known_ids(collection, ids) if ids else set()

    async def query(self, collection: str, vector, top_k: int) -> list[Match]:
        collection = check_collection(collection)
        dimensions = self._prepared()
        vector = np.asarray(vector, dtype=np.float32)
        if vector.ndim == 2 and vector.shape[0] == 1:
            vector = vector[0]
        if vector.ndim != 1:
            raise ValueError(f"a query is one vector, not an array of shape {vector.shape}")
        if vector.shape[0] != dimensions:
            raise mismatch(self.model, dimensions, "the embedding model used now", vector.shape[0])
        if not np.isfinite(vector).all() or not np.any(vector):
            raise ValueError("the query vector is zero or holds NaN: the embedding model's answer is broken")
        return await self.backend.query(collection, vector, clamp_top_k(top_k))

    async def documents(self, collection: str) -> list[tuple[str, int]]:
        collection = check_collection(collection)
        self._prepared()
        found = await self.backend.documents(collection)
        return sorted(found, key=lambda item: (item[0].casefold(), item[0]))  # by name: Vectorize keeps no order

    async def count(self, collection: str) -> int:
        collection = check_collection(collection)
        self._prepared()
        return await self.backend.count(collection)

    async def delete_collection(self, collection: str) -> int:
        collection = check_collection(collection)
        self._prepared()
        return await self.backend.delete_collection(collection)

    def _prepared(self) -> int:
        if self.dimensions is None:
            raise RuntimeError("call prepare(dimensions, model) first (document_index() does)")
        return self.dimensions


def check_chunk_id(value: str) -> str:
    """A chunk id as given, or InputProblem: 1-64 bytes of letters, digits and `_ . : # = + -`, never a path."""
    if not (isinstance(value, str) and _CHUNK_ID.fullmatch(value) and ".." not in value
            and len(value.encode()) <= MAX_ID_BYTES):
        shown = repr(value)[:80]
        raise InputProblem(f"{shown} is not a chunk id: ids are 1-{MAX_ID_BYTES} bytes of letters, digits and "
                           "_ . : # = + - (never a path).")
    return value


def check_dimensions(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_DIMENSIONS:
        raise InputProblem(f"An embedding model with {value} dimensions cannot be indexed: 1 to {MAX_DIMENSIONS} "
                           "dimensions are supported (Vectorize's limit).")
    return int(value)


def clamp_top_k(value) -> int:
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise InputProblem(f"The number of passages must be a whole number from 1 to {MAX_TOP_K}.") from None
    return max(1, min(value, MAX_TOP_K))


# ── which backend: chosen from the settings, made on first use ─────────────────────────────────

_indexes: dict[tuple[str, str, str, int], Index] = {}
_warned: set[str] = set()


def backend_choice(env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(VECTORIZE, index name) when a Cloudflare account is configured (not the offline engine) and
    VECTORIZE_INDEX names an index; else (EMBEDDED, the stores' folder)."""
    name = settings.read("VECTORIZE_INDEX", env)
    cloud = shared_client().settings
    if name and cloud.backend != "local" and cloud.configured:
        if INDEX_NAME.fullmatch(name):
            return VECTORIZE, name
        if name not in _warned:
            _warned.add(name)
            log.warning("VECTORIZE_INDEX=%r is not a Vectorize index name (1-64 letters, digits, - or _): the "
                        "documents stay in the embedded index", name[:80])
    return EMBEDDED, str(default_directory(env))


async def document_index(model: str, dimensions: int | None = None) -> Index:
    """The prepared index for `model`'s vectors on the backend the settings choose, made on first use.

    With `dimensions` None: the index `model` already has (the embedded store it wrote, or the configured Vectorize
    index), LookupError when there is none yet. InputProblem when the index was built for another model."""
    kind, place = backend_choice()
    if dimensions is None:
        cached = [width for (k, p, m, width) in _indexes if (k, p, m) == (kind, place, model)]
        dimensions = cached[0] if cached else await _existing_dimensions(kind, place, model)
    dimensions = check_dimensions(dimensions)
    key = (kind, place, model, dimensions)
    index = _indexes.get(key)
    if index is None:
        index = Index(_backend(kind, place, model, dimensions))
    await index.prepare(dimensions, model)
    return _indexes.setdefault(key, index)  # kept only once prepared


def forget_indexes() -> None:
    """Drop the indexes made so far (closing the embedded stores' connections): tests, or a settings change."""
    for index in _indexes.values():
        if isinstance(index.backend, EmbeddedIndex):
            index.backend.close()
    _indexes.clear()


def _backend(kind: str, place: str, model: str, dimensions: int) -> Backend:
    if kind == VECTORIZE:
        client = shared_client()
        return VectorizeIndex(Vectorize(client.settings, place, client=client))
    return EmbeddedIndex(store_path(place, model, dimensions))


async def _existing_dimensions(kind: str, place: str, model: str) -> int:
    if kind == VECTORIZE:
        client = shared_client()
        found = await Vectorize(client.settings, place, client=client).get_index()
        if found is None:
            raise LookupError(f"the Vectorize index {place!r} does not exist yet")
        return int((found.get("config") or {}).get("dimensions") or 0)
    stored = stored_dimensions(place, model)
    if not stored:
        raise LookupError(f"no embedded index for {model} yet")
    return stored[0]

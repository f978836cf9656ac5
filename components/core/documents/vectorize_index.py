"""The Vectorize document index: the chunks of every collection in one Cloudflare Vectorize index (VECTORIZE_INDEX).

    store = VectorizeIndex(Vectorize(settings, "docs", client=shared_client()))
    await store.prepare(768, model)          # creates the index (cosine) and its metadata indexes when missing
    new = await store.upsert(collection, chunks, vectors)     # through index.Index, which checks what comes in

How the index is used (shared/docs/vectorize-contract.md §1):
- **One index, one embedding model.** It is created with the model's dimensions and cosine, its description names
  the model; an index built for other dimensions, another metric or (by its description) another model is refused
  with a sentence naming both, never written to. The metadata indexes `collection` and `document` (strings) are
  made right after the index, before the first write: filters only see vectors written after them.
- **A collection is a namespace**, and every query also filters on the `collection` metadata (the contract is
  unsure REST honours the namespace; both cost nothing), and matches of another collection are dropped all the
  same: no query ever crosses collections.
- **Vector ids** are unique across the whole index, namespaces included, so a chunk's id alone would let one
  collection overwrite another's identical chunk: the vector id is `<collection tag>.<chunk tag>` (16 + 1 + 32
  characters of two SHA-256 digests, base64url), and the chunk's own id travels in the metadata (`chunk`).
  The collection tag is also what finds a large collection's ids in the index's id list.
- **Metadata** holds collection, chunk, document, page, heading, text and tokens, within Vectorize's 10 KiB per
  vector: a longer text is trimmed (at a character boundary) and the match says so in `extra["note"]`.
- **Writes are asynchronous**: `upsert` sends the vectors (1,000 per request), then polls the index until the
  write is processed — bounded (`wait_timeout`, 60 s), with progress — and only then returns; a write still
  unprocessed then is an IndexNotReady sentence (the vectors arrive a little later all the same).
- **Listing a collection** (count, documents, known ids, delete): one query in the namespace for 100 ids (no
  metadata) answers a collection of fewer than 100 chunks; a larger one is found in the index's id list (1,000 ids
  a request) by its tag, and documents() reads its metadata 100 ids at a time.
- **Errors**: a dimension mismatch and a missing Vectorize permission become InputProblem sentences; the rest
  stay the client's typed errors, whose sentences are safe to show.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import Callable

import numpy as np

from ..errors import InputProblem
from ...workers_ai import (
    DimensionMismatchError,
    IndexNotFoundError,
    TopKTooLargeError,
    Vectorize,
    VectorizePermissionError,
)
from .embedded import mismatch
from .model import Chunk, Match

INDEX_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # the client's rule: one path segment, ≤ 64 bytes
DESCRIPTION = "Ask your documents (workers-ai-showcase): "  # + the embedding model
METADATA_INDEXES = ("collection", "document")
MAX_METADATA_BYTES = 10 * 1024 - 256  # Vectorize's 10 KiB per vector, with room for JSON's own accounting
MAX_LABEL_BYTES = 512  # document name and heading, before the text gets what is left
TRIMMED = "the passage was shortened to fit Vectorize's 10 KiB of metadata per vector"
WRITE_BATCH = 1_000  # vectors per upsert call (the client's request size), between two progress reports
GET_BATCH = 100  # ids per get_by_ids request (no documented limit; stay modest)
LIST_PAGE = 1_000
SMALL = 100  # a collection listed by one query: the most ids one query returns without metadata
DELETE_ROUNDS = 5  # query, delete, wait — until the namespace answers nothing

Progress = Callable[[float], object]


class IndexNotReady(InputProblem):
    """Stored, but Vectorize has not made the vectors searchable within the wait: the sentence says so."""


def _digest(value: str, length: int) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest()).decode()[:length]


def collection_tag(collection: str) -> str:
    return _digest("collection\n" + collection, 16)


def vector_id(collection: str, chunk_id: str) -> str:
    """The vector's id in the index: unique per (collection, chunk), 49 characters, never a path."""
    return f"{collection_tag(collection)}.{_digest(chunk_id, 32)}"


def _trim(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, at a character boundary."""
    return text.encode()[:max(limit, 0)].decode(errors="ignore")


def metadata(collection: str, piece: Chunk) -> dict:
    """The vector's metadata, within MAX_METADATA_BYTES (the text trimmed, and marked, if it must be)."""
    item = {"collection": collection, "chunk": piece.id, "document": _trim(piece.document, MAX_LABEL_BYTES),
            "page": int(piece.page), "heading": _trim(piece.heading, MAX_LABEL_BYTES), "text": piece.text,
            "tokens": int(piece.tokens)}
    if _size(item) > MAX_METADATA_BYTES:
        item.update(text="", trimmed=True)
        room, kept = MAX_METADATA_BYTES - _size(item), 0
        for character in piece.text:  # what each character costs as JSON (an escape can take 12 bytes)
            room -= len(json.dumps(character)) - 2
            if room < 0:
                break
            kept += 1
        item["text"] = piece.text[:kept]
    return item


def _size(item: dict) -> int:
    """Measured as ASCII JSON (a non-ASCII character as its \\u escape): the most any reading of the limit counts."""
    return len(json.dumps(item, separators=(",", ":")))


def _values(vector: np.ndarray) -> list[float]:
    """Plain floats, 7 decimals (the JSON is half as long; cosine moves by < 1e-6)."""
    return np.round(np.asarray(vector, dtype=np.float64), 7).tolist()


def _items(collection: str, chunks: list[Chunk], vectors: np.ndarray) -> list[dict]:
    """The NDJSON objects of an upsert: id, values, metadata, namespace."""
    return [{"id": vector_id(collection, piece.id), "values": _values(vectors[row]),
             "metadata": metadata(collection, piece), "namespace": collection} for row, piece in enumerate(chunks)]


class VectorizeIndex:
    """A backend of index.Index over one Vectorize index (see the module docstring)."""

    kind = "vectorize"

    def __init__(self, vectorize: Vectorize, *, wait_timeout: float = 60.0, poll: float = 1.0) -> None:
        self.vectorize = vectorize
        self.wait_timeout = wait_timeout
        self.poll = poll
        self.dimensions: int | None = None
        self.model: str | None = None
        self.ready = False  # prepared, and not found gone since

    @property
    def where(self) -> str:
        return f"the Vectorize index “{self.vectorize.index}”"

    async def prepare(self, dimensions: int, model: str) -> None:
        if self.dimensions is not None and (self.dimensions, self.model) != (dimensions, model):
            raise mismatch(self.model, self.dimensions, model, dimensions)
        if self.ready:
            return
        with _sentences(self, model, dimensions):
            found = await self.vectorize.get_index()
            if found is None:
                found = await self.vectorize.create_index(dimensions, "cosine", DESCRIPTION + model)
            config = found.get("config") or {}
            built_for = str(found.get("description") or "")
            other = built_for[len(DESCRIPTION):] if built_for.startswith(DESCRIPTION) else None
            if int(config.get("dimensions") or 0) != dimensions or (other and other != model):
                raise mismatch(other, config.get("dimensions"), model, dimensions)
            if config.get("metric", "cosine") != "cosine":
                raise InputProblem(f"The Vectorize index “{self.vectorize.index}” measures {config.get('metric')}, "
                                   "not cosine: its scores would mean something else. Name another index in "
                                   "VECTORIZE_INDEX (it is created for you).")
            have = {item.get("propertyName") for item in await self.vectorize.metadata_indexes()}
            mutation = ""
            for name in METADATA_INDEXES:
                if name not in have:
                    mutation = await self.vectorize.create_metadata_index(name, "string")
            if mutation:
                await self.vectorize.wait_until_processed(mutation, timeout=self.wait_timeout, poll=self.poll)
        self.dimensions, self.model, self.ready = dimensions, model, True

    async def upsert(self, collection: str, chunks: list[Chunk], vectors: np.ndarray,
                     on_progress: Progress | None = None) -> int:
        report = on_progress or (lambda fraction: None)
        known = await self.known_ids(collection, [piece.id for piece in chunks])
        items = await asyncio.to_thread(_items, collection, chunks, vectors)  # 5,000 × 768 floats: ~0.3 s of CPU
        mutation = ""
        with _sentences(self, self.model, self.dimensions):
            for start in range(0, len(items), WRITE_BATCH):
                mutation = await self.vectorize.upsert(items[start:start + WRITE_BATCH])
                report(0.5 * min(start + WRITE_BATCH, len(items)) / len(items))

            def waiting(info: dict, waited: float) -> None:
                report(0.5 + 0.49 * min(waited / self.wait_timeout, 1.0))

            ready = await self.vectorize.wait_until_processed(mutation, timeout=self.wait_timeout, poll=self.poll,
                                                              on_progress=waiting)
        if not ready:
            raise IndexNotReady(f"The passages are stored in Vectorize, which has not made them searchable within "
                                f"{self.wait_timeout:g} s: ask again in a minute.")
        report(1.0)
        return len({piece.id for piece in chunks} - known)

    async def known_ids(self, collection: str, ids: list[str]) -> set[str]:
        wanted = {vector_id(collection, chunk_id): chunk_id for chunk_id in ids}
        held = await self._vector_ids(collection)
        return {chunk_id for vid, chunk_id in wanted.items() if vid in held}

    async def query(self, collection: str, vector: np.ndarray, top_k: int) -> list[Match]:
        values = _values(vector)
        with _sentences(self, self.model, len(values)):
            try:
                found = await self._query(values, top_k, collection, "all")
            except TopKTooLargeError:  # a lower cap than the contract's: ask for half once
                found = await self._query(values, max(1, top_k // 2), collection, "all")
            except IndexNotFoundError:
                self.ready = False  # deleted behind our back: nothing to find; the next prepare() creates it
                return []
        matches = []
        for item in found:
            data = item.get("metadata") or {}
            if data.get("collection") != collection:
                continue  # never another collection's passage, whatever the service did with the filter
            matches.append(Match(
                str(data.get("chunk") or item.get("id")), float(item.get("score") or 0.0), str(data.get("document", "")),
                int(data.get("page") or 0), str(data.get("heading", "")), str(data.get("text", "")),
                {"note": TRIMMED} if data.get("trimmed") else {}))
        matches.sort(key=lambda match: -match.score)
        return matches[:top_k]

    async def documents(self, collection: str) -> list[tuple[str, int]]:
        held = sorted(await self._vector_ids(collection))
        counts: dict[str, int] = {}
        with _sentences(self, self.model, self.dimensions):
            for start in range(0, len(held), GET_BATCH):
                for item in await self.vectorize.get_by_ids(held[start:start + GET_BATCH]):
                    data = item.get("metadata") or {}
                    if data.get("collection") == collection:
                        name = str(data.get("document", ""))
                        counts[name] = counts.get(name, 0) + 1
        return list(counts.items())

    async def count(self, collection: str) -> int:
        return len(await self._vector_ids(collection))

    async def delete_collection(self, collection: str) -> int:
        removed: set[str] = set()
        with _sentences(self, self.model, self.dimensions):
            for _ in range(DELETE_ROUNDS):
                held = await self._vector_ids(collection)
                if not held:
                    break
                mutation = await self.vectorize.delete_by_ids(sorted(held))
                removed |= held
                await self.vectorize.wait_until_processed(mutation, timeout=self.wait_timeout, poll=self.poll)
        return len(removed)

    # ── listing a collection ────────────────────────────────────────────────────────────────

    async def _query(self, values: list[float], top_k: int, collection: str, return_metadata: str) -> list[dict]:
        return await self.vectorize.query(values, top_k, namespace=collection, filter={"collection": collection},
                                          return_metadata=return_metadata)

    async def _vector_ids(self, collection: str) -> set[str]:
        """The ids of the collection's vectors (searchable ones: a write not yet processed is not seen)."""
        tag = collection_tag(collection) + "."
        probe = [1.0] + [0.0] * (int(self.dimensions or 1) - 1)  # any direction: every vector gets a score
        with _sentences(self, self.model, self.dimensions):
            try:
                found = await self._query(probe, SMALL, collection, "none")
            except IndexNotFoundError:
                self.ready = False
                return set()
            ids = {str(item.get("id")) for item in found if str(item.get("id", "")).startswith(tag)}
            if len(found) < SMALL:
                return ids  # the whole collection fitted in one answer
            cursor = None
            while True:  # a large collection: its tag in the index's list of ids
                page = await self.vectorize.list_ids(cursor=cursor, count=LIST_PAGE)
                ids.update(str(item.get("id")) for item in page.get("vectors") or []
                           if str(item.get("id", "")).startswith(tag))
                cursor = page.get("nextCursor")
                if not page.get("isTruncated") or not cursor:
                    return ids


class _sentences:
    """Turn the client's dimension-mismatch and permission errors into InputProblem sentences; an index that is
    gone is prepared again next time."""

    def __init__(self, index: VectorizeIndex, model: str | None, dimensions) -> None:
        self.index, self.model, self.dimensions = index, model, dimensions

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, trace) -> bool:
        if isinstance(error, IndexNotFoundError):
            self.index.ready = False  # deleted behind our back: the next prepare() creates it again
        if isinstance(error, DimensionMismatchError):
            built = error.expected if error.expected is not None else "other"
            raise mismatch(None, built, self.model or "this embedding model",
                           error.got if error.got is not None else self.dimensions) from error
        if isinstance(error, VectorizePermissionError):
            raise InputProblem(error.user_message) from error
        return False

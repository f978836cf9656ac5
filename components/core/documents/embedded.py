"""The embedded document index, the default: numpy + SQLite (stdlib), nothing to install, nothing to sign up for.

    store = EmbeddedIndex(store_path(default_directory(), model, 384))
    await store.prepare(384, model)
    new = await store.upsert(collection, chunks, vectors)      # through index.Index, which checks what comes in

- **Where.** One SQLite file per embedding model and dimensions, `<DEMO_STATE_DIR>/documents/<model>-<d>.sqlite3`
  (without DEMO_STATE_DIR: `~/.cache/workers-ai-showcase/documents/`), so switching models never mixes vectors.
  The folder is made private to the user (0700): it holds the text of people's documents.
- **What.** A row per chunk and collection: the chunk's id (≤ 64 bytes, unique per collection: identical chunks
  are stored once), document, page, heading, text, tokens, and its vector as float32 bytes, L2-normalised on the
  way in, so a dot product is the cosine. Vectorize's rules hold (string ids ≤ 64 bytes, a collection is a
  namespace, upsert replaces a whole row, top_k capped by index.Index): switching backends changes nothing a user
  sees.
- **Search** is exact: the query's cosine against every vector of the collection. Each collection's vectors are
  kept in memory as one float32 matrix (chunks × dimensions), loaded on the first query and reloaded after a
  write, and scored with numpy's `vecdot` (one thread, SIMD: ~5 ms at 100k × 384 on this 2-core machine, where
  BLAS's gemv takes 6-16 ms as its threads fight the other processes; numpy < 2 falls back to `einsum`, ~6.5 ms).
  100k chunks of 384 dims cost 147 MiB (4 bytes × 384 × 100k) plus ~10 MiB of ids; the matrices of a process are
  bounded by `cache_bytes` (512 MiB), least recently used first out. A query reads one row of SQLite
  (the collection's version, which every write bumps: a write by another process is seen at the next query) and
  the top_k rows' text, nothing more. bench/bench_documents_index.py measures it.
- **Concurrency.** WAL mode; every write is one `BEGIN IMMEDIATE` transaction (atomic: an upsert stores all its
  chunks or none), serialised across threads and processes sharing the file; readers never wait for writers.
  One connection per thread. Every SQLite or numpy step runs in a worker thread (asyncio.to_thread), never on the
  event loop.
- **Deleting** a collection removes its rows with `secure_delete` on (the freed pages are zeroed) and truncates
  the write-ahead log, so the text is gone from the disk, not merely unlinked.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import ledger_store, settings
from ..errors import InputProblem
from .model import Chunk, Match

MAX_CACHE_BYTES = 512 * 2**20  # the collections' matrices one process keeps in memory (100k × 384 is 147 MiB)
WRITE_BATCH = 2_000  # rows per executemany inside an upsert's one transaction (progress is reported between them)
BUSY_TIMEOUT_S = 10.0  # how long a write waits for another process's transaction before giving up
ID_BYTES_IN_MEMORY = 100  # what one cached id costs (a short str in a list), for the memory bound
FORMAT = "1"  # the file's layout; a file of another layout is refused, never misread
DEFAULT_FOLDER = Path("~/.cache/workers-ai-showcase")  # without DEMO_STATE_DIR; the home is looked up at first use

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    collection TEXT NOT NULL, id TEXT NOT NULL,
    document TEXT NOT NULL, page INTEGER NOT NULL, heading TEXT NOT NULL, text TEXT NOT NULL,
    tokens INTEGER NOT NULL, vector BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS chunks_by_id ON chunks (collection, id);
"""


class StoreUnavailable(RuntimeError):
    """The store's file cannot be opened, read or written (permissions, a full disk, a damaged file)."""


def default_directory(env: Mapping[str, str] | None = None) -> Path:
    """Where the stores live: `<DEMO_STATE_DIR>/documents`, else `~/.cache/workers-ai-showcase/documents`."""
    state = settings.read("DEMO_STATE_DIR", env)
    return (Path(state) if state else DEFAULT_FOLDER).expanduser() / "documents"


def _slug(model: str) -> str:
    """A file-name-safe, unique name for a model id: readable part + a hash (two ids never share a file)."""
    readable = re.sub(r"[^A-Za-z0-9.]+", "-", model).strip("-.")[:60] or "model"
    return f"{readable}-{hashlib.sha256(model.encode()).hexdigest()[:8]}"


def store_path(directory: Path, model: str, dimensions: int) -> Path:
    return Path(directory) / f"{_slug(model)}-{int(dimensions)}.sqlite3"


def stored_dimensions(directory: Path, model: str) -> list[int]:
    """The dimensions of the stores `model` already has in `directory`, the most recently written first."""
    slug = _slug(model)
    pattern = re.compile(re.escape(slug) + r"-(\d+)\.sqlite3")
    try:
        found = [(path.stat().st_mtime, int(match.group(1))) for path in Path(directory).glob(f"{slug}-*.sqlite3")
                 if (match := pattern.fullmatch(path.name))]
    except OSError:
        return []
    return [dimensions for _, dimensions in sorted(found, reverse=True)]


@dataclass
class _Matrix:
    version: int
    ids: list[str]
    vectors: np.ndarray  # float32, (chunks, dimensions), C-contiguous, rows of length 1 (or 0)

    @property
    def nbytes(self) -> int:
        return self.vectors.nbytes + ID_BYTES_IN_MEMORY * len(self.ids)


class EmbeddedIndex:
    """One SQLite file: the chunks and vectors of every collection for one embedding model and dimensions.

    A backend of index.Index, which checks every input first (collection ids, chunk ids, vector shapes, top_k)."""

    kind = "embedded"

    def __init__(self, path: Path, *, cache_bytes: int = MAX_CACHE_BYTES) -> None:
        self.path = Path(path)
        self.cache_bytes = cache_bytes
        self.dimensions: int | None = None
        self.model: str | None = None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()  # guards _connections and _cache
        self._loading = threading.Lock()  # one matrix read from SQLite at a time
        self._cache: OrderedDict[str, _Matrix] = OrderedDict()

    @property
    def where(self) -> str:
        return f"the embedded index ({self.path.name})"

    # ── the Backend protocol (index.py) ────────────────────────────────────────────────────────

    async def prepare(self, dimensions: int, model: str) -> None:
        """Create the file and its tables when missing; InputProblem when the file was made for another model."""
        if self.dimensions is not None:
            if (self.dimensions, self.model) != (dimensions, model):
                raise mismatch(self.model, self.dimensions, model, dimensions)
            return
        await asyncio.to_thread(self._prepare, dimensions, model)
        self.dimensions, self.model = dimensions, model

    async def upsert(self, collection: str, chunks: list[Chunk], vectors: np.ndarray,
                     on_progress: Callable[[float], object] | None = None) -> int:
        """Store `chunks` with their vectors (replacing rows of the same id) in one transaction; how many were new.

        Queryable as soon as it returns. `on_progress(fraction)` is called on the event loop."""
        self._check_prepared()
        loop = asyncio.get_running_loop()
        report = None
        if on_progress is not None:
            def report(fraction: float) -> None:
                loop.call_soon_threadsafe(on_progress, fraction)
        return await asyncio.to_thread(self._upsert, collection, chunks, vectors, report)

    async def known_ids(self, collection: str, ids: list[str]) -> set[str]:
        self._check_prepared()
        return await asyncio.to_thread(self._known_ids, collection, ids)

    async def query(self, collection: str, vector: np.ndarray, top_k: int) -> list[Match]:
        self._check_prepared()
        return await asyncio.to_thread(self._query, collection, vector, top_k)

    async def documents(self, collection: str) -> list[tuple[str, int]]:
        self._check_prepared()
        return await asyncio.to_thread(self._read, "SELECT document, count(*) FROM chunks WHERE collection=? "
                                       "GROUP BY document ORDER BY min(rowid)", (collection,))

    async def count(self, collection: str) -> int:
        self._check_prepared()
        rows = await asyncio.to_thread(self._read, "SELECT count(*) FROM chunks WHERE collection=?", (collection,))
        return int(rows[0][0])

    async def delete_collection(self, collection: str) -> int:
        self._check_prepared()
        return await asyncio.to_thread(self._delete_collection, collection)

    def close(self) -> None:
        """Close every connection (each thread's) and drop the matrices; the file stays."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._cache.clear()
        for db in connections:
            try:
                db.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    # ── SQLite, in worker threads ─────────────────────────────────────────────────────────────

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                     check_same_thread=False)  # one per thread; close() may run on another
                ledger_store.use_wal(db, BUSY_TIMEOUT_S)  # two processes opening a new file at once
                db.execute("PRAGMA synchronous=NORMAL")  # WAL: atomic and consistent; durable across app crashes
                db.execute("PRAGMA secure_delete=ON")  # a deleted collection's text is overwritten, not left behind
            except (OSError, sqlite3.Error) as exc:
                raise StoreUnavailable(f"{self.path}: {exc}") from exc
            with self._lock:
                self._connections.append(db)
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction: IMMEDIATE (holding the write lock of every process) for a write, a consistent snapshot
        for a read."""
        db = self._db()
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{self.path}: {exc}") from exc
        try:
            yield db
            db.execute("COMMIT")
        except BaseException as exc:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.Error):
                raise StoreUnavailable(f"{self.path}: {exc}") from exc
            raise

    def _read(self, sql: str, args: tuple) -> list[tuple]:
        try:
            return self._db().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{self.path}: {exc}") from exc

    def _prepare(self, dimensions: int, model: str) -> None:
        with self._transaction(write=True) as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if not meta:
                db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                               [("model", model), ("dimensions", str(dimensions)), ("metric", "cosine"),
                                ("format", FORMAT)])
                return
        if meta.get("format") != FORMAT:
            raise StoreUnavailable(f"{self.path}: layout {meta.get('format')!r}, this code reads {FORMAT!r}")
        if (meta.get("model"), meta.get("dimensions")) != (model, str(dimensions)):
            raise mismatch(meta.get("model"), meta.get("dimensions"), model, dimensions)

    def _upsert(self, collection: str, chunks: list[Chunk], vectors: np.ndarray,
                report: Callable[[float], None] | None) -> int:
        vectors = _normalised(vectors)
        ids = [piece.id for piece in chunks]
        with self._transaction(write=True) as db:
            existing = self._existing(db, collection, ids)
            for start in range(0, len(chunks), WRITE_BATCH):
                db.executemany(
                    "INSERT INTO chunks (collection, id, document, page, heading, text, tokens, vector)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (collection, id) DO UPDATE SET"
                    " document=excluded.document, page=excluded.page, heading=excluded.heading,"
                    " text=excluded.text, tokens=excluded.tokens, vector=excluded.vector",
                    [(collection, piece.id, piece.document, piece.page, piece.heading, piece.text, piece.tokens,
                      vectors[row].tobytes())
                     for row, piece in enumerate(chunks[start:start + WRITE_BATCH], start)])
                if report is not None:
                    report(min(start + WRITE_BATCH, len(chunks)) / len(chunks))
            _bump(db, collection)
        self._forget(collection)
        return len(set(ids) - existing)

    def _known_ids(self, collection: str, ids: list[str]) -> set[str]:
        with self._transaction(write=False) as db:
            return self._existing(db, collection, ids)

    @staticmethod
    def _existing(db: sqlite3.Connection, collection: str, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            found.update(row[0] for row in db.execute(
                f"SELECT id FROM chunks WHERE collection=? AND id IN ({','.join('?' * len(part))})",
                (collection, *part)))
        return found

    def _delete_collection(self, collection: str) -> int:
        with self._transaction(write=True) as db:
            removed = db.execute("DELETE FROM chunks WHERE collection=?", (collection,)).rowcount
            _bump(db, collection)
        self._forget(collection)
        try:  # the write-ahead log may still hold the deleted pages: fold it into the file and empty it
            self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass  # another process is reading: its next checkpoint does it
        return int(removed)

    # ── search ──────────────────────────────────────────────────────────────────────────────

    def _query(self, collection: str, vector: np.ndarray, top_k: int) -> list[Match]:
        matrix = self._matrix(collection)
        count = len(matrix.ids)
        if count == 0:
            return []
        query = _normalised(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]
        scores = _dot(matrix.vectors, query)
        top_k = min(top_k, count)
        best = np.argpartition(scores, count - top_k)[count - top_k:] if top_k < count else np.arange(count)
        best = best[np.argsort(-scores[best], kind="stable")]
        ids = [matrix.ids[row] for row in best]
        rows = {row[0]: row[1:] for row in self._read(
            f"SELECT id, document, page, heading, text FROM chunks WHERE collection=? AND id IN "
            f"({','.join('?' * len(ids))})", (collection, *ids))}
        return [Match(chunk_id, float(np.clip(scores[row], -1.0, 1.0)), *rows[chunk_id])
                for chunk_id, row in zip(ids, best) if chunk_id in rows]  # a row deleted meanwhile is left out

    def _matrix(self, collection: str) -> _Matrix:
        """The collection's vectors as of its current version: from memory, or read once (one snapshot; one thread
        reads while the others asking wait for it, so a large collection is never read, or held, twice)."""
        with self._transaction(write=False) as db:
            version = _version(db, collection)
            if (cached := self._cached(collection, version)) is not None:
                return cached
            with self._loading:
                if (cached := self._cached(collection, version)) is not None:
                    return cached
                count = db.execute("SELECT count(*) FROM chunks WHERE collection=?", (collection,)).fetchone()[0]
                vectors = np.empty((count, self.dimensions), dtype=np.float32)
                ids: list[str] = []
                cursor = db.execute("SELECT id, vector FROM chunks WHERE collection=?", (collection,))
                while rows := cursor.fetchmany(4096):
                    block = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
                    vectors[len(ids):len(ids) + len(rows)] = block.reshape(len(rows), self.dimensions)
                    ids.extend(row[0] for row in rows)
                matrix = _Matrix(version, ids, vectors)
                with self._lock:
                    self._cache[collection] = matrix
                    self._cache.move_to_end(collection)
                    total = sum(entry.nbytes for entry in self._cache.values())
                    while total > self.cache_bytes and len(self._cache) > 1:  # the one just asked for stays
                        _, evicted = self._cache.popitem(last=False)
                        total -= evicted.nbytes
        return matrix

    def _cached(self, collection: str, version: int) -> _Matrix | None:
        with self._lock:
            cached = self._cache.get(collection)
            if cached is None or cached.version != version:
                return None
            self._cache.move_to_end(collection)
            return cached

    def _forget(self, collection: str) -> None:
        with self._lock:
            self._cache.pop(collection, None)

    def cached_bytes(self) -> int:
        """What the matrices held in memory cost now (the bench reports it)."""
        with self._lock:
            return sum(entry.nbytes for entry in self._cache.values())

    def _check_prepared(self) -> None:
        if self.dimensions is None:
            raise RuntimeError("EmbeddedIndex: call prepare(dimensions, model) first")


def mismatch(index_model: str | None, index_dimensions, model: str, dimensions) -> InputProblem:
    """The sentence for vectors of one embedding model offered to an index built for another."""
    return InputProblem(
        f"This document index was built for {index_model or 'another embedding model'} "
        f"({index_dimensions} dimensions), but {model} makes {dimensions}-dimensional vectors: vectors of two "
        f"models cannot be searched together. Use {index_model or 'that model'} again, or another index for "
        f"{model}.")


def _version(db: sqlite3.Connection, collection: str) -> int:
    row = db.execute("SELECT version FROM collections WHERE name=?", (collection,)).fetchone()
    return row[0] if row else 0


def _bump(db: sqlite3.Connection, collection: str) -> None:
    """A new version for the collection (kept after a delete, so a version number never comes back)."""
    db.execute("INSERT INTO collections (name, version) VALUES (?, 1)"
               " ON CONFLICT (name) DO UPDATE SET version = version + 1", (collection,))


def _einsum_dot(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    return np.einsum("ij,j->i", matrix, vector)


_dot = getattr(np, "vecdot", None) or _einsum_dot  # each row · the vector; np.vecdot is numpy ≥ 2


def _normalised(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 as float32 (a zero row stays zero: it scores 0 against everything)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)

"""Adding documents to a collection: extract, chunk, embed what is new, store — within each collection's quotas.

    result = await add(files, text, collection, request, on_progress)

- Files are extracted in a worker thread (extract.py), split into chunks that fit the embedding model
  (chunking.py), and only chunks the collection does not hold yet are embedded: a chunk's id comes from its text,
  so identical chunks are stored once and re-adding a document costs nothing.
- Embedding is one metered call (budgets as everywhere: components/core/usage.py) whose batches of 100 report as
  they come back, so that the page can show chunks embedded / total; the vectors are stored only once every chunk has one, so
  a failure stores nothing half.
- A collection holds at most MAX_FILES documents, MAX_BYTES of files and MAX_CHUNKS chunks, and one visitor adds at
  most MAX_CHUNKS_PER_VISITOR_A_DAY chunks a UTC day across collections (kept in the usage ledger's file: a
  restart does not reset it); the sample collection (assets/documents) is indexed on first use and read-only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...workers_ai import EMBEDDINGS, estimate
from ..backend import default_model, shared_client
from ..embeddings import embed
from ..errors import InputProblem
from ..usage import metered, shared_ledger, visitor_key
from .chunking import chunk
from .extract import extract, from_text
from .index import document_index
from .model import SAMPLE_COLLECTION, Chunk, Document, check_collection, new_collection

MAX_FILES = 20  # documents per collection
MAX_BYTES = 50 * 1024 * 1024  # of files per collection (each file's own limit is extract.py's)
MAX_CHUNKS = 5_000  # per collection: ~2.5 M tokens of text
MAX_PASTED_CHARS = 200_000
# Chunks one visitor may add in a UTC day, across all the collections they make (an API caller can make as many as
# they like): what keeps a public Space's disk from being filled by one visitor. Counted in the usage ledger's
# SQLite file beside the neurons (components/core/usage.py Ledger.take), so a restart does not reset it.
MAX_CHUNKS_PER_VISITOR_A_DAY = 20_000
QUOTA_KIND = "chunks"
SAMPLE_FOLDER = Path(__file__).resolve().parents[3] / "assets" / "documents"

Progress = Callable[[float, str], None]  # (fraction done, what is happening)


@dataclass(frozen=True)
class Added:
    """What `add` did: the collection (new or given), its documents, and the chunks it now holds."""

    collection: str
    documents: tuple[str, ...]  # the names added by this call
    chunks_added: int  # new chunks embedded and stored
    chunks_known: int  # chunks of these documents the collection already held (not embedded again)
    chunks_total: int  # in the collection now

    def to_dict(self) -> dict:
        return {"collection": self.collection, "documents": list(self.documents), "chunks_added": self.chunks_added,
                "chunks_already_stored": self.chunks_known, "chunks_in_collection": self.chunks_total}


def embedding_model() -> str:
    """The documents' embedding model on the live backend (bge-base on Workers AI, MiniLM offline)."""
    return default_model(EMBEDDINGS)


def writable_collection(collection: str | None) -> str:
    """The given collection (checked), or a new one; the sample collection is read-only."""
    if not (collection or "").strip():
        return new_collection()
    collection = check_collection(collection)
    if collection == SAMPLE_COLLECTION:
        raise InputProblem("The sample collection is read-only: add your documents without a collection id to start "
                           "your own.")
    return collection


async def read_documents(files: list[tuple[str, str]], text: str | None) -> list[Document]:
    """Each file (path, name as uploaded) extracted in a worker thread, and the pasted text; InputProblem names the
    file that could not be read, and nothing is stored."""
    if len(files) > MAX_FILES:
        raise InputProblem(f"Add at most {MAX_FILES} files at once; {len(files)} were given.")
    size = sum(Path(path).stat().st_size for path, _ in files)
    if size > MAX_BYTES:
        raise InputProblem(f"These files are {size / 2**20:.1f} MB together; a collection holds at most "
                           f"{MAX_BYTES // 2**20} MB of files.")
    documents = []
    for path, name in files:
        try:
            documents.append(await asyncio.to_thread(extract, path, name))
        except InputProblem as exc:
            raise InputProblem(f"{name}: {exc}") from None
    text = (text or "").strip()
    if len(text) > MAX_PASTED_CHARS:
        raise InputProblem(f"Paste at most {MAX_PASTED_CHARS:,} characters; upload longer texts as files.")
    if text:
        documents.append(from_text(text))
    if not documents:
        raise InputProblem("Upload a PDF, Markdown, text or HTML file, or paste some text, to add it.")
    return documents


async def add(files: list[tuple[str, str]], text: str | None, collection: str | None, request=None,
              on_progress: Progress | None = None) -> Added:
    """Add files and pasted text to `collection` (a new one when blank); see the module docstring."""
    collection = writable_collection(collection)
    documents = await read_documents(files, text)
    return await store(documents, collection, request, on_progress, quotas=True)


def _take_visitor_quota(request, new_chunks: int) -> tuple[str, int]:
    """Count `new_chunks` against the visitor's day in the usage ledger (so a restart does not reset it), or
    refuse; (the visitor, what was taken) for `_give_back` should the adding fail."""
    ledger = shared_ledger()
    visitor = visitor_key(request, ledger)
    taken, used = ledger.take(visitor, QUOTA_KIND, new_chunks, MAX_CHUNKS_PER_VISITOR_A_DAY)
    if not taken:
        raise InputProblem(f"You have added {used:,} chunks of documents today; this demo takes at most "
                           f"{MAX_CHUNKS_PER_VISITOR_A_DAY:,} a day from one visitor (it resets at 00:00 UTC).")
    return visitor, new_chunks


def _give_back(taken: tuple[str, int] | None) -> None:
    if taken and taken[1]:
        shared_ledger().take(taken[0], QUOTA_KIND, -taken[1])


async def store(documents: list[Document], collection: str, request=None, on_progress: Progress | None = None,
                quotas: bool = True) -> Added:
    """Chunk, embed what is new and store `documents` in `collection`."""
    report = on_progress or (lambda fraction, what: None)
    model = embedding_model()
    chunks = _unique([piece for document in documents for piece in await asyncio.to_thread(chunk, document, model)])
    if not chunks:
        raise InputProblem("These documents hold no text to index.")
    index = None
    known: set[str] = set()
    total = 0
    if (existing := await _existing_index(model)) is not None:
        index = existing
        known = await index.known_ids(collection, [piece.id for piece in chunks])
        total = await index.count(collection)
    new = [piece for piece in chunks if piece.id not in known]
    taken = None
    if quotas:
        _check_quotas(documents, len(new), total, index is not None and await index.documents(collection))
        if new:  # taken before the work, so two uploads at once cannot both pass it; given back if nothing is stored
            taken = await asyncio.to_thread(_take_visitor_quota, request, len(new))
    if new:
        try:
            vectors = await _embed_with_progress(new, model, request, report)
            index = await document_index(model, vectors.shape[1])
            report(0.9, "Storing the vectors…")
            await index.upsert(collection, new, vectors, on_progress=lambda f: report(0.9 + 0.1 * f, "Storing…"))
        except BaseException:
            await asyncio.to_thread(_give_back, taken)
            raise
        total = await index.count(collection)
    report(1.0, "Ready")
    return Added(collection, tuple(document.name for document in documents), len(new), len(chunks) - len(new), total)


async def ensure_sample(request=None) -> None:
    """Index the sample collection (assets/documents) on first use; afterwards its chunks are known and nothing is
    embedded again (the embedded index keeps them across restarts)."""
    key = (shared_client().settings.backend, embedding_model())
    if key in _sample_ready:
        return
    async with _sample_lock():
        if key in _sample_ready:
            return
        paths = sorted(path for path in SAMPLE_FOLDER.iterdir() if path.suffix.lower() in (".md", ".pdf", ".txt"))
        documents = [await asyncio.to_thread(extract, str(path), path.name) for path in paths]
        await store(documents, SAMPLE_COLLECTION, request, quotas=False)
        _sample_ready.add(key)


async def _embed_with_progress(chunks: list[Chunk], model: str, request, report: Progress) -> np.ndarray:
    """One metered `embed` of every chunk (its batches stay in flight back to back), reporting as each returns."""
    texts = [piece.text for piece in chunks]
    done = 0

    def batch_back(size: int) -> None:
        nonlocal done
        done += size
        report(0.9 * done / len(texts), f"Embedding chunks: {done:,} of {len(texts):,}")

    report(0.0, f"Embedding chunks: 0 of {len(texts):,}")
    # The chunks were counted by the model's tokenizer as they were cut: their sum is the call's tokens, no need
    # to count every text again (cost_of would, and that took most of the app's time around the network).
    upper = estimate(model, input_tokens=sum(piece.tokens for piece in chunks))
    async with metered(request, "add_documents", EMBEDDINGS, upper) as meter:
        vectors = await embed(texts, model, on_batch=batch_back)
        meter.record()
    return vectors


async def _existing_index(model: str):
    """The index for `model` if one can be opened without knowing its dimensions (the embedded store for a model
    already used, or the configured Vectorize index); None before the first document."""
    try:
        return await document_index(model, None)
    except LookupError:
        return None


def _check_quotas(documents: list[Document], new_chunks: int, stored_chunks: int, stored_documents) -> None:
    names = {name for name, _ in (stored_documents or [])}
    if len(names | {document.name for document in documents}) > MAX_FILES:
        raise InputProblem(f"A collection holds at most {MAX_FILES} documents: delete some, or start a new one.")
    if stored_chunks + new_chunks > MAX_CHUNKS:
        raise InputProblem(f"A collection holds at most {MAX_CHUNKS:,} chunks and these documents would bring it to "
                           f"{stored_chunks + new_chunks:,}: add fewer or shorter documents.")


def _unique(chunks: list[Chunk]) -> list[Chunk]:
    seen: dict[str, Chunk] = {}
    for piece in chunks:
        seen.setdefault(piece.id, piece)
    return list(seen.values())


_sample_locks: dict[str, asyncio.Lock] = {}
_sample_ready: set[tuple[str, str]] = set()  # (backend, model) whose sample collection is stored


def _sample_lock() -> asyncio.Lock:
    """One sample indexing at a time per backend (a lock belongs to one event loop: made on first use)."""
    backend = shared_client().settings.backend
    return _sample_locks.setdefault(backend, asyncio.Lock())

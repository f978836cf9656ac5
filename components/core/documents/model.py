"""The documents feature's plain data: what extraction gives, what is indexed, what a search finds.

Every part of components/core/documents speaks these types: extract.py makes Documents, chunking.py Chunks, an
Index (index.py) stores Chunks with their vectors in a collection and answers Matches.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from ..errors import InputProblem

MAX_ID_BYTES = 64  # Vectorize's limit for vector ids and namespaces; the embedded index keeps the same rule
COLLECTION_PREFIX = "c_"
_COLLECTION = re.compile(r"c_[A-Za-z0-9_-]{22,40}")  # what new_collection() makes: unguessable, never a path
SAMPLE_COLLECTION = "c_sample_collection_read_only"  # the collection shipped in assets/: anyone may ask, nobody writes


@dataclass(frozen=True)
class Page:
    number: int  # 1-based; a file without pages is one page
    text: str
    # Where sections the file itself names begin on this page: (offset in `text`, title), by offset — a PDF's
    # bookmarks (extract.py). Markdown and HTML headings stay in the text as `#` lines instead.
    headings: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Document:
    name: str  # the file name as uploaded (shown, never used as a path), or "Pasted text"
    kind: str  # "pdf", "markdown", "text" or "html"
    pages: tuple[Page, ...]
    size_bytes: int = 0


@dataclass(frozen=True)
class Chunk:
    id: str  # ≤ 64 bytes, from the text alone: identical chunks get one id and are stored once
    document: str
    page: int
    heading: str  # the nearest heading above the chunk ("" if none)
    text: str
    tokens: int  # by the embedding model's tokenizer (an upper bound when it is not available)


@dataclass(frozen=True)
class Match:
    id: str
    score: float  # cosine similarity, −1..1, higher is closer
    document: str
    page: int
    heading: str
    text: str
    extra: dict = field(default_factory=dict)


def new_collection() -> str:
    """An unguessable collection id (~128 bits): whoever holds it can read and delete that collection."""
    return COLLECTION_PREFIX + secrets.token_urlsafe(16)


def check_collection(value: str | None) -> str:
    """The collection id as given, or InputProblem: only ids of new_collection()'s shape are accepted (no paths,
    no other visitor's guessable name)."""
    value = (value or "").strip()
    if not _COLLECTION.fullmatch(value):
        raise InputProblem("That is not a collection id of this app (they look like c_ followed by 22 letters, "
                           "digits, - or _): use the one add_documents returned.")
    return value

"""Text embeddings: the one `embed`, what it costs, and the two Embeddings tools' checks and sums, without a page.

`embed` respects the bge contract (≤ 100 texts per request), never pays twice for the same text, checks every
answer, and hands back unit-length rows so a dot product is the cosine similarity. The Embeddings tab
(components/tabs/embeddings.py) and the routing judge (core/routing/judge.py) both embed through it.

The tools' functions return plain data (texts, vectors, matrices, ranked rows); the tab draws the pictures and
tables. `request` is whatever the caller has (a gradio.Request in the app): metering reads its headers and client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..workers_ai import EMBEDDINGS, Estimate, ProtocolError, estimate
from .backend import shared_client
from .errors import InputProblem
from .tokens import embedding_tokens
from .usage import metered

BATCH_SIZE = 100  # the bge models take at most 100 texts per request (400 / 5006 beyond)
PARALLEL_BATCHES = 4  # enough to hide latency for a 1,000-line corpus without bursting the rate limit
MAX_SIMILARITY = 100  # a 100 × 100 heatmap is the most anyone can still read
MAX_CORPUS = 1000  # ten requests: a demo corpus, not an index (that is Vectorize's job)


# ── embedding ───────────────────────────────────────────────────────────────────────────────


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Each vector (the last axis) scaled to unit length; an all-zero vector stays zero."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


async def embed(texts: list[str], model: str, on_batch: Callable[[int], object] | None = None) -> np.ndarray:
    """Embed `texts` with `model`: one L2-normalised row per text, in the order given.

    Identical texts are sent once (neurons cost money), batches of ≤ 100 go out a few at a time,
    and every answer is checked, so a wrong model or a broken reply fails with a clear message
    (a ProtocolError) instead of a numpy error three calls later. Not metered: see `metered_embed`.
    `on_batch(n)` is called as each batch of n distinct texts comes back (a progress bar).
    """
    unique = list(dict.fromkeys(texts))
    if not unique:
        return np.zeros((0, 0))
    batches = [unique[start : start + BATCH_SIZE] for start in range(0, len(unique), BATCH_SIZE)]
    gate = asyncio.Semaphore(PARALLEL_BATCHES)  # per call: a semaphore belongs to one event loop

    async def run(batch: list[str]) -> np.ndarray:
        async with gate:
            result = await shared_client().run(model, {"text": batch})
        vectors = _vectors(result, len(batch), model)
        if on_batch is not None:
            on_batch(len(batch))
        return vectors

    parts = await asyncio.gather(*(run(batch) for batch in batches))
    if len({part.shape[1] for part in parts}) > 1:
        raise ProtocolError(f"The model {model} returned vectors of different sizes in one run: try again.")
    vectors = normalise(np.concatenate(parts))
    row_of = {text: row for row, text in enumerate(unique)}
    return vectors[[row_of[text] for text in texts]]


def cost_of(texts: list[str], model: str) -> Estimate:
    """What `embed(texts, model)` costs. Workers AI reports no token counts for embeddings, so they are counted
    (or bounded: core/tokens.py) over the texts actually sent (each distinct text once)."""
    return estimate(model, input_tokens=embedding_tokens(dict.fromkeys(texts), model))


async def metered_embed(texts: list[str], model: str, action: str, request=None) -> np.ndarray:
    """`embed`, refused before any request when a budget cannot cover it, and counted in the ledger."""
    async with metered(request, action, EMBEDDINGS, cost_of(texts, model)) as meter:
        vectors = await embed(texts, model)
        meter.record()
    return vectors


def _vectors(result, expected: int, model: str) -> np.ndarray:
    """The `data` of a bge answer as an (expected, D) float array, or a ProtocolError saying what is wrong."""
    data = result.get("data") if isinstance(result, dict) else None
    if not isinstance(data, list):
        raise ProtocolError(f"The model {model} did not return embeddings: pick a text-embeddings model from the list.")
    try:
        vectors = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        raise _unusable(model, expected, "rows of different lengths or values that are not numbers") from None
    if vectors.ndim != 2 or vectors.shape[0] != expected or vectors.shape[1] == 0:
        raise _unusable(model, expected, f"an array of shape {list(vectors.shape)}")
    declared = result.get("shape")
    if declared is not None and declared != list(vectors.shape):
        raise _unusable(model, expected, f"data of shape {list(vectors.shape)} labelled {declared}")
    if not np.isfinite(vectors).all():
        raise _unusable(model, expected, "values that are not finite numbers")
    return vectors


def _unusable(model: str, expected: int, found: str) -> ProtocolError:
    return ProtocolError(
        f"The model {model} returned unusable embeddings (expected {expected} vectors, got {found}): "
        "try again or pick another model."
    )


def lines(text: str | None) -> list[str]:
    """One entry per non-blank line, stripped: what a person pasting a list means."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of L2-normalised rows, clipped so rounding never shows 1.0000001."""
    return np.clip(vectors @ vectors.T, -1.0, 1.0)


# ── similarity ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Similarity:
    """Sentences compared: the texts, their unit vectors (one row each) and the pairwise cosine matrix."""

    texts: list[str]
    vectors: np.ndarray
    matrix: np.ndarray


def sentences_to_compare(sentences: str | None) -> list[str]:
    """The sentences of a pasted list, or InputProblem when there are fewer than 2 or more than MAX_SIMILARITY."""
    texts = lines(sentences)
    if len(texts) < 2:
        raise InputProblem("Enter at least two sentences, one per line, to compare.")
    if len(texts) > MAX_SIMILARITY:
        raise InputProblem(
            f"Compare at most {MAX_SIMILARITY} sentences at once; {len(texts):,} were given. "
            "Use the semantic search below for larger collections."
        )
    return texts


async def compare(texts: list[str], model: str, request=None, action: str = "similarity") -> Similarity:
    """Embed checked sentences (metered as `action`) and compare every pair."""
    vectors = await metered_embed(texts, model, action, request)
    return Similarity(texts, vectors, cosine_matrix(vectors))


# ── search ──────────────────────────────────────────────────────────────────────────────────


def search_inputs(query: str | None, corpus: str | None) -> tuple[str, list[str]]:
    """The stripped query and the documents of a corpus (one per line), or InputProblem saying what is missing."""
    query = (query or "").strip()
    if not query:
        raise InputProblem("Enter a query to search for.")
    documents = lines(corpus)
    if not documents:
        raise InputProblem("Enter at least one document to search, one per line.")
    if len(documents) > MAX_CORPUS:
        raise InputProblem(
            f"Search at most {MAX_CORPUS:,} documents at once; the corpus has {len(documents):,} lines."
        )
    return query, documents


async def rank(query: str, documents: list[str], top_k: int | float | None, model: str, request=None,
               action: str = "search") -> list[tuple[int, float, str]]:
    """The `top_k` documents closest in meaning to `query` (clamped to 1 … the number of documents), best first,
    as (rank, score, text) rows: rank 1 is best, score is the cosine to the query rounded to 3 decimals.

    Query and documents go out in one `embed` (metered as `action`); ties keep the documents' order."""
    vectors = await metered_embed([query, *documents], model, action, request)
    scores = vectors[1:] @ vectors[0]
    k = min(max(int(top_k or 1), 1), len(documents))
    best = np.argsort(-scores, kind="stable")[:k]
    return list(zip(range(1, k + 1), scores[best].round(3).tolist(), (documents[i] for i in best)))

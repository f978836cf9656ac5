"""The Embeddings tab: compare sentences (heatmap, 2-D map, matrix) and search a small corpus by meaning.

Everything goes through `embed`, which respects the bge contract (≤ 100 texts per request), never pays
twice for the same text, and hands back unit-length rows so a dot product is the cosine similarity.
"""

from __future__ import annotations

import asyncio

import gradio as gr
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..ui.how_it_works import panel
from ..ui.panels import after_answer, cost_line, notice
from ..ui.embedding_plots import cosine_matrix, heatmap_figure, map_figure, short_labels
from ..core.errors import InputProblem
from ..ui.common import announce_loading, concurrency_limit, friendly_errors, model_dropdown
from ..core.backend import default_model, model_or_default, shared_client
from ..core.usage import metered
from ..core.tokens import embedding_tokens
from ..workers_ai import EMBEDDINGS, Estimate, ProtocolError, estimate

BATCH_SIZE = 100  # the bge models take at most 100 texts per request (400 / 5006 beyond)
PARALLEL_BATCHES = 4  # enough to hide latency for a 1,000-line corpus without bursting the rate limit
MAX_SIMILARITY = 100  # a 100 × 100 heatmap is the most anyone can still read
MAX_CORPUS = 1000  # ten requests: a demo corpus, not an index (that is Vectorize's job)
DEFAULT_MODEL = default_model(EMBEDDINGS)


# ── embedding ───────────────────────────────────────────────────────────────────────────────


async def embed(texts: list[str], model: str) -> np.ndarray:
    """Embed `texts` with `model`: one L2-normalised row per text, in the order given.

    Identical texts are sent once (neurons cost money), batches of ≤ 100 go out a few at a time,
    and every answer is checked, so a wrong model or a broken reply fails with a clear message
    instead of a numpy error three calls later.
    """
    unique = list(dict.fromkeys(texts))
    if not unique:
        return np.zeros((0, 0))
    batches = [unique[start : start + BATCH_SIZE] for start in range(0, len(unique), BATCH_SIZE)]
    gate = asyncio.Semaphore(PARALLEL_BATCHES)  # per call: a semaphore belongs to one event loop

    async def run(batch: list[str]) -> np.ndarray:
        async with gate:
            result = await shared_client().run(model, {"text": batch})
        return _vectors(result, len(batch), model)

    parts = await asyncio.gather(*(run(batch) for batch in batches))
    if len({part.shape[1] for part in parts}) > 1:
        raise ProtocolError(f"The model {model} returned vectors of different sizes in one run: try again.")
    vectors = np.concatenate(parts)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    row_of = {text: row for row, text in enumerate(unique)}
    return vectors[[row_of[text] for text in texts]]


def cost_of(texts: list[str], model: str) -> Estimate:
    """What `embed(texts, model)` costs. Workers AI reports no token counts for embeddings, so they are counted
    (or bounded: components/tokens.py) over the texts actually sent (each distinct text once)."""
    return estimate(model, input_tokens=embedding_tokens(dict.fromkeys(texts), model))


async def metered_embed(texts: list[str], model: str, action: str, request: gr.Request | None) -> np.ndarray:
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


def _lines(text: str | None) -> list[str]:
    """One entry per non-blank line, stripped: what a person pasting a list means."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# ── the two endpoints (also the public API and MCP tools: the docstrings are their descriptions) ──


@friendly_errors
async def similarity(
    sentences: str,
    model: str = DEFAULT_MODEL,
    progress: gr.Progress = gr.Progress(),
    request: gr.Request | None = None,
) -> tuple[go.Figure, go.Figure, pd.DataFrame]:
    """Compare sentences by meaning with Workers AI text embeddings (cosine similarity).

    Args:
        sentences: Two to 100 sentences, one per line. Blank lines are ignored and whitespace is stripped.
        model: A Workers AI text-embeddings model id, e.g. @cf/baai/bge-base-en-v1.5.

    Returns:
        a heatmap of the pairwise cosine similarities (a Plotly figure)
        a 2-D map of the sentences: their embeddings' first two principal components (a Plotly figure)
        the similarity matrix as a table whose first column, `sentence`, names the rows (cosines, 1.0 = same meaning)
    """
    texts = _lines(sentences)
    if len(texts) < 2:
        raise InputProblem("Enter at least two sentences, one per line, to compare.")
    if len(texts) > MAX_SIMILARITY:
        raise InputProblem(
            f"Compare at most {MAX_SIMILARITY} sentences at once; {len(texts):,} were given. "
            "Use the semantic search below for larger collections."
        )
    model = model_or_default(model, EMBEDDINGS)
    announce_loading(model, progress)
    vectors = await metered_embed(texts, model, "similarity", request)
    matrix = cosine_matrix(vectors)
    labels = short_labels(texts, reserved=("sentence",))
    table = pd.DataFrame(matrix.round(3), columns=labels)
    table.insert(0, "sentence", labels)
    return heatmap_figure(matrix, texts, labels), map_figure(vectors, texts, labels), table


@friendly_errors
async def search(
    query: str,
    corpus: str,
    top_k: int = 5,
    model: str = DEFAULT_MODEL,
    progress: gr.Progress = gr.Progress(),
    request: gr.Request | None = None,
) -> pd.DataFrame:
    """Semantic search with Workers AI text embeddings: rank documents by how close their meaning is to a query.

    Args:
        query: What to look for, in plain words.
        corpus: The documents to search, one per line (up to 1,000). Blank lines are ignored.
        top_k: How many of the best matches to return, 1 to 20 (at most the number of documents).
        model: A Workers AI text-embeddings model id, e.g. @cf/baai/bge-base-en-v1.5.

    Returns:
        A table of the matches, best first: `rank` (1 = best), `score` (cosine to the query) and `text`.
    """
    query = (query or "").strip()
    if not query:
        raise InputProblem("Enter a query to search for.")
    documents = _lines(corpus)
    if not documents:
        raise InputProblem("Enter at least one document to search, one per line.")
    if len(documents) > MAX_CORPUS:
        raise InputProblem(
            f"Search at most {MAX_CORPUS:,} documents at once; the corpus has {len(documents):,} lines."
        )
    model = model_or_default(model, EMBEDDINGS)
    announce_loading(model, progress)
    vectors = await metered_embed([query, *documents], model, "search", request)
    scores = vectors[1:] @ vectors[0]
    k = min(max(int(top_k or 1), 1), len(documents))
    best = np.argsort(-scores, kind="stable")[:k]
    return pd.DataFrame(
        {
            "rank": np.arange(1, k + 1),
            "score": scores[best].round(3),
            "text": [documents[i] for i in best],
        }
    )


# ── the tab ─────────────────────────────────────────────────────────────────────────────────

EXAMPLE_SENTENCES = "\n".join(
    [
        "A man is playing a guitar on stage.",
        "Someone performs a song on the guitar at a concert.",
        "The stock market fell sharply this morning.",
        "Share prices dropped steeply early today.",
        "My cat likes to sleep on the warm windowsill.",
    ]
)
MORE_SENTENCES = {
    "Python: language or snake?": "\n".join(
        [
            "Python is a popular programming language.",
            "Many developers write their code in Python.",
            "Pythons are large snakes found in Asia and Africa.",
            "The boa constrictor is a heavy-bodied snake.",
        ]
    ),
    "Support questions": "\n".join(
        [
            "How do I reset my password?",
            "I forgot my login credentials and cannot sign in.",
            "What time does the store open on Sundays?",
            "When are you open at the weekend?",
            "The weather will be sunny tomorrow.",
        ]
    ),
}
EXAMPLE_CORPUS = "\n".join(
    [
        "Workers AI runs machine learning models on Cloudflare's global network.",
        "The Eiffel Tower is 330 metres tall and stands in Paris.",
        "To bake bread you need flour, water, salt and yeast.",
        "Vector databases store embeddings for fast similarity search.",
        "The Great Barrier Reef is the largest coral reef system in the world.",
        "Regular exercise improves heart health and mood.",
        "Python's asyncio library runs many network calls concurrently.",
        "A solar eclipse happens when the Moon passes between the Sun and the Earth.",
    ]
)
EXAMPLE_QUERIES = [
    "How tall is the famous tower in Paris?",
    "Where is the biggest coral reef?",
    "How can I run AI models close to my users?",
    "What do I need to make bread?",
    "Why is it good to work out?",
]
MODEL_INFO = (
    "bge-small: 384 dimensions, fastest · bge-base: 768, balanced · bge-large: 1024, most accurate. "
    "Any Workers AI text-embeddings model id works."
)


def render(meter: gr.HTML | None = None) -> list[tuple[str, gr.Dropdown]]:
    """Build the tab inside the current Blocks/Tab context, each answer refreshing the header `meter` (if
    given); return its model dropdown for catalogue refreshes."""
    notice()
    gr.Markdown(
        "Embeddings turn text into vectors whose directions encode meaning: sentences that say the same thing "
        "point the same way, even with different words. One model serves both tools below."
    )
    model = model_dropdown(EMBEDDINGS, label="Embedding model", info=MODEL_INFO)

    gr.Markdown("### Similarity\nHow close in meaning is every pair of sentences? Up to "
                f"{MAX_SIMILARITY} sentences; hover a cell to read the full pair.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            sentences = gr.Textbox(
                value=EXAMPLE_SENTENCES,
                lines=6,
                max_lines=20,
                label="Sentences",
                info="One per line; blank lines are ignored.",
            )
            compare = gr.Button("Compare", variant="primary")
            gr.Examples(
                examples=[[EXAMPLE_SENTENCES], *([text] for text in MORE_SENTENCES.values())],
                example_labels=["Two paraphrase pairs", *MORE_SENTENCES],
                inputs=[sentences],
                label="Example sets",
            )
        with gr.Column(scale=3, min_width=360):
            heatmap = gr.Plot(label="Similarity heatmap", show_label=False)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            sentence_map = gr.Plot(label="Sentence map", show_label=False)
        with gr.Column(scale=1, min_width=320):
            matrix = gr.Dataframe(
                label="Similarity matrix (cosine, 3 decimals)",
                interactive=False,
                pinned_columns=1,
                max_height=460,
                buttons=["copy", "fullscreen"],
            )
            similarity_cost = cost_line()

    gr.Markdown(f"### Semantic search\nRank documents by meaning, not keywords: one document per line, "
                f"up to {MAX_CORPUS:,}.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            query = gr.Textbox(label="Query", placeholder="Ask something the documents answer…",
                               value=EXAMPLE_QUERIES[0])
            corpus = gr.Textbox(value=EXAMPLE_CORPUS, lines=8, max_lines=20, label="Documents",
                                info="One per line; blank lines are ignored.")
            top_k = gr.Slider(1, 20, value=3, step=1, label="Results", info="How many of the best matches to show.")
            search_btn = gr.Button("Search", variant="primary")
            gr.Examples(examples=[[q] for q in EXAMPLE_QUERIES], inputs=[query], label="Example queries")
        with gr.Column(scale=3, min_width=360):
            results = gr.Dataframe(
                headers=["rank", "score", "text"],
                label="Best matches",
                interactive=False,
                wrap=True,
                column_widths=["12%", "14%", "74%"],
                buttons=["copy"],
            )
            search_cost = cost_line()

    requests = panel("embeddings")
    compared = compare.click(similarity, [sentences, model], [heatmap, sentence_map, matrix],
                             api_name="similarity", concurrency_limit=concurrency_limit())
    after_answer(compared.then, "similarity", cost=similarity_cost, requests=requests, meter=meter)
    searched = search_btn.click(search, [query, corpus, top_k, model], [results], api_name="search",
                                concurrency_limit=concurrency_limit())
    after_answer(searched.then, "search", cost=search_cost, requests=requests, meter=meter)
    return [(EMBEDDINGS, model)]

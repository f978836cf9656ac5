"""The Embeddings tab: compare sentences (heatmap, 2-D map, matrix) and search a small corpus by meaning.

The checks, the embedding and the sums live in components/core/embeddings.py (the one `embed`, metered); this
module is the page and the two public endpoints, which turn core's plain data into figures and tables.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from ..core import embeddings as core
from ..core.backend import model_or_default
from ..core.embeddings import MAX_CORPUS, MAX_SIMILARITY
from ..ui.embedding_plots import heatmap_figure, map_figure, short_labels
from ..ui.endpoints import concurrency_limit
from ..ui.errors import friendly_errors, user_error
from ..ui.first_click import announce_loading, answer, model_notice, on_example
from ..ui.how_it_works import panel
from ..ui.models import model_dropdown
from ..ui.panels import after_answer, cost_line, notice
from ..workers_ai import EMBEDDINGS

# ── the two endpoints (also the public API and MCP tools: the docstrings are their descriptions) ──
# A blank `model` is the live backend's default (model_or_default, at call time); the API and MCP schemas take
# their defaults from the model dropdown's value, not from these signatures.


@friendly_errors
async def similarity(
    sentences: str,
    model: str = "",
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
    texts = core.sentences_to_compare(sentences)
    model = model_or_default(model, EMBEDDINGS)
    announce_loading(model, progress)
    compared = await core.compare(texts, model, request)
    labels = short_labels(texts, reserved=("sentence",))
    table = pd.DataFrame(compared.matrix.round(3), columns=labels)
    table.insert(0, "sentence", labels)
    return heatmap_figure(compared.matrix, texts, labels), map_figure(compared.vectors, texts, labels), table


@friendly_errors
async def search(
    query: str,
    corpus: str,
    top_k: int = 5,
    model: str = "",
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
    query, documents = core.search_inputs(query, corpus)
    model = model_or_default(model, EMBEDDINGS)
    announce_loading(model, progress)
    rows = await core.rank(query, documents, top_k, model, request)
    return pd.DataFrame(rows, columns=["rank", "score", "text"])


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
FIRST_TOP_K = 3  # the Results slider's starting value


# ── one click, one result: the first result on opening the tab, and examples that run when clicked ──────────
# The answers to the example inputs are kept per backend and model (core/first_results.py): the first visitor's
# call is metered like any other, later ones reuse it and send nothing.


def _similarity_key(sentences: str, model: str):
    return ("similarity", model, sentences) if sentences in (EXAMPLE_SENTENCES, *MORE_SENTENCES.values()) else None


def _search_key(query: str, corpus: str, top_k, model: str):
    if query in EXAMPLE_QUERIES and corpus == EXAMPLE_CORPUS:
        return "search", model, query, int(top_k or 1)
    return None


async def _compared(sentences, model, progress, request) -> tuple:
    figures, cost, requests = await answer(_similarity_key(sentences, model),
                                           lambda: similarity(sentences, model, progress, request),
                                           "similarity", request, "Compare")
    return *figures, cost, requests


async def _searched(query, corpus, top_k, model, progress, request) -> tuple:
    return await answer(_search_key(query, corpus, top_k, model),
                        lambda: search(query, corpus, top_k, model, progress, request), "search", request, "Search")


@friendly_errors
async def _compare_example(sentences: str, model: str, progress: gr.Progress = gr.Progress(),
                           request: gr.Request | None = None):
    """An example set clicked: its heatmap, map and matrix at once."""
    return await _compared(sentences, model_or_default(model, EMBEDDINGS), progress, request)


@friendly_errors
async def _search_example(query: str, corpus: str, top_k: int, model: str, progress: gr.Progress = gr.Progress(),
                          request: gr.Request | None = None):
    """An example query clicked: its best matches at once."""
    return await _searched(query, corpus, top_k, model_or_default(model, EMBEDDINGS), progress, request)


async def _first_result(shown: bool, model: str, request: gr.Request | None = None):
    """On opening the tab (once per page): the example sentences compared and the first example query searched,
    as if both buttons had been pressed. A failure (a budget, an unknown model) is a sentence in the cost line, not
    a dialog: the visitor only opened a tab."""
    if shown:
        return (gr.skip(),) * 8
    try:
        model = model_or_default(model, EMBEDDINGS)
        heatmap, sentence_map, matrix, cost, requests = await _compared(EXAMPLE_SENTENCES, model, None, request)
        rows, search_cost, _ = await _searched(EXAMPLE_QUERIES[0], EXAMPLE_CORPUS, FIRST_TOP_K, model, None, request)
    except Exception as exc:
        return False, gr.skip(), gr.skip(), gr.skip(), user_error(exc).message, gr.skip(), gr.skip(), gr.skip()
    return True, heatmap, sentence_map, matrix, cost, rows, search_cost, requests


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
    opened = model_notice(model)

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
            sentence_examples = gr.Examples(
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
            top_k = gr.Slider(1, 20, value=FIRST_TOP_K, step=1, label="Results", info="How many of the best matches to show.")
            search_btn = gr.Button("Search", variant="primary")
            query_examples = gr.Examples(examples=[[q] for q in EXAMPLE_QUERIES], inputs=[query],
                                         label="Example queries")
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

    on_example(sentence_examples, _compare_example, [sentences, model], [heatmap, sentence_map, matrix],
               action="similarity", cost=similarity_cost, requests=requests, meter=meter)
    on_example(query_examples, _search_example, [query, corpus, top_k, model], [results], action="search",
               cost=search_cost, requests=requests, meter=meter)
    if opened is not None:  # rendered in a tab: its first result when it is opened
        shown = gr.State(False)
        first = opened.then(_first_result, [shown, model],
                            [shown, heatmap, sentence_map, matrix, similarity_cost, results, search_cost, requests],
                            api_visibility="private", queue=False, show_progress="hidden")
        after_answer(first.then, "similarity", meter=meter)
    return [(EMBEDDINGS, model)]

"""The Documents tab: add PDFs, Markdown, text or HTML to a private collection, ask, and read a cited answer.

The work is components/core/documents (extraction, chunking, the index, the answer); this module has the page and
the public endpoints `add_documents`, `ask_documents`, `search_documents` and `delete_documents`. A page visitor's
collection id lives in their browser (gr.BrowserState, encrypted), so a reload keeps their documents; API and MCP
callers get the id back from `add_documents` and pass it to the others: nothing depends on a server-side session.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..core.conversation import DEFAULT_MAX_TOKENS, ERROR_PREFIX
from ..core.documents import answer as answers
from ..core.documents import extract, ingest
from ..core.documents.model import SAMPLE_COLLECTION
from ..core.errors import InputProblem
from ..core.usage import session_key
from ..ui.endpoints import concurrency_limit
from ..ui.errors import friendly_errors, user_error
from ..ui.how_it_works import panel
from ..ui.models import model_dropdown
from ..ui.panels import after_answer, cost_line, notice
from ..ui.uploads import fetch_links_capped
from ..workers_ai import CHAT, capture

SAMPLE, MINE = "Sample collection", "My documents"
FILE_TYPES = list(extract.KINDS)  # what the reader reads
EXAMPLE_QUESTIONS = [  # over the sample collection (assets/documents)
    "How many days of paid annual leave does a full-time employee at Lumen & Oak get?",
    "Are recordings of three hours and pictures of 25 MB accepted by the app?",
    "What gave Smeaton the idea for the shape of his lighthouse?",
    "Why does the Brava show error E3, and how is it fixed?",
]
PASSAGE_CHARS = 600  # of each source shown on the page (the API returns the whole passage)
PAGE_ANSWER = "documents-answer"  # the page's whole answer (embedding, Vectorize, judge, model) in How it works


class DocumentFiles(gr.File):
    """gr.File whose files named by link (what MCP clients send) are fetched up to the size one file may have.
    `is_template` keeps the browser using the File component."""

    is_template = True
    link_limit = extract.MAX_FILE_BYTES  # a linked file larger than one file may be is never fetched whole
    async_move_resource_to_block_cache = fetch_links_capped


def _files(files) -> list[tuple[str, str]]:
    """(path, name as uploaded) for each file: Gradio keeps the uploaded name as the cached file's name."""
    paths = [files] if isinstance(files, str) else list(files or [])
    return [(str(path), Path(str(path)).name) for path in paths]


def _counts(documents: list[tuple[str, int]]) -> str:
    if not documents:
        return "*No documents yet: upload some, or ask the sample collection.*"
    return "\n".join(f"- **{name}** · {chunks:,} chunks" for name, chunks in documents)


def sources_markdown(sources: list[answers.Source]) -> str:
    """The sources panel: each passage with its document, page, heading and score."""
    if not sources:
        return ""
    blocks = []
    for source in sources:
        passage = source.passage if len(source.passage) <= PASSAGE_CHARS else source.passage[:PASSAGE_CHARS] + " …"
        heading = f" — {source.heading}" if source.heading else ""
        lines = [line for line in passage.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        quoted = "\n".join("> " + line for line in lines)  # the heading is named above the passage
        blocks.append(f"**[{source.number}] {source.document}**, page {source.page}{heading} · "
                      f"score {source.score:.2f}\n{quoted}")
    return "\n\n".join(blocks)


# ── the public endpoints (API and MCP: their docstrings are the tools' descriptions) ──────────────


@friendly_errors
async def add_documents(files: list[str] | None, text: str = "", collection: str = "",
                        progress: gr.Progress = gr.Progress(), request: gr.Request | None = None) -> dict:
    """Add documents to a private collection for asking questions: PDF, Markdown, plain text or HTML files, or text.

    Args:
        files: The documents (PDF, .md, .txt, .html; up to 20 files and 50 MB per collection).
        text: Text to add as a document of its own (optional).
        collection: The collection id an earlier call returned, to add to it; empty to start a new collection.

    Returns:
        collection (the id to pass to ask_documents, search_documents and delete_documents: keep it private, it is
        the key to these documents), documents added, chunks added, chunks already stored, chunks in the collection.
    """
    added = await ingest.add(_files(files), text, collection, request,
                             on_progress=lambda fraction, what: progress(fraction, desc=what))
    return added.to_dict()


@friendly_errors
async def ask_documents(question: str, collection: str = "", model: str = "", top_k: float = answers.TOP_K,
                        auto_route: bool = False, request: gr.Request | None = None):
    """Ask a question about a collection of documents; the answer cites its sources as [1], [2]… (streamed).

    Args:
        question: What to ask.
        collection: The collection id add_documents returned; empty to ask the sample collection.
        model: Any Workers AI text-generation model id, e.g. "@cf/meta/llama-3.1-8b-instruct-fast"; empty for the default.
        top_k: How many passages to retrieve, 1-20.
        auto_route: True to let a judge send hard questions to a larger model (with the same passages).

    Returns:
        The answer (cumulative while streaming).
        The sources: a JSON list of {number, document, page, heading, score, passage}, the passages [n] refers to.
    """
    async for reply, sources, _line, _cost in answers.ask(question, collection, model, top_k, DEFAULT_MAX_TOKENS,
                                                          auto_route=bool(auto_route), request=request):
        yield reply, [source.to_dict() for source in sources]


@friendly_errors
async def search_documents(query: str, collection: str = "", top_k: float = answers.TOP_K,
                           request: gr.Request | None = None) -> list[dict]:
    """Search a collection of documents by meaning: the passages closest to a query, best first.

    Args:
        query: What to look for, in plain words.
        collection: The collection id add_documents returned; empty to search the sample collection.
        top_k: How many passages to return, 1-20.

    Returns:
        A JSON list of {number, document, page, heading, score (cosine, higher is closer), passage}.
    """
    return [source.to_dict() for source in await answers.search(query, collection, top_k, request)]


@friendly_errors
async def delete_documents(collection: str, request: gr.Request | None = None) -> dict:
    """Delete a collection: every passage and vector of its documents is removed.

    Args:
        collection: The collection id add_documents returned.

    Returns:
        collection, and chunks_deleted.
    """
    return {"collection": collection, "chunks_deleted": await answers.delete(collection)}


# ── the page ──────────────────────────────────────────────────────────────────────────────────


async def _page_add(files, text, mine, progress=gr.Progress(), request: gr.Request = None):
    added = await add_documents(files, text, mine or "", progress, request)
    documents = await answers.documents(added["collection"])
    summary = (f"Added {', '.join(added['documents'])}: {added['chunks_added']:,} new chunks"
               + (f" ({added['chunks_already_stored']:,} already stored)" if added["chunks_already_stored"] else "")
               + ".")
    return added["collection"], _counts(documents), gr.update(value=MINE), None, "", summary


async def _page_ask(question, which, mine, model, auto_route, request: gr.Request = None):
    collection = SAMPLE_COLLECTION if which == SAMPLE else mine
    if which == MINE and not mine:
        yield "Add a document first (or ask the sample collection).", "", "", ""
        return
    reply, sources = "", []
    try:
        with capture((session_key(request), PAGE_ANSWER)):  # every request of the answer, for How it works
            async for reply, sources, line, cost in answers.ask(question, collection, model, answers.TOP_K,
                                                                DEFAULT_MAX_TOKENS, auto_route=bool(auto_route),
                                                                request=request):
                yield reply, line, cost, sources_markdown(sources)
    except Exception as exc:
        notice = ERROR_PREFIX + user_error(exc).message
        yield (reply + "\n\n" if reply else "") + notice, "", "", sources_markdown(sources)


async def _example_ask(question, mine, model, auto_route, request: gr.Request = None):
    """An example question clicked: asked of the sample collection at once (the examples are about it)."""
    async for outputs in _page_ask(question, SAMPLE, mine, model, auto_route, request):
        yield SAMPLE, *outputs


async def _page_delete(mine, request: gr.Request = None):
    if not mine:
        return None, _counts([]), "Nothing to delete."
    deleted = await answers.delete(mine)
    return None, _counts([]), f"Deleted your documents ({deleted:,} chunks)."


async def _page_load(mine):
    try:
        return _counts(await answers.documents(mine)) if mine else _counts([])
    except InputProblem:  # an id from another deployment's browser storage
        return _counts([])


def render(meter: gr.HTML | None = None, page: gr.Blocks | None = None) -> list[tuple[str, gr.Dropdown]]:
    """The Documents tab; each answer refreshes the header `meter` (if given), and opening the `page` lists the
    visitor's documents. Returns its model dropdown."""
    notice()
    mine = gr.BrowserState(None, storage_key="showcase-documents-collection")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            gr.Markdown("### Your documents\nPDF, Markdown, text or HTML. They go into a private collection that "
                        "only this browser (or whoever holds its id) can read.")
            files = DocumentFiles(file_count="multiple", file_types=FILE_TYPES, type="filepath", label="Files",
                                  elem_id="documents-files")
            text = gr.Textbox(label="Or paste text", lines=3, max_lines=8)
            add = gr.Button("Add to my documents", variant="primary", elem_id="documents-add")
            status = gr.Markdown(elem_id="documents-status")
            listing = gr.Markdown(_counts([]), elem_id="documents-list")
            delete = gr.Button("Delete my documents", variant="stop", size="sm")
        with gr.Column(scale=3, min_width=360):
            which = gr.Radio([SAMPLE, MINE], value=SAMPLE, label="Ask", elem_id="documents-which",
                             info="The sample collection (a staff handbook, a guide to this app, a lighthouse's "
                                  "history, a bakery manual, a coffee machine's care guide) is ready to ask; your "
                                  "documents once added.")
            question = gr.Textbox(label="Question", placeholder="Ask something the documents answer…",
                                  elem_id="documents-question")
            with gr.Row():
                model = model_dropdown(CHAT, min_width=260)
                auto_route = gr.Checkbox(False, label="Auto-route", info="A judge sends hard questions to a large "
                                         "model, with the same passages.")
            ask = gr.Button("Ask", variant="primary", elem_id="documents-ask")
            examples = gr.Examples([[q] for q in EXAMPLE_QUESTIONS], inputs=[question],
                                   label="Try a question: one click asks the sample collection")
            reply = gr.Markdown(elem_id="documents-answer", min_height=80)
            line = gr.Markdown(elem_classes="answer-stats")
            cost = cost_line()
            with gr.Accordion("Sources", open=True):
                sources = gr.Markdown(elem_id="documents-sources")
    requests = panel("documents")

    added = add.click(_page_add, [files, text, mine], [mine, listing, which, files, text, status],
                      api_visibility="private", concurrency_limit=concurrency_limit())
    after_answer(added.then, "add_documents", meter=meter)
    for trigger in (ask.click, question.submit):
        asked = trigger(_page_ask, [question, which, mine, model, auto_route], [reply, line, cost, sources],
                        api_visibility="private", concurrency_limit=concurrency_limit())
        after_answer(asked.then, PAGE_ANSWER, requests=requests, meter=meter)
    asked = examples.load_input_event.then(_example_ask, [question, mine, model, auto_route],
                                           [which, reply, line, cost, sources], api_visibility="private",
                                           concurrency_limit=concurrency_limit())
    after_answer(asked.then, PAGE_ANSWER, requests=requests, meter=meter)
    delete.click(_page_delete, [mine], [mine, listing, status], api_visibility="private")
    which.change(_page_load, [mine], listing, api_visibility="private", queue=False, show_progress="hidden")
    if page is not None:  # list the visitor's documents when their page opens (the id is in their browser)
        page.load(_page_load, [mine], listing, api_visibility="private", queue=False, show_progress="hidden")
    _wire_api(model)
    return [(CHAT, model)]


def _wire_api(model: gr.Dropdown) -> None:
    """The four public endpoints, on hidden components (the page uses its own handlers above)."""
    with gr.Group(visible=False):
        files = DocumentFiles(file_count="multiple", type="filepath", label="Files")
        text = gr.Textbox("", label="Text")
        collection = gr.Textbox("", label="Collection")
        question = gr.Textbox(label="Question")
        top_k = gr.Number(answers.TOP_K, label="Top k", minimum=1, maximum=answers.MAX_TOP_K, precision=0)
        auto_route = gr.Checkbox(False, label="Auto-route")
        result = gr.JSON(label="Result")
        reply = gr.Textbox(label="Answer")
        found = gr.JSON(label="Sources")
    hidden = dict(concurrency_limit=concurrency_limit(), show_progress="hidden")
    gr.Button(visible=False).click(add_documents, [files, text, collection], result, api_name="add_documents",
                                   **hidden)
    gr.Button(visible=False).click(ask_documents, [question, collection, model, top_k, auto_route], [reply, found],
                                   api_name="ask_documents", **hidden)
    gr.Button(visible=False).click(search_documents, [question, collection, top_k], found,
                                   api_name="search_documents", **hidden)
    gr.Button(visible=False).click(delete_documents, [collection], result, api_name="delete_documents", **hidden)

"""Asking a collection: embed the question, retrieve the closest chunks, and stream an answer that cites them.

    async for reply, sources, line, cost in ask(question, collection, model, ...):
        ...  # reply: the answer so far; sources: the passages it may cite, [1], [2]…; line: route or statistics;
             # cost: retrieval and generation itemised, once the answer is complete

- Retrieval: the question is embedded with the collection's model (one small metered call) and the index returns
  the TOP_K closest chunks; those scoring below the model's RELEVANCE threshold are dropped. When none is left the
  answer says so, and no chat model is called: the documents do not say, and a model would make something up.
- The answer: the passages, numbered, go to the chat model with an instruction to answer from them only and cite
  them as [1], [2]… (components/core/conversation.py streams and meters it like any chat answer).
- Auto-route: the judge looks at the question alone; a simple one is answered by the edge model, a hard one by the
  escalation target — with the same retrieved passages (components/core/routing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass

from ...workers_ai import CHAT, Estimate, format_usd
from .. import conversation, routing
from ..backend import is_offline, model_or_default
from ..rag_costs import VECTORIZE
from ..embeddings import cost_of, metered_embed
from ..errors import InputProblem
from .index import MAX_TOP_K, clamp_top_k, document_index  # noqa: F401 (MAX_TOP_K: the tab's bound, one number)
from .ingest import embedding_model, ensure_sample
from .model import SAMPLE_COLLECTION, Match, check_collection

TOP_K = 5
MAX_QUESTION_CHARS = 2_000
# Cosine below which a chunk is not taken as relevant, per embedding model, chosen on the labelled question set
# (bench/bench_documents_rag.py): the highest that keeps a passage for every answerable question (their best passage
# scores 0.263 at the lowest with MiniLM). The score alone cannot tell unanswerable questions apart (theirs reach
# 0.63), so the system prompt also tells the model to say when the passages do not answer. Workers AI's bge models
# cannot be reached from the build machine: with them every retrieved passage goes to the model.
RELEVANCE = {"@local/all-minilm-l6-v2": 0.25}
NOTHING_FOUND = ("I could not find anything about this in the documents, so I will not guess. Try other words, or "
                 "add the document that answers it.")
SYSTEM_PROMPT = (
    "You answer questions using only the numbered passages the user gives. Cite every fact with the number of its "
    "passage in square brackets, like [1] or [2][3]. If the passages do not contain the answer, say that the "
    "documents do not say. Be concise."
)
OFFLINE_SYSTEM_PROMPT = "Answer the question in one or two sentences using only the passages. Cite them like [1]."


@dataclass(frozen=True)
class Source:
    """A passage an answer may cite, as the sources panel and the API show it."""

    number: int
    document: str
    page: int
    heading: str
    score: float
    passage: str

    def to_dict(self) -> dict:
        return {**asdict(self), "score": round(self.score, 4)}


def check_question(question: str | None) -> str:
    question = " ".join((question or "").split())
    if not question:
        raise InputProblem("Ask a question about the documents.")
    if len(question) > MAX_QUESTION_CHARS:
        raise InputProblem(f"Ask in at most {MAX_QUESTION_CHARS:,} characters; this question has {len(question):,}.")
    return question


def readable_collection(collection: str | None) -> str:
    """The collection to read: the given one (checked) or, when blank, the sample collection."""
    return SAMPLE_COLLECTION if not (collection or "").strip() else check_collection(collection)


@dataclass(frozen=True)
class Retrieval:
    """What finding the passages cost: the question's embedding, and on Vectorize the dimensions the query is billed
    for (each query counts every stored vector: (1 + stored) × dimensions)."""

    embedding: Estimate
    vectorize_dimensions: int = 0

    def parts(self) -> list[str]:
        parts = [f"question embedded {self.embedding.describe(offline=is_offline(), basis=False)}"]
        if self.vectorize_dimensions:
            usd = self.vectorize_dimensions / 1e6 * VECTORIZE.usd_per_million_queried
            parts.append(f"Vectorize {self.vectorize_dimensions:,} queried dimensions ≈ {format_usd(usd)}")
        return parts


async def search(query: str, collection: str | None, top_k: int = TOP_K, request=None,
                 action: str = "search_documents") -> list[Source]:
    """The chunks closest to `query` in `collection`, best first, as numbered sources (relevance not applied)."""
    return (await retrieve(query, collection, top_k, request, action))[0]


async def retrieve(query: str, collection: str | None, top_k: int = TOP_K, request=None,
                   action: str = "search_documents") -> tuple[list[Source], Retrieval]:
    """`search`, and what the retrieval cost."""
    query = check_question(query)
    collection = readable_collection(collection)
    top_k = clamp_top_k(top_k or TOP_K)  # a sentence for anything that is not a number
    if collection == SAMPLE_COLLECTION:
        await ensure_sample(request)
    model = embedding_model()
    try:  # the store that exists already: a search makes none, and is refused before it pays for an embedding
        index = await document_index(model)
    except LookupError:
        raise InputProblem("This collection holds no documents yet: add some first.") from None
    vector = (await metered_embed([query], model, action, request))[0]
    cost = Retrieval(cost_of([query], model))
    matches = await index.query(collection, vector, top_k)
    if index.kind == "vectorize":
        cost = Retrieval(cost.embedding, (1 + await index.count(collection)) * len(vector))
    return [_source(number, match) for number, match in enumerate(matches, 1)], cost


def relevant(sources: list[Source], model: str) -> list[Source]:
    """The sources scoring at least the model's relevance threshold, without passages that open like one already
    kept, renumbered from 1."""
    floor = RELEVANCE.get(model, -1.0)
    kept, openings = [], set()
    for source in sources:  # overlapping chunks of one short section can open alike: the model sees it once
        opening = " ".join(source.passage.split())[:160]
        if source.score >= floor and opening not in openings:
            kept.append(source)
            openings.add(opening)
    return [Source(number, s.document, s.page, s.heading, s.score, s.passage) for number, s in enumerate(kept, 1)]


def prompt(question: str, sources: list[Source]) -> str:
    """The user message: the numbered passages, then the question."""
    passages = "\n\n".join(f"[{s.number}] {s.document}, page {s.page}"
                           + (f" — {s.heading}" if s.heading else "") + f"\n{s.passage}" for s in sources)
    return f"Passages:\n\n{passages}\n\nQuestion: {question}"


class _QuestionJudge:
    """Auto-route's judge, shown the question alone (not the passages around it)."""

    def __init__(self, question: str) -> None:
        self.question = question
        self.name = routing.default_judge().name

    async def judge(self, message: str, request=None):
        return await routing.default_judge().judge(self.question, request)


async def ask(question: str, collection: str | None, model: str | None = None, top_k: int = TOP_K,
              max_tokens: float = conversation.DEFAULT_MAX_TOKENS, temperature: float = 0.2, auto_route: bool = False,
              request=None) -> AsyncIterator[tuple[str, list[Source], str, str]]:
    """Stream (answer so far, the sources it may cite, a statistics or route line, the cost line); see the module
    docstring. The cost line itemises retrieval and generation once the answer is complete."""
    question = check_question(question)
    model = model_or_default(model, CHAT)
    conversation.check_input(question, max_tokens, temperature, "")
    found, retrieval = await retrieve(question, collection, top_k, request, action="ask_documents")
    sources = relevant(found, embedding_model())
    if not sources:
        yield NOTHING_FOUND, [], "no passage was close enough to the question: no model was asked", \
            " · ".join(retrieval.parts())
        return
    message = prompt(question, sources)
    system = OFFLINE_SYSTEM_PROMPT if is_offline() else SYSTEM_PROMPT
    if auto_route:
        async for reply, info in routing.routed_answer(message, [], model, system, max_tokens, temperature, request,
                                                       judge=_QuestionJudge(question)):
            spent = "answer: price unknown" if info.spent_usd is None else f"answer ≈ {format_usd(info.spent_usd)}"
            yield reply, sources, info.line(), " · ".join(retrieval.parts() + [spent]) if info.finished else ""
        return
    async for reply, stats in conversation.answer(message, [], model, system, max_tokens, temperature, request):
        if not stats.finished:
            yield reply, sources, "streaming…", ""
            continue
        answered = stats.cost.describe(offline=is_offline(), basis=False) if stats.cost else "price unknown"
        yield reply, sources, stats.line(), " · ".join(retrieval.parts() + [f"answer {answered}"])


async def documents(collection: str | None) -> list[tuple[str, int]]:
    """The documents of a collection and how many chunks each has."""
    collection = readable_collection(collection)
    try:
        index = await document_index(embedding_model(), None)
    except LookupError:
        return []
    return await index.documents(collection)


async def delete(collection: str | None) -> int:
    """Remove every vector and passage of `collection`; how many chunks went. The sample collection stays."""
    collection = check_collection(collection)
    if collection == SAMPLE_COLLECTION:
        raise InputProblem("The sample collection is read-only; only your own collections can be deleted.")
    try:
        index = await document_index(embedding_model(), None)
    except LookupError:
        return 0
    return await index.delete_collection(collection)


def _source(number: int, match: Match) -> Source:
    return Source(number, match.document, match.page, match.heading, float(match.score), match.text)

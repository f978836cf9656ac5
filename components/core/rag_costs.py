"""Cost estimates for a RAG app: Workers AI and Vectorize together, priced per month with the allowances applied.

Vectorize's prices are VECTORIZE below (shared/docs/vectorize-contract.md §1); Workers AI's come from the price list
(prices.json, through components/workers_ai). The Cost tab (components/tabs/cost.py) turns these into its "RAG app"
section, the public `/estimate_rag_cost` endpoint. The calculator, the price list and usage are in costs.py.
Every figure is an estimate and says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..workers_ai import (
    CHAT, EMBEDDINGS, FREE_NEURONS_PER_DAY, USD_PER_NEURON, Estimate, default_model, estimate, format_neurons,
    format_usd, short_name,
)
from .errors import InputProblem

@dataclass(frozen=True)
class VectorizePricing:
    """Vectorize's prices (vectorize-contract.md §1; Workers Paid, GA since 2024-09): it bills vector dimensions,
    queried and stored, per month. A query counts as many dimensions as the whole index holds plus its own: queried
    dimensions = (queries + stored vectors) × dimensions, whatever topK is."""

    usd_per_million_queried: float = 0.01
    usd_per_100_million_stored: float = 0.05
    included_queried: int = 50_000_000  # a month, Workers Paid
    included_stored: int = 10_000_000
    free_plan_queried: int = 30_000_000  # a month, Workers Free: a limit there, not an allowance before billing
    free_plan_stored: int = 5_000_000


VECTORIZE = VectorizePricing()
MAX_DIMENSIONS = 1536  # Vectorize's largest vector (float32)
# What each embedding model's vectors hold (vectorize-contract.md §3): an index's dimensions follow its model.
EMBEDDING_DIMENSIONS = {
    "@cf/baai/bge-small-en-v1.5": 384, "@cf/baai/bge-base-en-v1.5": 768, "@cf/baai/bge-large-en-v1.5": 1024,
    "@cf/baai/bge-m3": 1024, "@cf/qwen/qwen3-embedding-0.6b": 1024,
}
# The rule of thumb the RAG app is checked against: "1,000 queries a day cost about $3-8 a month".
ARTICLE_QUERIES_PER_DAY = 1000
ARTICLE_USD_A_MONTH = (3.0, 8.0)


@dataclass(frozen=True)
class VectorizeBill:
    """A month of Vectorize for one index: dimensions queried and stored, at list price and after the included
    amounts (Workers Paid)."""

    queries: float  # in the month
    stored_vectors: float
    dimensions: int
    prices: VectorizePricing = VECTORIZE

    @property
    def queried_dimensions(self) -> float:
        return (self.queries + self.stored_vectors) * self.dimensions

    @property
    def stored_dimensions(self) -> float:
        return self.stored_vectors * self.dimensions

    @property
    def queried_list_usd(self) -> float:
        return self.queried_dimensions / 1e6 * self.prices.usd_per_million_queried

    @property
    def stored_list_usd(self) -> float:
        return self.stored_dimensions / 1e8 * self.prices.usd_per_100_million_stored

    @property
    def queried_usd(self) -> float:
        billed = max(0.0, self.queried_dimensions - self.prices.included_queried)
        return billed / 1e6 * self.prices.usd_per_million_queried

    @property
    def stored_usd(self) -> float:
        billed = max(0.0, self.stored_dimensions - self.prices.included_stored)
        return billed / 1e8 * self.prices.usd_per_100_million_stored

    @property
    def list_usd(self) -> float:
        return self.queried_list_usd + self.stored_list_usd

    @property
    def usd(self) -> float:
        return self.queried_usd + self.stored_usd


def vectorize_bill(queries_per_month: float, stored_vectors: float, dimensions: int) -> VectorizeBill:
    """A month of Vectorize: `queries_per_month` queries against an index of `stored_vectors` vectors."""
    return VectorizeBill(float(queries_per_month), float(stored_vectors), int(dimensions))


# The RAG app's inputs, in the order of `estimate_rag_cost`'s parameters. The per-question figures were measured on
# the sample collection (assets/documents) with its labelled questions (tests/data/documents_questions.json):
# a question is ~20 tokens (mean 19.8, BERT WordPiece, as bge counts them); five heading-level chunks of ~120
# tokens each are retrieved (mean 121); the rest of the prompt, the documents tab's system prompt, the passages'
# labels and the chat template, is ~155 tokens, so the prompt is ~775 (mean 781). The answer's 150 tokens are
# assumed (the system prompt asks for a concise, cited answer), not measured. 10,000 chunks of 768 dimensions is
# the documentation's example index.
RAG_EXAMPLE = dict(questions_per_day=1000, stored_chunks=10_000, dimensions=768, question_tokens=20,
                   chunks_per_question=5, tokens_per_chunk=120, instruction_tokens=155, answer_tokens=150,
                   embedding_model=default_model(EMBEDDINGS), chat_model=default_model(CHAT), days_per_month=30)
RAG_COLUMNS = ["item", "usage a month (est.)", "$ at list price", "$ billed (est.)"]
VECTORIZE_PRICE_COLUMNS = ["Vectorize", "included a month (Workers Paid)", "free plan", "beyond"]


@dataclass(frozen=True)
class RagApp:
    """Questions over a document index, priced per month: each question is embedded, Vectorize returns the closest
    chunks, and a chat model answers from them. Workers AI's free neurons apply per UTC day, Vectorize's included
    dimensions per month."""

    questions_per_day: float
    days: float
    stored_chunks: float
    dimensions: int
    question_tokens: int
    chunks_per_question: int
    tokens_per_chunk: int
    instruction_tokens: int
    answer_tokens: int
    embedding: Estimate  # one question's embedding
    chat: Estimate  # one answer
    indexing: Estimate  # every stored chunk embedded once

    @property
    def prompt_tokens(self) -> int:
        """What the chat model reads per question: the instructions, the question and the retrieved chunks."""
        return self.instruction_tokens + self.question_tokens + self.chunks_per_question * self.tokens_per_chunk

    @property
    def neurons_per_question(self) -> float:
        return self.embedding.neurons + self.chat.neurons

    @property
    def neurons_per_day(self) -> float:
        return self.questions_per_day * self.neurons_per_question

    @property
    def billed_neurons_per_day(self) -> float:
        return max(0.0, self.neurons_per_day - FREE_NEURONS_PER_DAY)

    @property
    def workers_ai_list_usd(self) -> float:
        return self.neurons_per_day * self.days * USD_PER_NEURON

    @property
    def workers_ai_usd(self) -> float:
        return self.billed_neurons_per_day * self.days * USD_PER_NEURON

    @property
    def vectorize(self) -> VectorizeBill:
        return vectorize_bill(self.questions_per_day * self.days, self.stored_chunks, self.dimensions)

    @property
    def list_usd(self) -> float:
        """A month at list price, before any free allocation or included amount."""
        return self.workers_ai_list_usd + self.vectorize.list_usd

    @property
    def usd(self) -> float:
        """A month as billed: Workers AI's free neurons and Vectorize's included dimensions subtracted."""
        return self.workers_ai_usd + self.vectorize.usd


def rag_app(questions_per_day: float, stored_chunks: float, dimensions: float, question_tokens: float,
            chunks_per_question: float, tokens_per_chunk: float, instruction_tokens: float, answer_tokens: float,
            embedding_model: str, chat_model: str, days_per_month: float) -> RagApp:
    """Check the inputs and price one question; InputProblem names the first thing that is wrong."""
    counts = {"Questions a day": questions_per_day, "Chunks stored": stored_chunks,
              "Tokens per question": question_tokens, "Chunks per question": chunks_per_question,
              "Tokens per chunk": tokens_per_chunk, "Instruction tokens": instruction_tokens,
              "Tokens per answer": answer_tokens}
    for label, value in counts.items():
        if value is None or not 0 <= float(value) < 1e12:
            raise InputProblem(f"{label} must be a number of zero or more.")
    if dimensions is None or not 1 <= float(dimensions) <= MAX_DIMENSIONS:
        raise InputProblem(f"Vector dimensions must be between 1 and {MAX_DIMENSIONS:,} (Vectorize's largest).")
    if days_per_month is None or not 1 <= float(days_per_month) <= 31:
        raise InputProblem("Days per month must be between 1 and 31.")
    embedding_model, chat_model = (embedding_model or "").strip(), (chat_model or "").strip()
    whole = {label: int(round(float(value))) for label, value in counts.items()}
    question, chunks, per_chunk, instructions, answer = (
        whole["Tokens per question"], whole["Chunks per question"], whole["Tokens per chunk"],
        whole["Instruction tokens"], whole["Tokens per answer"])
    prompt = instructions + question + chunks * per_chunk
    embedding = estimate(embedding_model, input_tokens=question)
    chat = estimate(chat_model, input_tokens=prompt, output_tokens=answer)
    indexing = estimate(embedding_model, input_tokens=whole["Chunks stored"] * per_chunk)
    for part, label in ((embedding, "embedding"), (chat, "chat")):
        if not part.known:
            raise InputProblem(f"The {label} model {part.model or '(none)'} has no known price (price unknown): "
                               "pick one from the list.")
    return RagApp(float(questions_per_day), float(days_per_month), float(whole["Chunks stored"]),
                  int(round(float(dimensions))), question, chunks, per_chunk, instructions, answer, embedding, chat,
                  indexing)


def _count(value: float) -> str:
    """30,720,000 → '30.7M'; 600,000 → '600,000'."""
    return f"{value / 1e6:.3g}M" if value >= 1e6 else f"{value:,.0f}"


def _range_word(usd: float) -> str:
    low, high = ARTICLE_USD_A_MONTH
    return "inside" if low <= usd <= high else "below" if usd < low else "above"


def article_check(app: RagApp) -> str:
    """Whether 1,000 questions a day, with the app's other inputs, land in the article's $3-8 a month: at list price
    and as billed, in one Markdown line."""
    at = dataclasses.replace(app, questions_per_day=float(ARTICLE_QUERIES_PER_DAY))
    low, high = ARTICLE_USD_A_MONTH
    text = (f"**Checking \"{ARTICLE_QUERIES_PER_DAY:,} queries a day ≈ ${low:g}–{high:g} a month\":** with these "
            f"models and sizes, {ARTICLE_QUERIES_PER_DAY:,} questions a day cost {format_usd(at.list_usd)} a month at "
            f"list price, {_range_word(at.list_usd)} the range, and {format_usd(at.usd)} as billed, "
            f"{_range_word(at.usd)} it")
    if at.usd < at.list_usd and at.billed_neurons_per_day == 0 and at.vectorize.usd == 0:
        text += ": the free neurons and Vectorize's included dimensions cover all of it."
    elif at.usd < at.list_usd:
        text += ", once the free neurons and Vectorize's included dimensions are subtracted."
    else:
        text += "."
    return text


def rag_summary(app: RagApp) -> str:
    """The RAG app's month, list price and billed, what one question uses, and the check against the article."""
    prompt = app.prompt_tokens
    return (
        f"**{app.questions_per_day:,.0f} questions a day** over {app.stored_chunks:,.0f} stored chunks "
        f"({app.dimensions:,} dimensions) with {short_name(app.embedding.model)} and {short_name(app.chat.model)} "
        f"≈ **{format_usd(app.list_usd)} a month at list price**, **{format_usd(app.usd)} as billed** (est.), after "
        f"Workers AI's {FREE_NEURONS_PER_DAY:,} free neurons a day and Vectorize's included "
        f"{_count(app.vectorize.prices.included_queried)} queried and {_count(app.vectorize.prices.included_stored)} "
        f"stored dimensions a month. Per question: {app.question_tokens:,} tokens embedded, a {prompt:,}-token prompt "
        f"({app.instruction_tokens:,} of instructions, the question, {app.chunks_per_question:,} chunks × "
        f"{app.tokens_per_chunk:,} tokens) and a {app.answer_tokens:,}-token answer: est. "
        f"{format_neurons(app.neurons_per_question)} neurons. Not counted: the Workers Paid subscription that "
        "Vectorize's included amounts come with, and indexing (once, last row)."
        f"\n\n{article_check(app)}"
    )


def rag_rows(app: RagApp) -> list[tuple[str, str, str, str]]:
    """One row per cost item, in RAG_COLUMNS' order: the two Workers AI calls, Workers AI after its free neurons,
    Vectorize's queried and stored dimensions after their included amounts, the total, and indexing (once)."""
    questions = app.questions_per_day * app.days
    vectors = app.vectorize
    prices = vectors.prices

    def calls(part: Estimate, tokens: str) -> tuple[str, str]:
        neurons = questions * part.neurons
        return f"{tokens} · {format_neurons(neurons)} neurons", format_usd(neurons * USD_PER_NEURON)

    free = min(app.neurons_per_day, FREE_NEURONS_PER_DAY) * app.days
    return [
        (f"Question embeddings · {short_name(app.embedding.model)}",
         *calls(app.embedding, f"{_count(questions * app.question_tokens)} tokens"), "—"),
        (f"Answers · {short_name(app.chat.model)}",
         *calls(app.chat, f"{_count(questions * app.prompt_tokens)} → {_count(questions * app.answer_tokens)} tokens"),
         "—"),
        (f"Workers AI, after {FREE_NEURONS_PER_DAY:,} free neurons a day",
         f"{format_neurons(app.neurons_per_day * app.days)} neurons, {format_neurons(free)} of them free",
         format_usd(app.workers_ai_list_usd), format_usd(app.workers_ai_usd)),
        ("Vectorize · queried dimensions",
         f"({_count(questions)} queries + {_count(app.stored_chunks)} vectors) × {app.dimensions:,} = "
         f"{_count(vectors.queried_dimensions)}, {_count(prices.included_queried)} included",
         format_usd(vectors.queried_list_usd), format_usd(vectors.queried_usd)),
        ("Vectorize · stored dimensions",
         f"{_count(app.stored_chunks)} vectors × {app.dimensions:,} = {_count(vectors.stored_dimensions)}, "
         f"{_count(prices.included_stored)} included",
         format_usd(vectors.stored_list_usd), format_usd(vectors.stored_usd)),
        ("Total a month", "", format_usd(app.list_usd), format_usd(app.usd)),
        ("Indexing the chunks, once (not in the total)",
         f"{_count(app.stored_chunks * app.tokens_per_chunk)} tokens · {format_neurons(app.indexing.neurons)} neurons",
         format_usd(app.indexing.neurons * USD_PER_NEURON), "—"),
    ]


def vectorize_price_rows() -> list[tuple[str, str, str, str]]:
    """Vectorize's prices, one row per billed quantity (VECTORIZE_PRICE_COLUMNS)."""
    p = VECTORIZE
    return [
        ("queried vector dimensions", _count(p.included_queried), _count(p.free_plan_queried),
         f"${p.usd_per_million_queried:g} per 1M"),
        ("stored vector dimensions", _count(p.included_stored), _count(p.free_plan_stored),
         f"${p.usd_per_100_million_stored:g} per 100M"),
    ]

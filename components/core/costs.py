"""Cost estimates without a page: a RAG workload priced per month, the price list and today's usage as plain data.

The Cost tab (components/tabs/cost.py) turns these into its Markdown, tables and charts; its calculator is the
public `/estimate_cost` endpoint, and its "RAG app" (Workers AI and Vectorize together, allowances applied) is
`/estimate_rag_cost`. Workers AI prices come from the price list (prices.json, through components/workers_ai),
Vectorize's from VECTORIZE below (shared/docs/vectorize-contract.md §1); usage from the ledger (core/usage.py).
Every figure is an estimate and says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..workers_ai import (
    CHAT, EMBEDDINGS, FREE_NEURONS_PER_DAY, PRICES, USD_PER_NEURON, Estimate, builtin_models, default_model, estimate,
    format_neurons, format_usd, short_name, until_utc_midnight,
)
from .errors import InputProblem
from .usage import Snapshot, shared_ledger

# The calculator's starting point, in the spirit of the pricing page: 1,000 RAG queries a day. The models are the
# Workers AI catalogue's defaults (a fixed table, whatever the live backend): the calculator prices Workers AI.
EXAMPLE = dict(queries_per_day=1000, embedding_tokens_per_query=50, prompt_tokens=1500, completion_tokens=300,
               embedding_model=default_model(EMBEDDINGS), chat_model=default_model(CHAT), days_per_month=30,
               gpu_usd_per_hour=1.0)
# The calculator's example workloads, in its inputs' order (SCENARIO_FIELDS).
SCENARIO_FIELDS = ["queries_per_day", "embedding_tokens_per_query", "prompt_tokens", "completion_tokens",
                   "embedding_model", "chat_model", "days_per_month", "gpu_usd_per_hour"]
SCENARIOS = {
    "Prototype: 200 queries a day, a 3B model": dict(
        EXAMPLE, queries_per_day=200, prompt_tokens=1000, completion_tokens=200,
        embedding_model="@cf/baai/bge-small-en-v1.5", chat_model="@cf/meta/llama-3.2-3b-instruct"),
    "Internal help desk: 1,000 a day, 8B fast": dict(EXAMPLE),
    "Public support bot: 50,000 a day, 70B": dict(
        EXAMPLE, queries_per_day=50_000, prompt_tokens=2500, completion_tokens=400,
        chat_model="@cf/meta/llama-3.3-70b-instruct-fp8-fast", gpu_usd_per_hour=2.5),
}
UNITS = {  # how the price list's units read in the table
    "per_m_input_tokens": "per million input tokens",
    "per_m_output_tokens": "per million output tokens",
    "per_audio_minute": "per audio minute",
    "per_m_images": "per million images",
}
COST_COLUMNS = ["item", "neurons per day (est.)", "$ per month (est.)"]
PRICE_COLUMNS = ["model", "unit", "neurons", "$"]


# ── the calculator ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Workload:
    """A RAG-style workload priced per month: each query embeds some text and asks a chat model once."""

    queries_per_day: float
    embedding: Estimate  # one query's embedding
    chat: Estimate  # one query's answer
    days: float
    gpu_usd_per_hour: float

    @property
    def neurons_per_day(self) -> float:
        return self.queries_per_day * (self.embedding.neurons + self.chat.neurons)

    @property
    def billed_per_day(self) -> float:
        """The first 10,000 neurons of each UTC day are free."""
        return max(0.0, self.neurons_per_day - FREE_NEURONS_PER_DAY)

    @property
    def workers_ai_usd(self) -> float:
        return self.billed_per_day * self.days * USD_PER_NEURON

    @property
    def gpu_usd(self) -> float:
        """A dedicated GPU is paid for around the clock, busy or not."""
        return 24 * self.days * self.gpu_usd_per_hour

    @property
    def break_even_queries(self) -> float | None:
        """Queries a day at which Workers AI costs as much as the GPU (None when a query costs nothing)."""
        per_query = self.embedding.neurons + self.chat.neurons
        if per_query <= 0:
            return None
        return (self.gpu_usd / (self.days * USD_PER_NEURON) + FREE_NEURONS_PER_DAY) / per_query


def workload(queries_per_day: float, embedding_tokens_per_query: float, prompt_tokens: float,
             completion_tokens: float, embedding_model: str, chat_model: str, days_per_month: float,
             gpu_usd_per_hour: float) -> Workload:
    """Check the inputs and price one query; InputProblem names the first thing that is wrong."""
    numbers = {"Queries per day": queries_per_day, "Embedding tokens per query": embedding_tokens_per_query,
               "Prompt tokens": prompt_tokens, "Completion tokens": completion_tokens,
               "GPU $ per hour": gpu_usd_per_hour}
    for label, value in numbers.items():
        if value is None or not 0 <= float(value) < 1e12:
            raise InputProblem(f"{label} must be a number of zero or more.")
    if days_per_month is None or not 1 <= float(days_per_month) <= 31:
        raise InputProblem("Days per month must be between 1 and 31.")
    embedding = estimate((embedding_model or "").strip(), input_tokens=int(embedding_tokens_per_query))
    chat = estimate((chat_model or "").strip(), input_tokens=int(prompt_tokens), output_tokens=int(completion_tokens))
    for part, label in ((embedding, "embedding"), (chat, "chat")):
        if not part.known:
            raise InputProblem(f"The {label} model {part.model or '(none)'} has no known price (price unknown): "
                               "pick one from the list.")
    return Workload(float(queries_per_day), embedding, chat, float(days_per_month), float(gpu_usd_per_hour))


def summary(load: Workload) -> str:
    """The workload's monthly cost on Workers AI against a dedicated GPU, in one Markdown paragraph."""
    days = f"{load.days:g}"
    text = (
        f"**{load.queries_per_day:,.0f} queries a day** with {short_name(load.embedding.model)} embeddings and "
        f"{short_name(load.chat.model)} ≈ **{format_usd(load.workers_ai_usd)} a month** on Workers AI "
        f"(est. {format_neurons(load.neurons_per_day)} neurons a day, of which the first "
        f"{FREE_NEURONS_PER_DAY:,} are free), against **{format_usd(load.gpu_usd)} a month** for a dedicated GPU "
        f"at {format_usd(load.gpu_usd_per_hour)}/hour × 24 h × {days} days."
    )
    if (break_even := load.break_even_queries) is not None:
        text += (f" The two cost the same at about {break_even:,.0f} queries a day: below that Workers AI is "
                 "cheaper, above it the GPU.")
    return text


def cost_rows(load: Workload) -> list[tuple[str, str, str]]:
    """One row per cost item, formatted, in COST_COLUMNS' order: embeddings, chat, the free allocation, the
    Workers AI bill, the GPU."""
    def per_day(part: Estimate) -> float:
        return load.queries_per_day * part.neurons

    def a_month(neurons: float) -> str:
        return format_usd(neurons * load.days * USD_PER_NEURON)

    free = min(load.neurons_per_day, FREE_NEURONS_PER_DAY)
    return [
        (f"Embeddings · {short_name(load.embedding.model)}", format_neurons(per_day(load.embedding)),
         a_month(per_day(load.embedding))),
        (f"Chat · {short_name(load.chat.model)}", format_neurons(per_day(load.chat)), a_month(per_day(load.chat))),
        (f"Free allocation ({FREE_NEURONS_PER_DAY:,} a day)", f"−{format_neurons(free)}", f"−{a_month(free)}"),
        ("Workers AI, billed", format_neurons(load.billed_per_day), format_usd(load.workers_ai_usd)),
        (f"Dedicated GPU, {format_usd(load.gpu_usd_per_hour)}/h around the clock", "—", format_usd(load.gpu_usd)),
    ]


def price_rows() -> list[tuple[str, str, str, str]]:
    """Every price the app knows, one row per model and unit with its dollar equivalent (PRICE_COLUMNS)."""
    return [(name, UNITS[unit], format_neurons(rate), format_usd(rate * USD_PER_NEURON))
            for name, price in PRICES.items() for unit, rate in price.rates.items()]


def priced_models(task: str) -> list[str]:
    """The built-in Workers AI models of `task` that have a price: what the calculator can price."""
    return [m.name for m in builtin_models(task, "cloudflare") if m.name in PRICES]


# ── a RAG app: Workers AI and Vectorize ─────────────────────────────────────────────────────


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


# ── usage ───────────────────────────────────────────────────────────────────────────────────


def usage_rows(by_model: dict[tuple[str, str], float]) -> list[tuple[str, str, float]]:
    """(task, model) → neurons as (short model name, task, neurons) rows, sorted by task then model."""
    return [(short_name(model), task, round(neurons, 6)) for (task, model), neurons in sorted(by_model.items())]


def usage_summary(snapshot: Snapshot) -> str:
    """This session's, this visitor's and everyone's neurons today, against the free allocation, in Markdown."""
    share = 100 * snapshot.total / FREE_NEURONS_PER_DAY
    session = sum(snapshot.session.values())
    per_visitor = shared_ledger().budgets.per_visitor
    of_budget = f" of your {format_neurons(per_visitor)}" if per_visitor is not None else ""
    return (f"**This session:** est. {format_neurons(session)} neurons ({format_usd(session * USD_PER_NEURON)}) · "
            f"**you today:** {format_neurons(snapshot.visitor)}{of_budget} · **everyone today:** "
            f"{format_neurons(snapshot.total)} neurons in {snapshot.calls:,} calls, {share:.3g}% of the "
            f"{FREE_NEURONS_PER_DAY:,} free. The day ({snapshot.day}, UTC) resets at 00:00 UTC, "
            f"in {until_utc_midnight(shared_ledger().now())}.")

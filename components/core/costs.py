"""Cost estimates without a page: a RAG workload priced per month, the price list and today's usage as plain data.

The Cost tab (components/tabs/cost.py) turns these into its Markdown, tables and charts; its calculator is the
public `/estimate_cost` endpoint. Its "RAG app" (Workers AI and Vectorize together, allowances applied,
`/estimate_rag_cost`) is priced in rag_costs.py. Workers AI prices come from the price list (prices.json, through
components/workers_ai); usage from the ledger (core/usage.py). Every figure is an estimate and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..workers_ai import (
    CHAT, EMBEDDINGS, FREE_NEURONS_PER_DAY, PRICES, UNIT_LABELS, USD_PER_NEURON, Estimate, builtin_models,
    default_model, estimate, format_neurons, format_usd, short_name, until_utc_midnight,
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
    """Every price the app knows, one row per model and unit with its dollar equivalent (PRICE_COLUMNS): tokens,
    audio and images (`Price.rates`), then tiles, steps and characters of generated media (`Price.media_rates`).
    A rate of zero is "free" (SDXL-Lightning while it is in beta)."""
    return [(name, UNIT_LABELS[unit], format_neurons(rate), format_usd(rate * USD_PER_NEURON) if rate else "free")
            for name, price in PRICES.items() for unit, rate in (*price.rates.items(), *price.media_rates.items())]


def free_models() -> list[str]:
    """The models the price list prices at zero in every unit (free while in beta)."""
    return [name for name, price in PRICES.items()
            if not any((*price.rates.values(), *price.media_rates.values()))]


def priced_models(task: str) -> list[str]:
    """The built-in Workers AI models of `task` that have a price: what the calculator can price."""
    return [m.name for m in builtin_models(task, "cloudflare") if m.name in PRICES]


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

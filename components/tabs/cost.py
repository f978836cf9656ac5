"""The Cost tab: where today's neurons went, and what a workload would cost per month.

The charts read the ledger (components/usage.py); the calculator reads the price list (prices.json). Every
figure is an estimate and says so. The calculator is also the public `/estimate_cost` endpoint: "what would
1,000 RAG queries a day cost?" is as good a question from an MCP client as from a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from ..core.errors import InputProblem
from ..ui.common import friendly_errors
from ..core.usage import Snapshot, session_key, shared_ledger, visitor_key
from ..workers_ai import (
    CHAT, EMBEDDINGS, FREE_NEURONS_PER_DAY, PRICES, SPEECH, STAND_INS, USD_PER_NEURON, VISION, Estimate,
    builtin_models, default_model, estimate, format_neurons, format_usd, short_name, until_utc_midnight,
)

USAGE_COLUMNS = ["model", "task", "neurons"]
TASK_COLOURS = {CHAT: "#f6821f", EMBEDDINGS: "#2563eb", SPEECH: "#16a34a", VISION: "#7c3aed"}
# The calculator's starting point, in the spirit of the pricing page: 1,000 RAG queries a day.
EXAMPLE = dict(queries_per_day=1000, embedding_tokens_per_query=50, prompt_tokens=1500, completion_tokens=300,
               embedding_model=default_model(EMBEDDINGS), chat_model=default_model(CHAT), days_per_month=30,
               gpu_usd_per_hour=1.0)
UNITS = {  # how the price list's units read in the table
    "per_m_input_tokens": "per million input tokens",
    "per_m_output_tokens": "per million output tokens",
    "per_audio_minute": "per audio minute",
    "per_m_images": "per million images",
}


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


@friendly_errors
async def estimate_cost(
    queries_per_day: float = EXAMPLE["queries_per_day"],
    embedding_tokens_per_query: float = EXAMPLE["embedding_tokens_per_query"],
    prompt_tokens: float = EXAMPLE["prompt_tokens"],
    completion_tokens: float = EXAMPLE["completion_tokens"],
    embedding_model: str = EXAMPLE["embedding_model"],
    chat_model: str = EXAMPLE["chat_model"],
    days_per_month: float = EXAMPLE["days_per_month"],
    gpu_usd_per_hour: float = EXAMPLE["gpu_usd_per_hour"],
) -> tuple[str, pd.DataFrame]:
    """Estimate what a retrieval-augmented (RAG) chat workload costs per month on Workers AI, next to a dedicated GPU.

    Each query embeds its text once and asks a chat model once. Prices come from the app's price list; the
    first 10,000 neurons of each UTC day are free and are subtracted. All figures are estimates.

    Args:
        queries_per_day: How many queries a day.
        embedding_tokens_per_query: Tokens embedded per query (the question; documents are embedded once, apart).
        prompt_tokens: Tokens sent to the chat model per query (question, retrieved passages, instructions).
        completion_tokens: Tokens the chat model writes per answer.
        embedding_model: A Workers AI text-embeddings model id, e.g. "@cf/baai/bge-base-en-v1.5".
        chat_model: A Workers AI text-generation model id, e.g. "@cf/meta/llama-3.1-8b-instruct-fast".
        days_per_month: Days in the month to price (1-31).
        gpu_usd_per_hour: What a dedicated GPU costs you per hour, in US dollars, running around the clock.

    Returns:
        a one-paragraph summary in Markdown
        a table with one row per cost item: `item`, `neurons per day (est.)` and `$ per month (est.)`
    """
    load = workload(queries_per_day, embedding_tokens_per_query, prompt_tokens, completion_tokens,
                    embedding_model, chat_model, days_per_month, gpu_usd_per_hour)
    return _summary(load), _table(load)


def _summary(load: Workload) -> str:
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


def _table(load: Workload) -> pd.DataFrame:
    def per_day(part: Estimate) -> float:
        return load.queries_per_day * part.neurons

    def a_month(neurons: float) -> str:
        return format_usd(neurons * load.days * USD_PER_NEURON)

    free = min(load.neurons_per_day, FREE_NEURONS_PER_DAY)
    rows = [
        (f"Embeddings · {short_name(load.embedding.model)}", format_neurons(per_day(load.embedding)),
         a_month(per_day(load.embedding))),
        (f"Chat · {short_name(load.chat.model)}", format_neurons(per_day(load.chat)), a_month(per_day(load.chat))),
        (f"Free allocation ({FREE_NEURONS_PER_DAY:,} a day)", f"−{format_neurons(free)}", f"−{a_month(free)}"),
        ("Workers AI, billed", format_neurons(load.billed_per_day), format_usd(load.workers_ai_usd)),
        (f"Dedicated GPU, {format_usd(load.gpu_usd_per_hour)}/h around the clock", "—", format_usd(load.gpu_usd)),
    ]
    return pd.DataFrame(rows, columns=["item", "neurons per day (est.)", "$ per month (est.)"])


def price_list() -> pd.DataFrame:
    """Every price the app knows, one row per model and unit, with its dollar equivalent."""
    rows = [(name, UNITS[unit], format_neurons(rate), format_usd(rate * USD_PER_NEURON))
            for name, price in PRICES.items() for unit, rate in price.rates.items()]
    return pd.DataFrame(rows, columns=["model", "unit", "neurons", "$"])


# ── usage charts ────────────────────────────────────────────────────────────────────────────


def usage_frame(by_model: dict[tuple[str, str], float]) -> pd.DataFrame:
    """(task, model) → neurons as rows for a bar chart: one bar per model, coloured by task.

    Gradio 6.31's bar chart fixes its colours and the column kinds at the first data it draws, and a task that
    appears later gets no bar. So every frame starts with a zero row per task (under a model already shown: it
    adds nothing to the bars), and `neurons` is a float column even when there are no calls yet.
    """
    rows = [(short_name(model), task, round(neurons, 6)) for (task, model), neurons in sorted(by_model.items())]
    anchor = rows[0][0] if rows else ""
    rows = [(anchor, task, 0.0) for task in TASK_COLOURS] + rows
    return pd.DataFrame(rows, columns=USAGE_COLUMNS).astype({"neurons": float})


def usage_summary(snapshot: Snapshot) -> str:
    share = 100 * snapshot.total / FREE_NEURONS_PER_DAY
    session = sum(snapshot.session.values())
    per_visitor = shared_ledger().budgets.per_visitor
    of_budget = f" of your {format_neurons(per_visitor)}" if per_visitor is not None else ""
    return (f"**This session:** est. {format_neurons(session)} neurons ({format_usd(session * USD_PER_NEURON)}) · "
            f"**you today:** {format_neurons(snapshot.visitor)}{of_budget} · **everyone today:** "
            f"{format_neurons(snapshot.total)} neurons in {snapshot.calls:,} calls, {share:.3g}% of the "
            f"{FREE_NEURONS_PER_DAY:,} free. The day ({snapshot.day}, UTC) resets at 00:00 UTC, "
            f"in {until_utc_midnight(shared_ledger().now())}.")


def usage_view(request: gr.Request) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """This session's and today's neurons by model and task, for this visitor's page."""
    snapshot = shared_ledger().snapshot(visitor_key(request), session_key(request))
    return usage_frame(snapshot.session), usage_frame(snapshot.today), usage_summary(snapshot)


# ── the tab ─────────────────────────────────────────────────────────────────────────────────


def intro() -> str:
    ledger = shared_ledger()
    text = (f"Workers AI bills **neurons**: {format_usd(1000 * USD_PER_NEURON)} per 1,000, and the first "
            f"{FREE_NEURONS_PER_DAY:,} of each UTC day are free. Every figure here is an **estimate** (est.) from "
            "the price list below: chat from the tokens the model reports, embeddings at ~4 characters per token, "
            "speech per minute of audio, images one by one.")
    budgets = ledger.budgets
    if ledger.backend == "local":
        text += ("\n\n**Offline:** these calls cost nothing. The figures show what the same calls would cost on "
                 "Workers AI, priced as the model each local one stands in for; no budget applies.")
    elif budgets.active:
        limits = [f"{format_neurons(budgets.per_visitor)} neurons per visitor" if budgets.per_visitor is not None
                  else "", f"{format_neurons(budgets.total)} in all" if budgets.total is not None else ""]
        text += (f"\n\n**Budgets:** {' and '.join(limit for limit in limits if limit)} per UTC day. A call that "
                 "could exceed one is refused before anything is sent.")
    else:
        text += ("\n\n**Budgets:** off. Set `DEMO_NEURON_BUDGET_PER_VISITOR` and `DEMO_NEURON_BUDGET_TOTAL` to "
                 "bound what a public demo can spend.")
    return text


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


async def example_estimate(*inputs) -> tuple[str, pd.DataFrame]:
    """`estimate_cost` for a clicked example (its own name: Gradio names an event after its function, and
    `/estimate_cost` belongs to the calculator's button)."""
    return await estimate_cost(*inputs)


def _priced(task: str) -> list[tuple[str, str]]:
    """The built-in Workers AI models of `task` that have a price, for the calculator's dropdowns."""
    return [(short_name(m.name), m.name) for m in builtin_models(task, "cloudflare") if m.name in PRICES]


def render(tab: gr.Tab) -> None:
    """The Cost tab; its charts refresh whenever `tab` is opened."""
    gr.Markdown(intro())
    with gr.Row(equal_height=True):
        plot = dict(x="model", y="neurons", color="task", color_map=TASK_COLOURS, y_title="neurons (est.)",
                    y_lim=[0, None], min_width=320, x_label_angle=-25)  # angled: model names fit on a phone
        session_plot = gr.BarPlot(usage_frame({}), label="This session", **plot)
        today_plot = gr.BarPlot(usage_frame({}), label="Today, all visitors (UTC day)", **plot)
    with gr.Row(equal_height=True):
        summary = gr.Markdown(elem_classes="usage-summary")
        refresh = gr.Button("Refresh", size="sm", variant="secondary", scale=0, min_width=100)

    gr.Markdown("### What would it cost?\nA retrieval-augmented chat: each query embeds its question and asks a "
                "chat model once, with the retrieved passages in the prompt. Token counts are per query; the GPU is "
                "one you would rent instead, running around the clock. Change any number.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            with gr.Row():
                queries = gr.Number(EXAMPLE["queries_per_day"], label="Queries per day", minimum=0, precision=0)
                days = gr.Number(EXAMPLE["days_per_month"], label="Days per month", minimum=1, maximum=31,
                                 precision=0)
                gpu = gr.Number(EXAMPLE["gpu_usd_per_hour"], label="GPU $ per hour", minimum=0)
            with gr.Row():
                embed_tokens = gr.Number(EXAMPLE["embedding_tokens_per_query"], label="Embed tokens",
                                         minimum=0, precision=0)
                prompt = gr.Number(EXAMPLE["prompt_tokens"], label="Prompt tokens", minimum=0, precision=0)
                completion = gr.Number(EXAMPLE["completion_tokens"], label="Answer tokens", minimum=0,
                                       precision=0)
            with gr.Row():
                embedding_model = gr.Dropdown(_priced(EMBEDDINGS), value=EXAMPLE["embedding_model"],
                                              label="Embedding model", allow_custom_value=True)
                chat_model = gr.Dropdown(_priced(CHAT), value=EXAMPLE["chat_model"], label="Chat model",
                                         allow_custom_value=True)
            calculate = gr.Button("Calculate", variant="primary")
        with gr.Column(scale=3, min_width=360):
            example = workload(**EXAMPLE)
            answer = gr.Markdown(_summary(example), elem_id="cost-estimate")
            table = gr.Dataframe(_table(example), label="Per month (est.)", interactive=False, wrap=True)
    inputs = [queries, embed_tokens, prompt, completion, embedding_model, chat_model, days, gpu]
    gr.Examples(
        [[row[name] for name in SCENARIO_FIELDS] for row in SCENARIOS.values()], inputs=inputs,
        example_labels=list(SCENARIOS), label="Example workloads",
        # arithmetic only, no model call: show the estimate at once (never cached ahead, never an API endpoint)
        fn=example_estimate, outputs=[answer, table], run_on_click=True, cache_examples=False,
        api_visibility="private",
    )
    with gr.Accordion("Price list (neurons, from prices.json)", open=False):
        gr.Dataframe(price_list(), interactive=False, max_height=360)
        stand_ins = ", ".join(f"{short_name(local)} as {short_name(cloud)}" for local, cloud in STAND_INS.items())
        gr.Markdown(f"Offline models are priced as the Workers AI model they stand in for: {stand_ins}. "
                    "A model that is not listed has no known price.")

    calculate.click(estimate_cost, inputs, [answer, table], api_name="estimate_cost")
    for event in (tab.select, refresh.click):
        event(usage_view, None, [session_plot, today_plot, summary], api_visibility="private", queue=False)

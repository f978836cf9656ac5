"""The Cost tab: where today's neurons went, and what a workload would cost per month.

The arithmetic lives in components/core/costs.py (the workload, the price list and usage as plain data) and
components/core/rag_costs.py (the RAG app: Workers AI and Vectorize together); this
module is the page: the charts read the ledger (core/usage.py) through it, the calculator prices a workload with
it. Every figure is an estimate and says so. The calculator is also the public `/estimate_cost` endpoint: "what
would 1,000 RAG queries a day cost?" is as good a question from an MCP client as from a person. The "RAG app"
section adds Vectorize to it, free allowances applied, as `/estimate_rag_cost`.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from ..core import costs, rag_costs
from ..core.costs import EXAMPLE, SCENARIO_FIELDS, SCENARIOS, Workload
from ..core.rag_costs import RAG_EXAMPLE, RagApp
from ..core.usage import session_key, shared_ledger, visitor_key
from ..ui.errors import friendly_errors
from ..workers_ai import (
    CHAT, EMBEDDINGS, FREE_NEURONS_PER_DAY, SPEECH, STAND_INS, USD_PER_NEURON, VISION, format_neurons, format_usd,
    short_name,
)

USAGE_COLUMNS = ["model", "task", "neurons"]
OTHER_TASKS = "Other tasks"  # the Playground reaches every task: those without a colour of their own share one
TASK_COLOURS = {CHAT: "#f6821f", EMBEDDINGS: "#2563eb", SPEECH: "#16a34a", VISION: "#7c3aed",
                "Text-to-Image": "#db2777", "Text-to-Speech": "#0891b2", "Translation": "#ca8a04",
                OTHER_TASKS: "#64748b"}


# ── the calculator ──────────────────────────────────────────────────────────────────────────


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
    load = costs.workload(queries_per_day, embedding_tokens_per_query, prompt_tokens, completion_tokens,
                          embedding_model, chat_model, days_per_month, gpu_usd_per_hour)
    return costs.summary(load), _table(load)


def _table(load: Workload) -> pd.DataFrame:
    return pd.DataFrame(costs.cost_rows(load), columns=costs.COST_COLUMNS)


@friendly_errors
async def estimate_rag_cost(
    questions_per_day: float = RAG_EXAMPLE["questions_per_day"],
    stored_chunks: float = RAG_EXAMPLE["stored_chunks"],
    dimensions: float = RAG_EXAMPLE["dimensions"],
    question_tokens: float = RAG_EXAMPLE["question_tokens"],
    chunks_per_question: float = RAG_EXAMPLE["chunks_per_question"],
    tokens_per_chunk: float = RAG_EXAMPLE["tokens_per_chunk"],
    instruction_tokens: float = RAG_EXAMPLE["instruction_tokens"],
    answer_tokens: float = RAG_EXAMPLE["answer_tokens"],
    embedding_model: str = RAG_EXAMPLE["embedding_model"],
    chat_model: str = RAG_EXAMPLE["chat_model"],
    days_per_month: float = RAG_EXAMPLE["days_per_month"],
) -> tuple[str, pd.DataFrame]:
    """Estimate what a question-answering app over your documents (RAG) costs per month on Workers AI and Vectorize.

    Each question is embedded, Vectorize returns the closest chunks, and a chat model answers from them. Vectorize
    bills (queries + stored vectors) × dimensions queried, and the dimensions stored; the first 10,000 Workers AI
    neurons of each UTC day and Vectorize's included 50M queried and 10M stored dimensions a month (Workers Paid) are
    subtracted. The defaults are measured on the app's sample collection. All figures are estimates.

    Args:
        questions_per_day: How many questions a day.
        stored_chunks: How many chunks (vectors) the index holds.
        dimensions: Dimensions of each vector, from the embedding model (768 for bge-base; at most 1536).
        question_tokens: Tokens of one question: embedded once, and part of the prompt.
        chunks_per_question: How many retrieved chunks go into each prompt (topK).
        tokens_per_chunk: Tokens of one retrieved chunk.
        instruction_tokens: Other prompt tokens per question: system prompt, passage labels, chat template.
        answer_tokens: Tokens the chat model writes per answer.
        embedding_model: A Workers AI text-embeddings model id, e.g. "@cf/baai/bge-base-en-v1.5".
        chat_model: A Workers AI text-generation model id, e.g. "@cf/meta/llama-3.1-8b-instruct-fast".
        days_per_month: Days in the month to price (1-31).

    Returns:
        a summary in Markdown: the month at list price and as billed, and whether 1,000 a day cost $3-8 a month
        a table with one row per cost item: `item`, `usage a month (est.)`, `$ at list price` and `$ billed (est.)`
    """
    app = rag_costs.rag_app(questions_per_day, stored_chunks, dimensions, question_tokens, chunks_per_question,
                        tokens_per_chunk, instruction_tokens, answer_tokens, embedding_model, chat_model,
                        days_per_month)
    return rag_costs.rag_summary(app), _rag_table(app)


def _rag_table(app: RagApp) -> pd.DataFrame:
    return pd.DataFrame(rag_costs.rag_rows(app), columns=rag_costs.RAG_COLUMNS)


def dimensions_of(model: str, current: float) -> float:
    """The vector dimensions of an embedding model the page knows, else what the visitor typed."""
    return rag_costs.EMBEDDING_DIMENSIONS.get((model or "").strip(), current)


def vectorize_prices() -> str:
    """Vectorize's prices in Markdown, a line per billed quantity (not neurons, so not in the price list; a list
    reads at phone width where a four-column table does not)."""
    lines = [f"- {what}: {paid} a month included on Workers Paid ({free} on the free plan), then {beyond}"
             for what, paid, free, beyond in rag_costs.vectorize_price_rows()]
    return "**Vectorize's prices**\n\n" + "\n".join(lines)


def price_list() -> pd.DataFrame:
    """Every price the app knows, one row per model and unit, with its dollar equivalent."""
    return pd.DataFrame(costs.price_rows(), columns=costs.PRICE_COLUMNS)


def price_notes() -> str:
    """What the price list's table does not say: which models are free, how offline models are priced."""
    stand_ins = ", ".join(f"{short_name(local)} as {short_name(cloud)}" for local, cloud in STAND_INS.items())
    free = " and ".join(short_name(name) for name in costs.free_models())
    return (f"{free + ' costs nothing while in beta. ' if free else ''}Offline models are priced as the Workers AI "
            f"model they stand in for: {stand_ins}. A model that is not listed has no known price.")


# ── usage charts ────────────────────────────────────────────────────────────────────────────


def usage_frame(by_model: dict[tuple[str, str], float]) -> pd.DataFrame:
    """(task, model) → neurons as rows for a bar chart: one bar per model, coloured by task.

    Gradio 6.31's bar chart fixes its colours and the column kinds at the first data it draws, and a task that
    appears later gets no bar. So every frame starts with a zero row per task (under a model already shown: it
    adds nothing to the bars), and `neurons` is a float column even when there are no calls yet.
    """
    rows = [(model, task if task in TASK_COLOURS else OTHER_TASKS, neurons)
            for model, task, neurons in costs.usage_rows(by_model)]
    anchor = rows[0][0] if rows else ""
    rows = [(anchor, task, 0.0) for task in TASK_COLOURS] + rows
    return pd.DataFrame(rows, columns=USAGE_COLUMNS).astype({"neurons": float})


def usage_view(request: gr.Request) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """This session's and today's neurons by model and task, for this visitor's page."""
    snapshot = shared_ledger().snapshot(visitor_key(request), session_key(request))
    return usage_frame(snapshot.session), usage_frame(snapshot.today), costs.usage_summary(snapshot)


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


async def example_estimate(*inputs) -> tuple[str, pd.DataFrame]:
    """`estimate_cost` for a clicked example (its own name: Gradio names an event after its function, and
    `/estimate_cost` belongs to the calculator's button)."""
    return await estimate_cost(*inputs)


def _priced(task: str) -> list[tuple[str, str]]:
    """The built-in Workers AI models of `task` that have a price, for the calculator's dropdowns."""
    return [(short_name(name), name) for name in costs.priced_models(task)]


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
            example = costs.workload(**EXAMPLE)
            answer = gr.Markdown(costs.summary(example), elem_id="cost-estimate")
            table = gr.Dataframe(_table(example), label="Per month (est.)", interactive=False, wrap=True)
    inputs = [queries, embed_tokens, prompt, completion, embedding_model, chat_model, days, gpu]
    gr.Examples(
        [[row[name] for name in SCENARIO_FIELDS] for row in SCENARIOS.values()], inputs=inputs,
        example_labels=list(SCENARIOS), label="Example workloads",
        # arithmetic only, no model call: show the estimate at once (never cached ahead, never an API endpoint)
        fn=example_estimate, outputs=[answer, table], run_on_click=True, cache_examples=False,
        api_visibility="private",
    )
    rag_inputs = _rag_section()
    with gr.Accordion("Price list (neurons, from prices.json)", open=False):
        gr.Dataframe(price_list(), interactive=False, max_height=360)
        gr.Markdown(price_notes())

    calculate.click(estimate_cost, inputs, [answer, table], api_name="estimate_cost")
    rag_button, rag_fields, rag_outputs = rag_inputs
    rag_button.click(estimate_rag_cost, rag_fields, rag_outputs, api_name="estimate_rag_cost")
    dimensions, embedder = rag_fields[2], rag_fields[8]
    embedder.change(dimensions_of, [embedder, dimensions], dimensions, api_visibility="private", queue=False)
    for event in (tab.select, refresh.click):
        event(usage_view, None, [session_plot, today_plot, summary], api_visibility="private", queue=False)


def _rag_section() -> tuple[gr.Button, list, list]:
    """The "RAG app" calculator: its button, its inputs in `estimate_rag_cost`'s order, and its two outputs. Its
    labels differ from the calculator's above (a label finds one field)."""
    gr.Markdown(
        "### A RAG app: Workers AI and Vectorize\nQuestions over your documents: each question is embedded, "
        "[Vectorize](https://developers.cloudflare.com/vectorize/) returns the closest chunks, and a chat model "
        "answers from them. Vectorize bills vector **dimensions**: each query counts as if it read the whole index, "
        "(queries + stored vectors) × dimensions, whatever topK is, and storage counts the dimensions held. The "
        "defaults are what one question used on this app's sample collection: a 20-token question, 5 chunks of "
        "about 120 tokens, 155 tokens of instructions; the 150-token answer is assumed."
    )
    field = dict(minimum=0, precision=0, min_width=120)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            with gr.Row():
                questions = gr.Number(RAG_EXAMPLE["questions_per_day"], label="Questions a day", **field)
                stored = gr.Number(RAG_EXAMPLE["stored_chunks"], label="Chunks stored", **field)
                dimensions = gr.Number(RAG_EXAMPLE["dimensions"], label="Vector dimensions", minimum=1,
                                       maximum=rag_costs.MAX_DIMENSIONS, precision=0, min_width=120)
                days = gr.Number(RAG_EXAMPLE["days_per_month"], label="Days a month", minimum=1, maximum=31,
                                 precision=0, min_width=120)
            with gr.Row():
                question = gr.Number(RAG_EXAMPLE["question_tokens"], label="Tokens per question", **field)
                instructions = gr.Number(RAG_EXAMPLE["instruction_tokens"], label="Instruction tokens", **field)
                answer_tokens = gr.Number(RAG_EXAMPLE["answer_tokens"], label="Tokens per answer", **field)
            with gr.Row():
                chunks = gr.Number(RAG_EXAMPLE["chunks_per_question"], label="Chunks per question", **field)
                per_chunk = gr.Number(RAG_EXAMPLE["tokens_per_chunk"], label="Tokens per chunk", **field)
            with gr.Row():
                embedder = gr.Dropdown(_priced(EMBEDDINGS), value=RAG_EXAMPLE["embedding_model"], label="Embeds with",
                                       allow_custom_value=True)
                answerer = gr.Dropdown(_priced(CHAT), value=RAG_EXAMPLE["chat_model"], label="Answers with",
                                       allow_custom_value=True)
            button = gr.Button("Price the RAG app", variant="primary")
            gr.Markdown(vectorize_prices())
        with gr.Column(scale=3, min_width=360):
            example = rag_costs.rag_app(**RAG_EXAMPLE)
            summary = gr.Markdown(rag_costs.rag_summary(example), elem_id="rag-estimate")
            table = gr.Dataframe(_rag_table(example), label="A RAG app per month (est.)", interactive=False,
                                 wrap=True, column_widths=["30%", "40%", "15%", "15%"])
    fields = [questions, stored, dimensions, question, chunks, per_chunk, instructions, answer_tokens, embedder,
              answerer, days]
    return button, fields, [summary, table]

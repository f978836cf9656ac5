"""Cost estimates (components/core/costs.py), the Cost tab's calculator and charts, and budgets seen from the public
API (gradio_client against the app)."""

import asyncio
import re

import gradio as gr
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from components.core import costs, rag_costs
from components.tabs import cost as cost_tab
from components.workers_ai import CHAT, EMBEDDINGS, PRICES, SPEECH, UNIT_LABELS, VISION
from tests.conftest import ASSETS

FAST = "@cf/meta/llama-3.1-8b-instruct-fast"
BASE = "@cf/baai/bge-base-en-v1.5"


# ── the calculator ──────────────────────────────────────────────────────────────────────────


def test_a_thousand_rag_queries_a_day_by_hand():
    load = costs.workload(1000, 50, 1500, 300, BASE, FAST, 30, 1.0)
    # per query: 50 × 6,058/1e6 = 0.3029 embedding + 1,500 × 4,119/1e6 + 300 × 34,868/1e6 = 16.6389 chat
    assert load.neurons_per_day == pytest.approx(16_941.8)
    assert load.billed_per_day == pytest.approx(6_941.8)  # the first 10,000 a day are free
    assert load.workers_ai_usd == pytest.approx(6_941.8 * 30 * 0.011 / 1000)  # ≈ $2.29
    assert load.gpu_usd == 720
    assert load.break_even_queries == pytest.approx((720 / (30 * 0.000011) + 10_000) / 16.9418)


def test_a_small_workload_fits_in_the_free_allocation():
    load = costs.workload(10, 50, 1500, 300, BASE, FAST, 30, 2.5)
    assert load.billed_per_day == 0 and load.workers_ai_usd == 0 and load.gpu_usd == 1800


def test_the_calculator_answers_in_a_sentence_and_a_table():
    summary, table = asyncio.run(cost_tab.estimate_cost())
    assert "**1,000 queries a day**" in summary and "≈ **$2.29 a month** on Workers AI" in summary
    assert "**$720.00 a month** for a dedicated GPU" in summary and "first 10,000 are free" in summary
    assert list(table.columns) == ["item", "neurons per day (est.)", "$ per month (est.)"]
    assert table.iloc[-2].tolist() == ["Workers AI, billed", "6,942", "$2.29"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"queries_per_day": -1}, "Queries per day must be a number of zero or more"),
        ({"days_per_month": 40}, "Days per month must be between 1 and 31"),
        ({"chat_model": "@cf/someone/new-model"}, "The chat model @cf/someone/new-model has no known price"),
        ({"embedding_model": ""}, r"The embedding model \(none\) has no known price"),
    ],
)
def test_the_calculator_explains_bad_inputs(change, message):
    with pytest.raises(gr.Error, match=message):
        asyncio.run(cost_tab.estimate_cost(**{**costs.EXAMPLE, **change}))


def test_the_price_list_shows_every_rate():
    prices = cost_tab.price_list()
    row = prices[(prices.model == "@cf/microsoft/resnet-50")].iloc[0].tolist()
    assert row == ["@cf/microsoft/resnet-50", "per million images", "228,055", "$2.51"]
    assert len(prices) == sum(len(p.rates) + len(p.media_rates) for p in PRICES.values())
    assert set(prices.unit) == set(UNIT_LABELS.values()) - {"per request"}  # no model of prices.json per request


def test_the_price_list_shows_the_media_models_in_their_own_units():
    rows = {(model, unit): (neurons, usd) for model, unit, neurons, usd in costs.price_rows()}
    assert rows["@cf/black-forest-labs/flux-1-schnell", "per 512×512 tile"] == ("4.8", "$0.000053")
    assert rows["@cf/black-forest-labs/flux-1-schnell", "per step"] == ("9.6", "$0.00011")
    assert rows["@cf/bytedance/stable-diffusion-xl-lightning", "per step"] == ("0", "free")
    assert rows["@cf/myshell-ai/melotts", "per audio minute"] == ("18.6", "$0.00020")
    assert rows["@cf/deepgram/aura-2-en", "per 1,000 characters"] == ("2,727", "$0.030")
    assert rows["@cf/deepgram/aura-1", "per 1,000 characters"] == ("1,364", "$0.015")
    assert rows["@cf/meta/m2m100-1.2b", "per million input tokens"] == ("31,050", "$0.34")
    assert rows["@cf/meta/m2m100-1.2b", "per million output tokens"] == ("31,050", "$0.34")
    assert costs.free_models() == ["@cf/bytedance/stable-diffusion-xl-lightning"]
    assert cost_tab.price_notes().startswith("stable-diffusion-xl-lightning costs nothing while in beta. Offline "
                                             "models are priced as the Workers AI model they stand in for: ")


def test_the_estimates_are_plain_data_the_tab_only_tabulates():
    load = costs.workload(**costs.EXAMPLE)
    rows = costs.cost_rows(load)
    assert all(isinstance(row, tuple) and len(row) == len(costs.COST_COLUMNS) for row in rows)
    assert rows[-2] == ("Workers AI, billed", "6,942", "$2.29")
    assert costs.summary(load).startswith("**1,000 queries a day**")
    assert ("@cf/microsoft/resnet-50", "per million images", "228,055", "$2.51") in costs.price_rows()
    assert costs.EXAMPLE["chat_model"] in costs.priced_models(CHAT)
    assert costs.usage_rows({(CHAT, FAST): 0.1234567}) == [("llama-3.1-8b-instruct-fast", CHAT, 0.123457)]


# ── the charts ──────────────────────────────────────────────────────────────────────────────


def test_the_chart_rows_start_with_every_task_so_later_tasks_get_their_colour():
    frame = cost_tab.usage_frame({(VISION, "@cf/microsoft/resnet-50"): 0.228, (CHAT, FAST): 0.5})
    assert list(frame.task[:4]) == [CHAT, EMBEDDINGS, SPEECH, VISION] and frame.neurons[:4].sum() == 0
    assert set(frame.model) == {"resnet-50", "llama-3.1-8b-instruct-fast"}
    assert frame.neurons.sum() == pytest.approx(0.728) and frame.neurons.dtype == float
    assert cost_tab.usage_frame({}).neurons.dtype == float


# ── through the public API ──────────────────────────────────────────────────────────────────


def test_a_refused_call_is_a_clear_app_error_and_nothing_is_sent(api, budget, fake):
    budget(total=0.1)
    with pytest.raises(AppError, match=r"daily budget of 0.1 neurons has 0.1 left.*; it resets at 00:00 UTC \(in "):
        api.predict(handle_file(str(ASSETS / "cat-chelsea.png")), api_name="/classify")
    with pytest.raises(AppError, match="daily budget"):
        api.predict("Hello", api_name="/chat")
    assert fake.count() == 0


def test_the_visitor_budget_counts_api_calls_of_every_session(api, budget, fake):
    ledger = budget(per_visitor=0.5)
    api.predict(handle_file(str(ASSETS / "cat-chelsea.png")), api_name="/classify")
    api.reset_session()  # a new session from the same address: still the same visitor
    api.predict(handle_file(str(ASSETS / "cat-chelsea.png")), api_name="/classify")
    api.reset_session()
    with pytest.raises(AppError, match="Your daily budget on this demo of 0.5 neurons has 0.0439 left"):
        api.predict(handle_file(str(ASSETS / "cat-chelsea.png")), api_name="/classify")
    assert fake.count() == 2 and ledger.snapshot().total == pytest.approx(2 * 0.228055)


def test_the_endpoints_keep_their_outputs(api, fake):
    assert api.predict("Hello", api_name="/chat") == "".join(fake.stream_tokens)
    info = api.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["parameter_name"] for p in info["/classify"]["parameters"]] == ["image", "model"]
    assert len(info["/classify"]["returns"]) == 1 and len(info["/chat"]["returns"]) == 1
    assert [p["parameter_name"] for p in info["/estimate_cost"]["parameters"]] == list(costs.EXAMPLE)


def test_estimate_cost_endpoint(api):
    summary, table = api.predict(20_000, api_name="/estimate_cost")
    assert re.search(r"\*\*20,000 queries a day\*\* .* ≈ \*\*\$\d+\.\d\d a month\*\*", summary)
    assert table["headers"] == ["item", "neurons per day (est.)", "$ per month (est.)"]


def test_the_example_workloads_fill_every_input_and_price_as_expected():
    loads = {}
    for label, row in costs.SCENARIOS.items():
        assert set(costs.SCENARIO_FIELDS) == set(row), label
        summary, table = asyncio.run(cost_tab.estimate_cost(*(row[name] for name in costs.SCENARIO_FIELDS)))
        assert "a month" in summary and len(table) >= 2, label
        loads[label] = costs.workload(*(row[name] for name in costs.SCENARIO_FIELDS))
    small, medium, large = loads.values()
    assert small.workers_ai_usd < medium.workers_ai_usd < large.workers_ai_usd


# ── a RAG app: Workers AI and Vectorize ─────────────────────────────────────────────────────


def test_vectorize_prices_the_documentations_example_by_hand():
    # 10k vectors × 768 dims, 30k queries a month: (30,000 + 10,000) × 768 = 30.72M queried, 7.68M stored
    bill = rag_costs.vectorize_bill(30_000, 10_000, 768)
    assert bill.queried_dimensions == 30_720_000 and bill.stored_dimensions == 7_680_000
    assert bill.queried_list_usd == pytest.approx(30.72 * 0.01)
    assert bill.stored_list_usd == pytest.approx(0.0768 * 0.05)
    assert bill.list_usd == pytest.approx(0.31104) and round(bill.list_usd, 2) == 0.31  # "≈ $0.31 before allowances"
    assert bill.usd == 0  # inside the 50M queried and 10M stored included a month


def test_vectorize_bills_only_what_is_past_the_included_dimensions():
    bill = rag_costs.vectorize_bill(1_000_000, 100_000, 768)
    # queried (1,000,000 + 100,000) × 768 = 844.8M, 50M included; stored 76.8M, 10M included
    assert bill.queried_usd == pytest.approx((844.8 - 50) * 0.01)
    assert bill.stored_usd == pytest.approx((76.8 - 10) / 100 * 0.05)
    assert bill.usd == pytest.approx(7.948 + 0.0334) and bill.list_usd == pytest.approx(8.448 + 0.0384)


def test_a_rag_app_of_a_thousand_questions_a_day_by_hand():
    app = rag_costs.rag_app(**rag_costs.RAG_EXAMPLE)
    assert (app.embedding.model, app.chat.model) == (BASE, FAST)
    # per question: 20 × 6,058/1e6 = 0.12116 embedding; a 155 + 20 + 5 × 120 = 775-token prompt × 4,119/1e6
    # = 3.192225 and a 150-token answer × 34,868/1e6 = 5.2302: 8.543585 neurons
    assert app.prompt_tokens == 775
    assert app.neurons_per_question == pytest.approx(8.543585)
    assert app.neurons_per_day == pytest.approx(8_543.585) and app.billed_neurons_per_day == 0  # under 10,000 free
    assert app.workers_ai_list_usd == pytest.approx(8_543.585 * 30 * 0.011 / 1000)  # ≈ $2.82
    assert app.vectorize.list_usd == pytest.approx(0.31104)  # 30,000 queries a month over 10,000 × 768
    assert app.list_usd == pytest.approx(2.819383 + 0.31104)  # ≈ $3.13: inside "$3-8 a month"
    assert app.usd == 0  # every allowance covers it
    assert app.indexing.neurons == pytest.approx(10_000 * 120 * 6_058 / 1e6)  # once: 7,270 neurons


def test_the_rag_app_says_where_a_thousand_questions_a_day_land_against_3_to_8_dollars():
    summary, table = asyncio.run(cost_tab.estimate_rag_cost())
    assert summary.startswith("**1,000 questions a day** over 10,000 stored chunks (768 dimensions)")
    assert "≈ **$3.13 a month at list price**, **$0.00 as billed** (est.)" in summary
    assert ("1,000 questions a day cost $3.13 a month at list price, inside the range, and $0.00 as billed, below it: "
            "the free neurons and Vectorize's included dimensions cover all of it.") in summary
    assert list(table.columns) == ["item", "usage a month (est.)", "$ at list price", "$ billed (est.)"]
    rows = {row[0]: row[1:] for row in table.itertuples(index=False)}
    assert rows["Vectorize · queried dimensions"] == (
        "(30,000 queries + 10,000 vectors) × 768 = 30.7M, 50M included", "$0.31", "$0.00")
    assert rows["Vectorize · stored dimensions"] == ("10,000 vectors × 768 = 7.68M, 10M included", "$0.0038", "$0.00")
    assert rows["Workers AI, after 10,000 free neurons a day"][1:] == ("$2.82", "$0.00")
    assert rows["Total a month"] == ("", "$3.13", "$0.00")


def test_a_busier_rag_app_pays_past_its_allowances_and_the_check_still_speaks_of_a_thousand_a_day():
    app = rag_costs.rag_app(**{**rag_costs.RAG_EXAMPLE, "questions_per_day": 5000})
    # Workers AI: 5,000 × 8.543585 = 42,717.925 a day, 32,717.925 billed; Vectorize: (150,000 + 10,000) × 768
    # = 122.88M queried, 72.88M billed
    assert app.workers_ai_usd == pytest.approx(32_717.925 * 30 * 0.011 / 1000)
    assert app.vectorize.usd == pytest.approx(0.7288)
    assert app.usd == pytest.approx(10.7969 + 0.7288, abs=1e-3)
    check = rag_costs.article_check(app)
    assert "1,000 questions a day cost $3.13 a month at list price, inside the range" in check
    bigger = rag_costs.rag_app(**{**rag_costs.RAG_EXAMPLE, "answer_tokens": 400, "chunks_per_question": 8,
                              "tokens_per_chunk": 300})
    assert "as billed, inside it, once the free neurons" in rag_costs.article_check(bigger)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"questions_per_day": -5}, "Questions a day must be a number of zero or more"),
        ({"dimensions": 3072}, "Vector dimensions must be between 1 and 1,536"),
        ({"days_per_month": 0}, "Days per month must be between 1 and 31"),
        ({"chat_model": "@cf/someone/new-model"}, "The chat model @cf/someone/new-model has no known price"),
    ],
)
def test_the_rag_app_explains_bad_inputs(change, message):
    with pytest.raises(gr.Error, match=message):
        asyncio.run(cost_tab.estimate_rag_cost(**{**rag_costs.RAG_EXAMPLE, **change}))


def test_the_index_follows_the_embedding_models_dimensions():
    assert cost_tab.dimensions_of("@cf/baai/bge-small-en-v1.5", 768) == 384
    assert cost_tab.dimensions_of("@cf/baai/bge-large-en-v1.5", 768) == 1024
    assert cost_tab.dimensions_of("@cf/someone/embedder", 512) == 512  # unknown: what the visitor typed
    assert rag_costs.vectorize_price_rows() == [
        ("queried vector dimensions", "50M", "30M", "$0.01 per 1M"),
        ("stored vector dimensions", "10M", "5M", "$0.05 per 100M"),
    ]
    assert "- queried vector dimensions: 50M a month included on Workers Paid (30M on the free plan), then $0.01 per " \
           "1M" in cost_tab.vectorize_prices()


def test_estimate_rag_cost_endpoint(api):
    info = api.view_api(print_info=False, return_format="dict")["named_endpoints"]["/estimate_rag_cost"]
    assert [p["parameter_name"] for p in info["parameters"]] == list(rag_costs.RAG_EXAMPLE)
    summary, table = api.predict(api_name="/estimate_rag_cost")
    assert "≈ **$3.13 a month at list price**" in summary
    assert table["headers"] == ["item", "usage a month (est.)", "$ at list price", "$ billed (est.)"]


def test_every_task_the_playground_reaches_gets_a_bar():
    """The chart fixes its colours at the first frame and draws no bar for a task without one: the Playground's
    tasks have colours, and any other task is drawn as "Other tasks"."""
    from components.tabs import cost

    frame = cost.usage_frame({("Text-to-Image", "@cf/black-forest-labs/flux-1-schnell"): 57.6,
                              ("Object Detection", "@cf/facebook/detr-resnet-50"): 1.0})
    drawn = frame[frame.neurons > 0]
    assert dict(zip(drawn.model, drawn.task)) == {"flux-1-schnell": "Text-to-Image", "detr-resnet-50": "Other tasks"}
    assert set(frame.task) <= set(cost.TASK_COLOURS)

"""Neuron estimates against hand-computed values, from the one price list (components/workers_ai/prices.json)."""

import json

import pytest

from components.workers_ai import (
    FREE_NEURONS_PER_DAY,
    PRICES,
    STAND_INS,
    USD_PER_NEURON,
    builtin_models,
    estimate,
    format_neurons,
    format_usd,
    price_of,
    prompt_bound,
    token_bound,
)
from components.workers_ai._catalogue import _TABLE as MODEL_TABLE

FAST = "@cf/meta/llama-3.1-8b-instruct-fast"


def test_the_tariff_is_data():
    assert USD_PER_NEURON == pytest.approx(0.011 / 1000)
    assert FREE_NEURONS_PER_DAY == 10_000


def test_chat_from_input_and_output_tokens():
    # 4,119 neurons per M input tokens, 34,868 per M output: 4.119 + 17.434
    cost = estimate(FAST, input_tokens=1000, output_tokens=500)
    assert cost.neurons == pytest.approx(21.553)
    assert cost.usd == pytest.approx(0.000237083)
    assert cost.describe() == "est. 21.6 neurons ≈ $0.00024 · 1,000 → 500 tokens"


def test_the_70b_model_costs_what_its_row_says():
    cost = estimate("@cf/meta/llama-3.3-70b-instruct-fp8-fast", input_tokens=2_000_000, output_tokens=1_000_000)
    assert cost.neurons == pytest.approx(2 * 26_668 + 204_805)


def test_speech_by_the_minute_of_audio():
    assert estimate("@cf/openai/whisper", audio_seconds=90).neurons == pytest.approx(61.71)  # 1.5 × 41.14
    assert estimate("@cf/openai/whisper-tiny-en", audio_seconds=60).neurons == pytest.approx(41.14)
    assert estimate("@cf/openai/whisper-large-v3-turbo", audio_seconds=30).neurons == pytest.approx(23.315)
    assert estimate("@cf/openai/whisper", audio_seconds=90).basis == "90 s of audio"


def test_image_classification_per_image():
    cost = estimate("@cf/microsoft/resnet-50", images=1)
    assert cost.neurons == pytest.approx(0.228055)
    assert cost.describe() == "est. 0.228 neurons ≈ $0.0000025 · 1 image"


def test_embeddings_from_token_counts():
    assert estimate("@cf/baai/bge-small-en-v1.5", input_tokens=2000).neurons == pytest.approx(3.682)
    assert estimate("@cf/baai/bge-large-en-v1.5", input_tokens=1_000_000).neurons == pytest.approx(18_582)


@pytest.mark.parametrize(("text", "tokens"), [("", 0), ("abcd", 4), ("word " * 400, 2000), ("日本語", 9), ("👍", 4)])
def test_a_token_bound_holds_for_any_script(text, tokens):
    """One token per UTF-8 byte at most: the old "4 characters a token" undercounted CJK and emoji up to 4×."""
    assert token_bound(text) == tokens
    assert prompt_bound([{"role": "user", "content": text}]) == tokens + 8


def test_embedding_tokens_are_counted_exactly_with_the_shipped_wordpiece_or_bounded():
    from components.core.tokens import _wordpiece, embedding_tokens

    if _wordpiece() is None:
        pytest.skip("the offline engine's tokenizer is not installed")
    assert embedding_tokens(["Hello world"], "@cf/baai/bge-small-en-v1.5") == 4  # [CLS] hello world [SEP]
    chinese = "东京是日本的首都" * 10  # one WordPiece token per CJK character: 80, where 4-chars-a-token said 20
    assert embedding_tokens([chinese], "@cf/baai/bge-small-en-v1.5") == 82
    assert embedding_tokens([chinese], "@cf/baai/bge-m3") == token_bound(chinese) + 2  # another vocabulary


def test_an_unknown_model_is_price_unknown_never_a_guess():
    cost = estimate("@cf/someone/brand-new-model", input_tokens=1000, output_tokens=100)
    assert cost.neurons is None and cost.usd is None and not cost.known
    assert cost.describe() == "price unknown for brand-new-model"
    assert price_of("@cf/meta/llama-3.1-8b-instruct") is None  # deprecated, and not on the price list


def test_a_model_with_no_rate_for_what_was_sent_is_price_unknown():
    assert estimate("@cf/microsoft/resnet-50", input_tokens=100).neurons is None
    assert estimate("@cf/baai/bge-base-en-v1.5", input_tokens=10, output_tokens=10).neurons is None


def test_a_local_model_is_priced_as_its_cloudflare_stand_in():
    cost = estimate("@local/smollm2-135m-instruct", input_tokens=1000, output_tokens=500)
    assert cost.priced_as == FAST and cost.neurons == pytest.approx(21.553)
    assert cost.describe(offline=True) == (
        "Workers AI would charge est. 21.6 neurons ≈ $0.00024 (as llama-3.1-8b-instruct-fast) · 1,000 → 500 tokens"
    )
    assert estimate("@local/whisper-tiny-en", audio_seconds=90).neurons == pytest.approx(61.71)
    assert estimate("@local/efficientnet-lite0", images=1).neurons == pytest.approx(0.228055)
    assert estimate("@local/all-minilm-l6-v2", input_tokens=2000).neurons == pytest.approx(3.682)


def test_every_built_in_model_has_a_price_and_every_local_one_a_stand_in():
    for task in MODEL_TABLE["cloudflare"]:
        assert all(m.name in PRICES for m in builtin_models(task, "cloudflare")), task
    for task in MODEL_TABLE["local"]:
        assert all(STAND_INS.get(m.name) in PRICES for m in builtin_models(task, "local")), task


def test_prices_live_in_one_file():
    from pathlib import Path

    import components.workers_ai as package

    table = json.loads((Path(package.__file__).parent / "prices.json").read_text())
    assert set(table["models"]) == set(PRICES) and table["stand_ins"] == dict(STAND_INS)


@pytest.mark.parametrize(
    ("neurons", "shown"), [(21.553, "21.6"), (0.228055, "0.228"), (1.5, "1.5"), (0.1, "0.1"), (1234.6, "1,235"),
                           (99.97, "100"), (0, "0")],
)
def test_neurons_read_naturally(neurons, shown):
    assert format_neurons(neurons) == shown


@pytest.mark.parametrize(
    ("usd", "shown"), [(0.000237083, "$0.00024"), (0.0999, "$0.10"), (0.99999, "$1.00"), (2.2908, "$2.29"),
                       (720, "$720.00"), (0, "$0.00")],
)
def test_dollars_read_naturally(usd, shown):
    assert format_usd(usd) == shown

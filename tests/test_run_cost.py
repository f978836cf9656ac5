"""`run_estimate`: what one Playground run cost — the answer's `cf-ai-neurons` header when it carries one, else the
price list times what the payload and the output show — checked against hand-computed values and the fake."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace

import pytest

from components.workers_ai import (
    Catalogue, ModelInfo, ModelOutput, audio_seconds, estimate, format_neurons, format_usd, price_from_catalogue,
    prompt_bound, run_estimate, token_bound,
)
from tests.conftest import ASSETS
from tests.media_models import AURA, FAST, FLUX, M2M, MELO, SDXL


def run(coro):
    return asyncio.run(coro)


def test_the_header_is_the_cost_and_says_it_was_measured():
    output = ModelOutput(result={"image": "…"}, content_type="application/json", neurons=12.5)
    cost = run_estimate(FLUX, {"prompt": "a fox", "steps": 2}, output)
    assert cost.neurons == 12.5 and cost.measured and cost.basis == "4 tiles of 512×512, 2 steps"
    assert cost.describe() == "12.5 neurons ≈ $0.00014 · 4 tiles of 512×512, 2 steps · as reported by Cloudflare"
    assert cost.describe(basis=False) == "12.5 neurons ≈ $0.00014 · as reported by Cloudflare"
    unpriced = run_estimate("@cf/facebook/detr-resnet-50", b"...", ModelOutput(result=[], neurons=0.4))
    assert unpriced.neurons == 0.4 and unpriced.measured  # a measured cost needs no price list


def test_image_generation_by_tiles_and_steps():
    assert run_estimate(FLUX, {"prompt": "a fox"}).neurons == pytest.approx(4 * 4.8 + 4 * 9.6)  # defaults
    assert run_estimate(FLUX, {"prompt": "a fox", "steps": 8}).neurons == pytest.approx(19.2 + 76.8)
    free = run_estimate(SDXL, {"prompt": "a fox", "width": 2048, "height": 512, "num_steps": 10})
    assert free.neurons == 0 and free.known and free.basis == "10 steps"  # priced per step only (at 0)


def test_speech_by_characters_and_by_the_minutes_made():
    assert run_estimate(AURA, {"text": "x" * 500}).neurons == pytest.approx(2727 / 2)
    assert run_estimate("@cf/deepgram/aura-1", {"text": "x" * 1000}).neurons == pytest.approx(1364)
    before = run_estimate(MELO, {"prompt": "x" * 100})  # a bound: 0.2 s per character
    assert before.neurons == pytest.approx(18.63 * 20 / 60) and before.basis == "20 s of audio"


def test_speech_recognition_by_the_recording_it_heard():
    wav = (ASSETS / "speech-fox.wav").read_bytes()
    seconds = audio_seconds(wav)
    assert seconds == pytest.approx(3.8, abs=0.1)
    # Before the run the header is the sender's claim: the bound is the file's size at the least a WAV holds a second.
    bound = len(wav) / 8000
    assert run_estimate("@cf/openai/whisper", wav).neurons == pytest.approx(41.14 * bound / 60)
    turbo = {"audio": base64.b64encode(wav).decode()}
    assert run_estimate("@cf/openai/whisper-large-v3-turbo", turbo).neurons == pytest.approx(46.63 * bound / 60)
    heard = ModelOutput(result={"text": "the quick brown fox"})  # after it: the recording's own length
    assert run_estimate("@cf/openai/whisper", wav, heard).neurons == pytest.approx(41.14 * seconds / 60)
    assert run_estimate("@cf/microsoft/resnet-50", b"\x89PNG").neurons == pytest.approx(0.228055)


def test_text_by_usage_or_by_bounds():
    body = {"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 100}
    upper = run_estimate(FAST, body)
    assert upper.neurons == pytest.approx(estimate(FAST, input_tokens=prompt_bound(body["messages"]),
                                                   output_tokens=100).neurons)
    used = ModelOutput(result={"response": "Hi!", "usage": {"prompt_tokens": 12, "completion_tokens": 3}})
    assert run_estimate(FAST, body, used).neurons == pytest.approx(estimate(FAST, input_tokens=12,
                                                                             output_tokens=3).neurons)
    assert run_estimate(FAST, {"prompt": "hi"}).basis.endswith("→ 256 tokens")  # the default max_tokens
    translated = ModelOutput(result={"translated_text": "Vielen Dank."})
    cost = run_estimate(M2M, {"text": "Thank you very much.", "target_lang": "de"}, translated)
    assert cost.neurons == pytest.approx(31050 * (token_bound("Thank you very much.") + 12) / 1e6)


def test_unknown_is_none_never_a_guess():
    assert run_estimate("@cf/facebook/detr-resnet-50", b"\x89PNG") is None
    assert run_estimate("@cf/llava-hf/llava-1.5-7b-hf", {"image": [1, 2]}) is None
    assert run_estimate("@cf/someone/new-model", {"prompt": "hi"}) is None
    # A recording whose length cannot be read is bounded by its size (16 bytes at 8 kbit/s), never taken as 0 s.
    assert run_estimate("@cf/openai/whisper", b"not audio at all").neurons == pytest.approx(41.14 * 0.016 / 60)


@pytest.mark.parametrize(("model", "body"), [
    (FLUX, {"prompt": "a lighthouse", "steps": 6}),
    (SDXL, {"prompt": "a lighthouse", "width": 1024, "height": 768, "num_steps": 4}),
    (MELO, {"prompt": "The weather is nice today, isn't it?"}),
    (AURA, {"text": "The weather is nice today, isn't it?"}),
])
def test_the_price_list_agrees_with_what_the_fake_measures(client, fake, model, body):
    measured = run(client.invoke(model, body))
    assert measured.neurons is not None
    fake.media_neurons = False
    unmeasured = run(client.invoke(model, body))
    assert unmeasured.neurons is None
    from_prices = run_estimate(model, body, unmeasured)
    assert not from_prices.measured and from_prices.neurons == pytest.approx(measured.neurons, rel=0.02, abs=1e-9)
    assert run_estimate(model, body, measured).neurons == measured.neurons


def test_a_translation_bound_is_never_below_what_the_fake_measures(client, fake):
    body = {"text": "I'll have an order of the moule frites", "target_lang": "fr"}
    measured = run(client.invoke(M2M, body))
    fake.media_neurons = False
    bounded = run_estimate(M2M, body, run(client.invoke(M2M, body)))
    assert bounded.neurons >= measured.neurons and run_estimate(M2M, body).neurons > 0


# ── a model the price list does not know, priced from its catalogue entry ───────────────────

KIMI = "@cf/moonshotai/kimi-k2.5"
WAV = (ASSETS / "speech-fox.wav").read_bytes()
# One body per model of the fake's catalogue that prices.json prices too.
BODIES = {
    FAST: {"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 100},
    "@cf/meta/llama-3.1-8b-instruct-fp8": {"prompt": "Say hello", "max_tokens": 50},
    "@cf/meta/llama-3.3-70b-instruct-fp8-fast": {"prompt": "Say hello"},
    "@cf/meta/llama-3.2-1b-instruct": {"prompt": "Say hello"},
    "@cf/meta/llama-3.2-3b-instruct": {"prompt": "Say hello"},
    "@cf/ibm-granite/granite-4.0-h-micro": {"prompt": "Say hello"},
    "@cf/zai-org/glm-4.7-flash": {"messages": [{"role": "user", "content": "hi"}]},
    "@cf/google/gemma-4-26b-a4b-it": {"messages": [{"role": "user", "content": "hi"}]},
    "@cf/baai/bge-small-en-v1.5": {"text": ["one passage", "another"]},
    "@cf/baai/bge-base-en-v1.5": {"text": "a passage"},
    "@cf/baai/bge-large-en-v1.5": {"text": "a passage"},
    "@cf/baai/bge-m3": {"text": "a passage"},
    "@cf/openai/whisper": WAV,
    "@cf/openai/whisper-large-v3-turbo": {"audio": base64.b64encode(WAV).decode()},
    "@cf/microsoft/resnet-50": b"\x89PNG",
    FLUX: {"prompt": "a fox", "steps": 6},
    SDXL: {"prompt": "a fox", "num_steps": 4},
    MELO: {"prompt": "The weather is nice today."},
    AURA: {"text": "The weather is nice today."},
    "@cf/deepgram/aura-1": {"text": "x" * 1000},
    M2M: {"text": "Thank you very much.", "target_lang": "de"},
}


@pytest.fixture
def catalogue(client):
    """Every model of the fake's catalogue, as the client reads it (GET /ai/models/search, every page)."""
    return {m.name: m for m in run(Catalogue(client).all_models())}


def test_the_catalogues_price_estimates_a_model_the_price_list_does_not_know(catalogue):
    kimi = catalogue[KIMI]
    body = {"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 100}
    assert run_estimate(KIMI, body) is None  # without its catalogue entry: unknown, as before
    cost = run_estimate(KIMI, body, info=kimi)
    # $0.6 and $3 per M tokens at $0.011 per 1,000 neurons; the cached-input rate is another way to pay, not more
    bound = prompt_bound(body["messages"])
    assert cost.neurons == pytest.approx((bound * 0.6 + 100 * 3) / 1e6 / 0.000011) and cost.from_catalogue
    assert cost.describe() == (f"est. {format_neurons(cost.neurons)} neurons ≈ {format_usd(cost.usd)} · "
                               f"{bound:,} → 100 tokens · at the catalogue's price")
    used = ModelOutput(result={"response": "Hi", "usage": {"prompt_tokens": 9, "completion_tokens": 2}})
    assert run_estimate(KIMI, body, used, info=kimi).neurons == pytest.approx((9 * 0.6 + 2 * 3) / 1e6 / 0.000011)
    measured = run_estimate(KIMI, body, ModelOutput(result={}, neurons=3.5), info=kimi)
    assert measured.measured and not measured.from_catalogue and measured.neurons == 3.5  # the header wins


def test_the_price_list_comes_first_and_another_models_entry_is_not_used(catalogue):
    costly = replace(catalogue[AURA], price=(("per 1k characters", 100.0),))
    cost = run_estimate(AURA, {"text": "x" * 500}, info=costly)
    assert cost.neurons == pytest.approx(2727 / 2) and not cost.from_catalogue
    assert "catalogue" not in cost.describe()
    assert run_estimate(KIMI, {"prompt": "hi"}, info=catalogue[FAST]) is None  # not kimi's entry


@pytest.mark.parametrize("model", sorted(BODIES))
def test_the_catalogues_dollars_agree_with_the_price_lists_neurons(catalogue, model):
    """Priced as an unknown model from its catalogue entry, every run costs what prices.json says, to the
    catalogue's rounding (three significant digits; 0.045 for llama-3.1-8b-instruct-fast: 0.7%)."""
    unknown = "@cf/unlisted/" + model.rsplit("/", 1)[-1]
    info = replace(catalogue[model], name=unknown)
    listed = run_estimate(model, BODIES[model])
    priced = run_estimate(unknown, BODIES[model], info=info)
    assert run_estimate(unknown, BODIES[model]) is None
    assert priced.from_catalogue and not listed.from_catalogue
    assert priced.neurons == pytest.approx(listed.neurons, rel=0.01, abs=1e-12)


def test_units_a_run_cannot_measure_leave_the_price_unknown():
    def info(*price, beta=False):
        return ModelInfo("@cf/someone/model", beta=beta, price=price)

    assert price_from_catalogue(info()) is None
    assert run_estimate("@cf/someone/model", {"prompt": "hi"}, info=info(("per video second", 0.1))) is None
    # one known unit beside an unknown one would leave part of the bill out
    assert run_estimate("@cf/someone/model", {"prompt": "hi"},
                        info=info(("per M input tokens", 0.1), ("per video second", 0.1))) is None
    assert price_from_catalogue(info(("per M cached input tokens", 0.1))) is None  # only an alternative rate
    speech = run_estimate("@cf/someone/model", {"text": "x" * 2000}, info=info(("per 1k characters", 0.011)))
    assert speech.neurons == pytest.approx(2000) and speech.basis == "2,000 characters"


def test_a_catalogue_priced_image_needs_its_steps_unless_steps_are_free():
    phoenix = ModelInfo("@cf/leonardo/phoenix-1.0", price=(("per 512 by 512 tile", 0.00583), ("per step", 0.00011)))
    assert run_estimate(phoenix.name, {"prompt": "a fox"}, info=phoenix) is None  # its default steps: not known
    cost = run_estimate(phoenix.name, {"prompt": "a fox", "steps": 10, "width": 1024, "height": 768}, info=phoenix)
    assert cost.neurons == pytest.approx((4 * 0.00583 + 10 * 0.00011) / 0.000011)  # 768 high: 2 rows of tiles
    assert cost.basis == "4 tiles of 512×512, 10 steps"
    free = ModelInfo("@cf/someone/free-in-beta", beta=True, price=(("per step", 0),))
    assert run_estimate(free.name, {"prompt": "a fox"}, info=free).neurons == 0


def test_a_price_per_request_counts_one_request_a_run():
    detector = ModelInfo("@cf/someone/detector", price=(("per inference request", 0.0000011),))
    cost = run_estimate(detector.name, b"\x89PNG", info=detector)
    assert cost.neurons == pytest.approx(0.1) and cost.basis == "1 request"
    assert cost.describe() == "est. 0.1 neurons ≈ $0.0000011 · 1 request · at the catalogue's price"


def test_a_generation_is_bounded_by_any_max_tokens_the_schema_admits():
    """JSON Schema counts 100000.0 as an integer: a float max_tokens bounds the reservation as the integer would,
    and zero or less (the model then writes its default) bounds as the default."""
    prompt = {"prompt": "Tell me a story."}
    as_int = run_estimate(FAST, {**prompt, "max_tokens": 100000})
    assert run_estimate(FAST, {**prompt, "max_tokens": 100000.0}).neurons == as_int.neurons
    default = run_estimate(FAST, prompt)
    assert run_estimate(FAST, {**prompt, "max_tokens": 0}).neurons == default.neurons
    assert run_estimate(FAST, {**prompt, "max_tokens": -5}).neurons == default.neurons


def test_whole_floats_count_as_the_integers_the_schema_takes_them_for():
    """flux at 8.0 steps is 8 steps (JSON Schema validates 8.0 as an integer), not the default 4."""
    assert run_estimate(FLUX, {"prompt": "a fox", "steps": 8.0}).neurons == \
        run_estimate(FLUX, {"prompt": "a fox", "steps": 8}).neurons


def test_a_recording_whose_header_claims_no_length_is_bounded_by_its_size():
    """A WAV header is the sender's claim: a megabyte that says it lasts no time is reserved by its size."""
    liar = bytearray((ASSETS / "speech-fox.wav").read_bytes())
    liar[28:32] = (2**31).to_bytes(4, "little")  # byte rate: 2 GB a second, so "0 s"
    liar += bytes(1_000_000)
    assert run_estimate("@cf/openai/whisper", bytes(liar)).neurons >= 41.14 * (len(liar) / 8000) / 60

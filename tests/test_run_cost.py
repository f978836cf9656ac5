"""`run_estimate`: what one Playground run cost — the answer's `cf-ai-neurons` header when it carries one, else the
price list times what the payload and the output show — checked against hand-computed values and the fake."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from components.workers_ai import ModelOutput, audio_seconds, estimate, prompt_bound, run_estimate, token_bound

ASSETS = Path(__file__).resolve().parent.parent / "assets"
FLUX = "@cf/black-forest-labs/flux-1-schnell"
SDXL = "@cf/bytedance/stable-diffusion-xl-lightning"
MELO = "@cf/myshell-ai/melotts"
AURA = "@cf/deepgram/aura-2-en"
M2M = "@cf/meta/m2m100-1.2b"
FAST = "@cf/meta/llama-3.1-8b-instruct-fast"


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
    assert run_estimate("@cf/openai/whisper", wav).neurons == pytest.approx(41.14 * seconds / 60)
    turbo = {"audio": base64.b64encode(wav).decode()}
    assert run_estimate("@cf/openai/whisper-large-v3-turbo", turbo).neurons == pytest.approx(46.63 * seconds / 60)
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
    assert run_estimate("@cf/openai/whisper", b"not audio at all") is None  # its length cannot be read


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

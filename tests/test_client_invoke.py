"""`WorkersAI.invoke` against the real fake server on loopback: any model, any answer — JSON results, base64 and raw
binary outputs decoded for real — with the retries, typed errors, scrubbing, size bound and trace of every call."""

from __future__ import annotations

import asyncio
import base64
import io
import json

import pytest
import soundfile
from PIL import Image

from components.workers_ai import (
    BadInputError,
    ModelOutput,
    ProtocolError,
    WorkersAI,
    audio_seconds,
    capture,
    curl_command,
)
from tests.conftest import ASSETS, TOKEN, make_settings
from tests.fake_workers_ai import Fault
from tests.media_models import AURA, DETR, FAST, FLUX, LLAVA, M2M, MELO, SDXL


def run(coro):
    return asyncio.run(coro)


def is_mpeg_audio(data: bytes) -> bool:
    """An MPEG audio frame's sync word (11 set bits) at the start, or an ID3 tag before one."""
    return data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)


def decoded_seconds(data: bytes) -> float:
    samples, rate = soundfile.read(io.BytesIO(data))
    return len(samples) / rate


def test_flux_answers_json_whose_base64_image_is_a_jpeg(client, fake):
    output = run(client.invoke(FLUX, {"prompt": "a lighthouse at dusk", "steps": 4}))
    assert isinstance(output, ModelOutput) and output.data is None and output.content_type == "application/json"
    with Image.open(io.BytesIO(base64.b64decode(output.result["image"], validate=True))) as image:
        assert image.format == "JPEG" and image.width > 0
    assert output.neurons == pytest.approx(57.6)  # the cf-ai-neurons header: 4 tiles × 4.8 + 4 steps × 9.6
    assert fake.requests[-1].json == {"prompt": "a lighthouse at dusk", "steps": 4}


def test_sdxl_answers_a_raw_png_at_the_asked_size(client, fake):
    output = run(client.invoke(SDXL, {"prompt": "a red barn", "width": 768, "height": 512, "seed": 11}))
    assert output.result is None and output.content_type == "image/png" and output.neurons == 0
    with Image.open(io.BytesIO(output.data)) as image:
        assert image.format == "PNG" and image.size == (768, 512)
    again = run(client.invoke(SDXL, {"prompt": "a red barn", "width": 768, "height": 512, "seed": 11}))
    assert again.data == output.data, "the same seed draws the same picture"


def test_melotts_answers_a_base64_mp3_that_decodes(client):
    output = run(client.invoke(MELO, {"prompt": "Welcome to the Workers AI playground.", "lang": "en"}))
    mp3 = base64.b64decode(output.result["audio"], validate=True)
    assert is_mpeg_audio(mp3)
    assert audio_seconds(mp3) == pytest.approx(decoded_seconds(mp3), abs=0.01)
    assert output.neurons == pytest.approx(18.63 * decoded_seconds(mp3) / 60, rel=0.05)


def test_aura_answers_a_raw_mp3_body(client):
    text = "Good evening, and thank you for listening."
    output = run(client.invoke(AURA, {"text": text, "speaker": "orion"}))
    assert output.content_type == "audio/mpeg" and output.result is None and is_mpeg_audio(output.data)
    assert decoded_seconds(output.data) > 1
    assert output.neurons == pytest.approx(2727 * len(text) / 1000)


def test_translation_and_llava_answer_json(client):
    translated = run(client.invoke(M2M, {"text": "Where is the train station?", "target_lang": "es"}))
    assert translated.result == {"translated_text": "¿Dónde está la estación de tren?"}
    coffee = list((ASSETS / "coffee-cup.png").read_bytes())
    described = run(client.invoke(LLAVA, {"image": coffee, "prompt": "Describe it.", "max_tokens": 64}))
    assert "600×400" in described.result["description"] and described.neurons is None  # no published price


def test_a_raw_image_goes_up_as_bytes_and_the_trace_shows_a_file_not_the_bytes(client, fake):
    cat = (ASSETS / "cat-chelsea.png").read_bytes()
    with capture(("session", "playground")) as trace:
        output = run(client.invoke(DETR, cat, "image/png"))
    assert output.result[0]["label"] == "cat" and set(output.result[0]["box"]) == {"xmin", "ymin", "xmax", "ymax"}
    sent = fake.requests[-1]
    assert sent.body == cat and sent.headers["content-type"] == "image/png"
    (entry,) = trace
    assert entry.body_json is None and entry.body_bytes == len(cat) and entry.content_type == "image/png"
    command = curl_command(entry, "cat.png")
    assert "--data-binary @cat.png" in command and "$CLOUDFLARE_ACCOUNT_ID" in command
    assert "$CLOUDFLARE_API_TOKEN" in command and TOKEN not in command and len(command) < 400


def test_a_json_body_is_shown_in_curl_shortened(client):
    with capture(("session", "playground-json")) as trace:
        run(client.invoke(FLUX, {"prompt": "a fox " * 100}))
    command = curl_command(trace[0])
    sent = json.loads(command.split("--data ", 1)[1].strip("'"))
    assert sent["prompt"].startswith("a fox a fox") and "characters in all" in sent["prompt"]
    assert trace[0].neurons == pytest.approx(57.6)


def test_raw_bytes_default_to_octet_stream(client, fake):
    run(client.invoke(DETR, (ASSETS / "cat-chelsea.png").read_bytes()))
    assert fake.requests[-1].headers["content-type"] == "application/octet-stream"


def test_text_generation_through_invoke_is_the_envelope_result(client):
    output = run(client.invoke(FAST, {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}))
    assert output.result["response"] == "Hello! I" and output.result["usage"]["completion_tokens"] == 3
    assert output.neurons is None  # text models send no header unless the fake is told to


@pytest.mark.parametrize(("model", "body", "sentence"), [
    (FLUX, {"prompt": "x" * 2049}, "Length of '/prompt' must be <= 2048"),
    (FLUX, {"prompt": "a fox", "steps": 12}, "'/steps' must be <= 8"),
    (FLUX, {"prompt": ["a", "fox"]}, "Type mismatch of '/prompt', 'array' not in 'string'"),
    (SDXL, {"negative_prompt": "blur"}, "required properties at '/' are 'prompt'"),
    (AURA, {"text": "Hello", "speaker": "nobody"}, "'/speaker' must be one of 'amalthea','andromeda',"),
    (M2M, {"text": "Hello", "target_lang": 7}, "Type mismatch of '/target_lang', 'number' not in 'string'"),
])
def test_bad_inputs_are_bad_input_errors_with_the_runtime_sentence_never_retried(client, fake, model, body, sentence):
    with pytest.raises(BadInputError) as caught:
        run(client.invoke(model, body))
    assert caught.value.code == 5006 and caught.value.status == 400
    assert caught.value.user_message.startswith(f"Workers AI rejected the input: Bad input: Error: {sentence}")
    assert fake.count(model) == 1


def test_an_input_that_is_neither_an_object_nor_bytes_is_refused_before_sending(client, fake):
    with pytest.raises(BadInputError, match="JSON object or the bytes of a file"):
        run(client.invoke(FLUX, ["a", "fox"]))
    assert fake.count() == 0


def test_capacity_errors_are_retried_then_the_binary_answer_arrives(client, fake):
    fake.fail(Fault.error(429, 3040, "Capacity temporarily exceeded, please try again."), model=SDXL)
    output = run(client.invoke(SDXL, {"prompt": "a kite", "width": 256, "height": 256}))
    assert Image.open(io.BytesIO(output.data)).size == (256, 256) and fake.count(SDXL) == 2


def test_an_error_echoing_the_token_is_scrubbed(client, fake):
    fake.fail(Fault.error(400, 5006, f"AiError: Bad input: Error: header was Bearer {TOKEN}"), model=FLUX)
    with pytest.raises(BadInputError) as caught:
        run(client.invoke(FLUX, {"prompt": "a fox"}))
    assert TOKEN not in str(caught.value) and TOKEN not in (caught.value.detail or "")
    assert "[redacted]" in caught.value.user_message


def test_an_octet_stream_answer_is_named_by_its_bytes(client, fake):
    png = (ASSETS / "cat-chelsea.png").read_bytes()
    fake.fail(Fault.raw(200, png, "application/octet-stream"), model=SDXL)
    output = run(client.invoke(SDXL, {"prompt": "a cat"}))
    assert output.data == png and output.content_type == "image/png"


def test_an_html_page_with_200_is_still_a_protocol_error(client, fake):
    fake.fail(Fault.raw(200, "<html>Service page</html>"), model=FLUX)
    with pytest.raises(ProtocolError, match="not JSON"):
        run(client.invoke(FLUX, {"prompt": "a fox"}))


def test_an_empty_binary_answer_is_a_protocol_error(client, fake):
    fake.fail(Fault.raw(200, b"", "image/png"), model=SDXL)
    with pytest.raises(ProtocolError, match="empty image/png"):
        run(client.invoke(SDXL, {"prompt": "a fox"}))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversize_answer_is_refused_while_reading_never_retried(fake, chunked):
    client = WorkersAI(make_settings(fake), max_answer_bytes=64 * 1024)
    fake.fail(Fault.raw(200, b"\x89PNG\r\n\x1a\n" + bytes(200 * 1024), "image/png", chunked=chunked), model=SDXL)
    with pytest.raises(ProtocolError) as caught:
        run(client.invoke(SDXL, {"prompt": "a fox"}))
    assert "more than 0.0625 MB" in caught.value.user_message and caught.value.request_id
    assert fake.count(SDXL) == 1
    assert run(client.invoke(SDXL, {"prompt": "a fox", "width": 256, "height": 256})).data  # the client still works


def test_the_default_bound_is_20_mb(client, fake):
    fake.fail(Fault.raw(200, bytes(21 * 1024 * 1024), "audio/mpeg"), model=AURA)
    with pytest.raises(ProtocolError, match="more than 20 MB"):
        run(client.invoke(AURA, {"text": "hi"}))
    assert run(client.invoke(AURA, {"text": "hi"})).content_type == "audio/mpeg"


def test_run_and_run_bytes_still_answer_as_before(client):
    assert run(client.run(M2M, {"text": "Thank you very much.", "target_lang": "de"})) == {
        "translated_text": "Vielen Dank."}
    found = run(client.run_bytes(DETR, (ASSETS / "cat-chelsea.png").read_bytes()))
    assert found[0]["label"] == "cat"

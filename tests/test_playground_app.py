"""The Playground through the public API, against the fake Workers AI server: the three first-class tasks, any
model by its schema (JSON, files, binary and base64 answers), the refusals, metering, and offline."""

from __future__ import annotations

import io
import json

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from components.core.playground.outputs import sniff
from tests.conftest import ASSETS as FIXTURES  # the app's own copies of the CC0 fixtures


def test_flux_draws_a_jpeg_from_its_base64_answer(api, fake):
    path = api.predict("A lighthouse at dusk", "@cf/black-forest-labs/flux-1-schnell", 4, 1024, 1024, -1, "",
                       api_name="/generate_image")
    data = open(path, "rb").read()
    assert sniff(data) == "image/jpeg"
    Image.open(io.BytesIO(data)).verify()
    sent = fake.requests[-1]
    assert sent.model == "@cf/black-forest-labs/flux-1-schnell" and sent.json == {"prompt": "A lighthouse at dusk",
                                                                                    "steps": 4}


def test_sdxl_lightning_answers_a_raw_png_of_the_asked_size(api, fake):
    path = api.predict("A red bicycle", "@cf/bytedance/stable-diffusion-xl-lightning", 6, 512, 256, 42,
                       "blurry", api_name="/generate_image")
    image = Image.open(path)
    assert image.format == "PNG" and image.size == (512, 256)
    assert fake.requests[-1].json == {"prompt": "A red bicycle", "num_steps": 6, "width": 512, "height": 256,
                                      "seed": 42, "negative_prompt": "blurry"}


def test_image_refusals_are_sentences(api, fake):
    with pytest.raises(AppError, match="Steps must be a whole number from 1 to 8"):
        api.predict("A cat", "@cf/black-forest-labs/flux-1-schnell", 12, 1024, 1024, -1, "",
                    api_name="/generate_image")
    with pytest.raises(AppError, match="2,048 are sent"):
        api.predict("x" * 3000, "@cf/black-forest-labs/flux-1-schnell", 4, 1024, 1024, -1, "",
                    api_name="/generate_image")
    assert not fake.requests  # refused before anything was sent


def test_speech_from_melotts_and_aura(api, fake):
    melotts = api.predict("Hello there", "@cf/myshell-ai/melotts", "", "en", api_name="/speak")
    assert sniff(open(melotts, "rb").read()) == "audio/mpeg"
    aura = api.predict("Hello there", "@cf/deepgram/aura-2-en", "orion", "en", api_name="/speak")
    assert sniff(open(aura, "rb").read()) == "audio/mpeg"
    assert fake.requests[-1].json == {"text": "Hello there", "speaker": "orion"}
    with pytest.raises(AppError, match="Speaker must be one of"):
        api.predict("Hello", "@cf/deepgram/aura-2-en", "nobody", "en", api_name="/speak")


def test_translation_and_its_refusals(api, fake):
    assert api.predict("Where is the train station?", "fr", "en", "@cf/meta/m2m100-1.2b",
                       api_name="/translate") == "Où est la gare ?"
    with pytest.raises(AppError, match="same"):
        api.predict("Hello", "en", "en", "@cf/meta/m2m100-1.2b", api_name="/translate")
    with pytest.raises(AppError, match="not a language code"):
        api.predict("Hello", "../etc", "en", "@cf/meta/m2m100-1.2b", api_name="/translate")


def test_run_model_takes_any_model_with_its_json(api, fake):
    answer, file = api.predict("@cf/meta/m2m100-1.2b", json.dumps({"text": "Hello, how are you?", "target_lang": "de"}),
                               None, api_name="/run_model")
    assert answer["kind"] == "text" and answer["translated_text"] == "Hallo, wie geht es Ihnen?" and file is None
    answer, file = api.predict("@cf/black-forest-labs/flux-1-schnell", '{"prompt": "A fox"}', None,
                               api_name="/run_model")
    assert answer["kind"] == "image" and sniff(open(file, "rb").read()) == "image/jpeg"
    answer, _ = api.predict("@cf/baai/bge-small-en-v1.5", '{"text": ["a", "b"]}', None, api_name="/run_model")
    assert answer["kind"] == "vectors" and answer["summary"] == "2 vectors of 384 dimensions"


def test_run_model_with_a_file(api, fake):
    answer, _ = api.predict("@cf/microsoft/resnet-50", "", handle_file(str(FIXTURES / "cat-chelsea.png")),
                            api_name="/run_model")
    assert answer["kind"] == "labels"
    assert fake.requests[-1].headers["content-type"] == "application/octet-stream"  # the bare file, not JSON
    answer, _ = api.predict("@cf/facebook/detr-resnet-50", "", handle_file(str(FIXTURES / "cat-chelsea.png")),
                            api_name="/run_model")
    assert answer["kind"] == "boxes"


def test_run_model_streams_text_generation_and_returns_it_whole(api, fake):
    answer, _ = api.predict("@cf/meta/llama-3.1-8b-instruct-fast", '{"prompt": "Say hi", "max_tokens": 20}', None,
                            api_name="/run_model")
    assert answer["kind"] == "text" and answer["response"]
    assert fake.requests[-1].json.get("stream") is True


def test_a_model_without_a_schema_still_runs_from_json(api, fake):
    picture = io.BytesIO()
    Image.new("RGB", (32, 32), "orange").save(picture, format="PNG")
    answer, _ = api.predict("@cf/llava-hf/llava-1.5-7b-hf",
                            json.dumps({"prompt": "What is this?", "image": list(picture.getvalue())}),
                            None, api_name="/run_model")
    assert answer["kind"] == "text" and answer["description"]


@pytest.mark.parametrize("model, body, message", [
    ("@cf/black-forest-labs/flux-1-schnell", '{"prompt": "x", "steps": 99}', "Steps is at most 8"),
    ("@cf/black-forest-labs/flux-1-schnell", '{"prompt": 5}', "Prompt must be a string"),
    ("@cf/black-forest-labs/flux-1-schnell", '{"prompt": ', "not valid JSON"),
    ("@cf/black-forest-labs/flux-1-schnell", "[1]", "JSON object"),
    ("@cf/meta/m2m100-1.2b", '{"text": "hi"}', "Target lang is required"),
    ("../../user/tokens/verify", '{"prompt": "x"}', "model"),
    ("@cf/nobody/no-such-model", '{"prompt": "x"}', "no-such-model"),
])
def test_run_model_refusals_are_sentences(api, fake, model, body, message):
    with pytest.raises(AppError, match=message):
        api.predict(model, body, None, api_name="/run_model")
    assert fake.count() == 0  # refused here, before /ai/run (a schema lookup may have gone out)


def test_a_deprecated_model_gets_workers_ais_sentence(api, fake):
    with pytest.raises(AppError, match="deprecated"):
        api.predict("@cf/meta/llama-3.1-8b-instruct", '{"prompt": "x"}', None, api_name="/run_model")


def test_a_file_where_the_model_takes_text_is_refused(api, fake):
    with pytest.raises(AppError, match="no file input"):
        api.predict("@cf/meta/m2m100-1.2b", '{"text": "hi", "target_lang": "fr"}',
                    handle_file(str(FIXTURES / "cat-chelsea.png")), api_name="/run_model")


def test_runs_are_metered_at_the_neurons_cloudflare_reports(api, fake, budget):
    """flux at 1024×1024 and 4 steps: 4 tiles × 4.8 + 4 steps × 9.6 = 57.6 neurons, as the fake's `cf-ai-neurons`
    header says; the ledger settles at that figure."""
    ledger = budget(per_visitor=10_000)
    api.predict("A lighthouse", "@cf/black-forest-labs/flux-1-schnell", 4, 1024, 1024, -1, "",
                api_name="/generate_image")
    assert ledger.snapshot().total == pytest.approx(57.6)


def test_a_spent_budget_refuses_before_anything_is_sent(api, fake, budget):
    budget(per_visitor=0.001)
    with pytest.raises(AppError, match="budget"):
        api.predict("A lighthouse", "@cf/black-forest-labs/flux-1-schnell", 4, 1024, 1024, -1, "",
                    api_name="/generate_image")
    assert not [r for r in fake.requests if "/ai/run/" in r.path]


def test_offline_the_media_tasks_say_they_need_an_account(offline_api):
    for args, name in ((("A cat", "", 4, 1024, 1024, -1, ""), "/generate_image"), (("Hi", "", "", "en"), "/speak"),
                       (("Hi", "fr", "en", ""), "/translate")):
        with pytest.raises(AppError, match="needs a Cloudflare account"):
            offline_api.predict(*args, api_name=name)


def test_offline_any_local_model_runs_by_its_schema(offline_api):
    answer, _ = offline_api.predict("@local/all-minilm-l6-v2", '{"text": ["offline", "engine"]}', None,
                                    api_name="/run_model")
    assert answer["kind"] == "vectors" and "384 dimensions" in answer["summary"]
    answer, _ = offline_api.predict("@local/efficientnet-lite0", "", handle_file(str(FIXTURES / "cat-chelsea.png")),
                                    api_name="/run_model")
    assert answer["kind"] == "labels"


def test_the_how_it_works_panel_gives_each_request_as_curl(client, fake):
    """The panel shows the request, and the curl command that repeats it: the account and token as variables, a
    file body as a file reference, never the token or the bytes."""
    import asyncio

    from components.core.usage import session_key
    from components.tabs import playground_any
    from components.ui.how_it_works import describe_trace
    from components.workers_ai import recent
    from tests.conftest import TOKEN

    answer, _ = asyncio.run(playground_any.run_model("@cf/microsoft/resnet-50", "", str(FIXTURES / "cat-chelsea.png")))
    assert answer["kind"] == "labels"
    text = describe_trace(recent((session_key(None), "playground")), curl=True)
    assert 'curl -X POST "' in text and "$CLOUDFLARE_ACCOUNT_ID" in text and "--data-binary @your-file" in text
    assert "Bearer $CLOUDFLARE_API_TOKEN" in text and TOKEN not in text


def test_picking_a_model_shows_its_card_with_the_catalogues_price(client, fake):
    import asyncio

    from components.core.playground.run import recent_form
    from components.tabs import playground_any

    view, card, mode = asyncio.run(playground_any._open_model("@cf/deepgram/aura-2-en"))
    assert view == ("@cf/deepgram/aura-2-en", "Form") and recent_form(view[0]).task == "Text-to-Speech"
    assert "Catalogue price: $0.03 per 1k characters" in card
    assert mode["choices"] == [("Form", "Form"), ("JSON", "JSON")] or mode["choices"] == ["Form", "JSON"]
    view, card, _ = asyncio.run(playground_any._open_model("@cf/llava-hf/llava-1.5-7b-hf"))
    assert view == ("@cf/llava-hf/llava-1.5-7b-hf", "JSON") and "publishes no input schema" in card
    view, card, _ = asyncio.run(playground_any._open_model("../../user/tokens/verify"))
    assert view is None and "is not a model id" in card


def test_object_detection_boxes_are_drawn_on_the_picture_sent(client, fake):
    """On the page, DETR's boxes go onto the visitor's own picture (an annotated image), beside the whole JSON."""
    import asyncio

    from components.core.playground.payload import body_from_form
    from components.core.playground.run import model_form, run_once
    from components.tabs import playground_any

    form = asyncio.run(model_form("@cf/facebook/detr-resnet-50"))
    variant = next(v for v in form.form.usable if v.raw_body is not None)
    picture = str(FIXTURES / "cat-chelsea.png")
    shown = asyncio.run(run_once(form, body_from_form(variant, {"file": picture}), None))
    updates = playground_any._outputs_for(shown, playground_any._input_image(variant, {"file": picture}), "detr")
    by_kind = dict(zip(playground_any.OUTPUT_KINDS, updates))
    assert by_kind["boxes"]["visible"] and by_kind["boxes"]["value"][0] == picture
    assert by_kind["boxes"]["value"][1] and all(len(corners) == 4 for corners, _ in by_kind["boxes"]["value"][1])
    assert by_kind["json"]["visible"] and not by_kind["text"]["visible"]


def test_an_id_the_catalogue_does_not_list_costs_no_request(api, fake):
    """A made-up id would cost a schema request on the owner's token: refused from the catalogue, nothing sent."""
    before = len(fake.requests)
    with pytest.raises(AppError, match="not in the Workers AI catalogue"):
        api.predict("@cf/made-up/model-1", '{"prompt": "x"}', None, api_name="/run_model")
    assert not [r for r in fake.requests[before:] if "/models/schema" in r.path or r.model]


def test_stream_true_on_a_model_that_does_not_stream_still_answers_whole(api, fake):
    answer, _ = api.predict("@cf/meta/m2m100-1.2b",
                            '{"text": "Thank you very much.", "target_lang": "fr", "stream": true}', None,
                            api_name="/run_model")
    assert answer["translated_text"] == "Merci beaucoup."
    assert "stream" not in fake.requests[-1].json

"""The whole app with no Cloudflare account and no network: the offline engine answers every tab."""

import httpx
import pytest
from gradio_client import handle_file

from tests.conftest import ASSETS


@pytest.fixture
def api(offline_api):
    return offline_api


def test_header_says_offline_and_chat_says_it_is_a_toy(offline_served):
    page = httpx.get(offline_served + "config").text
    assert "Offline · small local models" in page
    assert "tiny" in page and "SmolLM2-135M" in page


def test_chat_streams_a_reply_from_the_local_model(api):
    job = api.submit("What is the capital of France?", temperature=0, api_name="/chat")
    reply = job.result(timeout=120)
    assert "Paris" in reply
    assert len(job.outputs()) >= 2, "the reply streams in steps"


def test_the_default_model_of_every_endpoint_is_local(api):
    info = api.view_api(print_info=False, return_format="dict")["named_endpoints"]
    defaults = {name: next(p["parameter_default"] for p in spec["parameters"] if p["parameter_name"] == "model")
                for name, spec in info.items() if any(p["parameter_name"] == "model" for p in spec["parameters"])}
    assert defaults == {
        "/chat": "@local/smollm2-135m-instruct",
        "/chat_routed": "@local/smollm2-135m-instruct",
        "/classify": "@local/efficientnet-lite0",
        "/transcribe": "@local/whisper-tiny-en",
        "/similarity": "@local/all-minilm-l6-v2",
        "/search": "@local/all-minilm-l6-v2",
        "/ask_documents": "@local/smollm2-135m-instruct",
        "/run_model": "",  # blank: the backend's default chat model
        # Tasks no local model does: they name the Cloudflare model, and offline say they need an account.
        "/generate_image": "@cf/black-forest-labs/flux-1-schnell",
        "/speak": "@cf/myshell-ai/melotts",
        "/translate": "@cf/meta/m2m100-1.2b",
    }


def test_classify_offline(api):
    result = api.predict(handle_file(str(ASSETS / "coffee-cup.png")), api_name="/classify")
    assert result["label"] == "Espresso"


def test_transcribe_offline_with_valid_subtitles(api):
    text, vtt, _srt, _player = api.predict(handle_file(str(ASSETS / "speech-fox.wav")), api_name="/transcribe")
    assert "fox" in text.lower()
    assert open(vtt, encoding="utf-8").read().startswith("WEBVTT")


def test_similarity_and_search_offline(api):
    _heatmap, _map, matrix = api.predict(
        "A cat sits on the mat.\nA kitten rests on a rug.\nStock markets fell sharply today.", api_name="/similarity"
    )
    cat_kitten, cat_stocks = matrix["data"][0][2], matrix["data"][0][3]
    assert cat_kitten > cat_stocks
    ranked = api.predict("Where is the Eiffel Tower?", "Bananas are yellow.\nThe Eiffel Tower is in Paris.", 1,
                         api_name="/search")
    assert ranked["data"][0][2] == "The Eiffel Tower is in Paris."

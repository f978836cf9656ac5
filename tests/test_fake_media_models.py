"""The fake's media models (issue #15) and its schemas, checked with raw httpx: real images and MP3s, runtime-worded
refusals that follow each model's schema, and the `cf-ai-neurons` cost of each answer."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
import soundfile
from jsonschema import Draft7Validator
from PIL import Image

from tests.conftest import ASSETS
from tests.fake_workers_ai import MODELS
from tests.fake_workers_ai.validation import json_branch
from tests.media_models import AURA, AURA_1, DETR, FLUX, LLAVA, M2M, MELO, SDXL


@pytest.fixture
def http(fake):
    with httpx.Client(base_url=f"{fake.base_url}/accounts/{fake.account_id}",
                      headers={"Authorization": f"Bearer {fake.token}"}, timeout=30) as client:
        yield client


def refusal(response) -> str:
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["code"] == 5006 and error["message"].startswith("AiError: Bad input: Error: ")
    return error["message"].removeprefix("AiError: Bad input: Error: ")


def mp3_seconds(data: bytes) -> float:
    samples, rate = soundfile.read(io.BytesIO(data))
    return len(samples) / rate


def test_the_catalogue_files_each_media_model_under_its_real_task(http):
    items = {}
    for page in range(1, 20):
        result = http.get("/ai/models/search", params={"page": page}).json()["result"]
        items.update({item["name"]: item for item in result})
        if not result:
            break
    tasks = {name: items[name]["task"]["name"] for name in (FLUX, SDXL, MELO, AURA, AURA_1, M2M, DETR, LLAVA)}
    assert tasks == {FLUX: "Text-to-Image", SDXL: "Text-to-Image", MELO: "Text-to-Speech", AURA: "Text-to-Speech",
                     AURA_1: "Text-to-Speech", M2M: "Translation", DETR: "Object Detection", LLAVA: "Image-to-Text"}
    assert {"property_id": "beta", "value": "true"} in items[SDXL]["properties"]
    found = http.get("/ai/models/search", params={"task": "Text-to-Speech"}).json()["result_info"]["total_count"]
    assert found == 3


@pytest.mark.parametrize("name", sorted(set(MODELS) - {LLAVA}))
def test_every_model_publishes_a_valid_input_and_output_schema(http, name):
    response = http.get("/ai/models/schema", params={"model": name})
    if MODELS[name].deprecated:
        assert response.status_code == 400 and response.json()["errors"][0]["code"] == 5028
        return
    schema = response.json()["result"]
    Draft7Validator.check_schema(schema["input"])
    Draft7Validator.check_schema(schema["output"])
    outputs = schema["output"].get("oneOf", [schema["output"]])
    assert all(o.get("contentType") for o in outputs), "every output says its content type"


EXAMPLES = {  # one valid JSON body per kind: each must pass its own model's schema
    "classic": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "temperature": 0.2},
    "chat": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8},
    "embeddings": {"text": ["a", "b"], "pooling": "cls"},
    "whisper": {"audio": [1, 2, 3]},
    "whisper-turbo": {"audio": "UklGRg==", "task": "transcribe", "vad_filter": True},
    "resnet": {"image": [1, 2, 3]},
    "flux": {"prompt": "a lighthouse", "steps": 4},
    "sdxl": {"prompt": "a lighthouse", "width": 512, "height": 768, "num_steps": 8, "seed": 42},
    "melotts": {"prompt": "Hello", "lang": "fr"},
    "aura-2": {"text": "Hello", "speaker": "luna", "encoding": "mp3"},
    "aura-1": {"text": "Hello", "speaker": "angus"},
    "m2m100": {"text": "Hello", "source_lang": "en", "target_lang": "de"},
    "detr": {"image": [1, 2, 3]},
}


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_the_schemas_accept_what_the_models_accept(fake, kind):
    from tests.fake_workers_ai.schemas import schema_of

    assert not list(Draft7Validator(json_branch(schema_of(kind)["input"])).iter_errors(EXAMPLES[kind]))


def test_schema_oneof_prompt_or_messages_and_text_string_or_array(http):
    llama = http.get("/ai/models/schema", params={"model": "@cf/meta/llama-3.1-8b-instruct-fast"}).json()["result"]
    assert [b["title"] for b in llama["input"]["oneOf"]] == ["Prompt", "Messages"]
    bge = http.get("/ai/models/schema", params={"model": "@cf/baai/bge-base-en-v1.5"}).json()["result"]
    assert [b["type"] for b in bge["input"]["properties"]["text"]["oneOf"]] == ["string", "array"]
    resnet = http.get("/ai/models/schema", params={"model": "@cf/microsoft/resnet-50"}).json()["result"]
    assert resnet["input"]["oneOf"][0] == {"type": "string", "format": "binary", "description": "The image to classify"}
    sdxl = http.get("/ai/models/schema", params={"model": SDXL}).json()["result"]
    assert sdxl["output"]["contentType"] == "image/png" and sdxl["output"]["format"] == "binary"
    aura = http.get("/ai/models/schema", params={"model": AURA}).json()["result"]["input"]["properties"]
    assert "luna" in aura["speaker"]["enum"] and aura["speaker"]["default"] == "luna"
    m2m = http.get("/ai/models/schema", params={"model": M2M}).json()["result"]["input"]
    assert {"en", "fr", "de", "es", "zh"} <= set(m2m["properties"]["target_lang"]["enum"])
    assert m2m["required"] == ["text", "target_lang"]


def test_a_model_without_a_schema_answers_the_documented_error(http):
    response = http.get("/ai/models/schema", params={"model": LLAVA})
    assert response.status_code == 404
    assert response.json()["errors"] == [{"code": 5020, "message": f"AiError: No schema found for model {LLAVA}"}]
    unknown = http.get("/ai/models/schema", params={"model": "@cf/nobody/nothing"})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["code"] == 5007


def test_flux_answers_a_base64_jpeg_deterministic_from_the_prompt_and_its_cost(http):
    first = http.post(f"/ai/run/{FLUX}", json={"prompt": "a red fox in the snow", "steps": 6})
    image = base64.b64decode(first.json()["result"]["image"], validate=True)
    with Image.open(io.BytesIO(image)) as picture:
        assert picture.format == "JPEG" and picture.size == (512, 512)
    assert first.headers["cf-ai-neurons"] == "76.8"  # 4 tiles × 4.8 + 6 steps × 9.6
    again = http.post(f"/ai/run/{FLUX}", json={"prompt": "a red fox in the snow", "steps": 6}).json()["result"]
    other = http.post(f"/ai/run/{FLUX}", json={"prompt": "a blue whale"}).json()["result"]
    assert again["image"] == first.json()["result"]["image"] != other["image"]
    assert len(first.content) < 40_000, "kept small in bytes"


@pytest.mark.parametrize(("body", "problem"), [
    ({"prompt": "x" * 2049}, "Length of '/prompt' must be <= 2048"),
    ({"prompt": "a fox", "steps": 9}, "'/steps' must be <= 8"),
    ({"prompt": "a fox", "steps": "four"}, "Type mismatch of '/steps', 'string' not in 'integer'"),
    ({"prompt": 12}, "Type mismatch of '/prompt', 'number' not in 'string'"),
    ({"steps": 2}, "required properties at '/' are 'prompt'"),
    ({"prompt": ""}, "Length of '/prompt' must be >= 1"),
    ({"prompt": "a fox", "width": 512}, "additional properties at '/' are not allowed: 'width'"),
])
def test_flux_refuses_what_its_schema_refuses(http, body, problem):
    assert refusal(http.post(f"/ai/run/{FLUX}", json=body)) == problem


def test_sdxl_answers_a_raw_png_at_the_asked_size_and_honours_the_seed(http):
    body = {"prompt": "a castle", "width": 640, "height": 320, "seed": 7, "num_steps": 4}
    response = http.post(f"/ai/run/{SDXL}", json=body)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.headers["cf-ai-neurons"] == "0"  # free in beta
    with Image.open(io.BytesIO(response.content)) as picture:
        assert picture.format == "PNG" and picture.size == (640, 320)
    assert http.post(f"/ai/run/{SDXL}", json=body).content == response.content
    assert http.post(f"/ai/run/{SDXL}", json={**body, "seed": 8}).content != response.content
    default = http.post(f"/ai/run/{SDXL}", json={"prompt": "a castle"})
    assert Image.open(io.BytesIO(default.content)).size == (1024, 1024)
    assert refusal(http.post(f"/ai/run/{SDXL}", json={**body, "width": 4096})) == "'/width' must be <= 2048"
    assert refusal(http.post(f"/ai/run/{SDXL}", json={**body, "num_steps": 21})) == "'/num_steps' must be <= 20"


def test_melotts_answers_a_base64_mp3_of_the_spoken_text(http):
    response = http.post(f"/ai/run/{MELO}", json={"prompt": "The quick brown fox jumps over the lazy dog."})
    audio = base64.b64decode(response.json()["result"]["audio"], validate=True)
    assert audio[:2] in (b"\xff\xf3", b"\xff\xfb", b"\xff\xf2") or audio[:3] == b"ID3"  # MPEG frame sync
    seconds = mp3_seconds(audio)
    assert 1.5 < seconds < 8, seconds
    assert float(response.headers["cf-ai-neurons"]) == pytest.approx(18.63 * seconds / 60, rel=0.05)
    samples, _ = soundfile.read(io.BytesIO(audio))
    assert np.abs(samples).max() > 0.05, "speech, not silence"
    assert refusal(http.post(f"/ai/run/{MELO}", json={"prompt": "Bonjour", "lang": "xx"})).startswith(
        "'/lang' must be one of 'en'")


def test_aura_answers_the_mp3_itself_with_a_voice_per_speaker(http):
    luna = http.post(f"/ai/run/{AURA}", json={"text": "Good morning, and welcome.", "speaker": "luna"})
    zeus = http.post(f"/ai/run/{AURA}", json={"text": "Good morning, and welcome.", "speaker": "zeus"})
    assert luna.headers["content-type"] == zeus.headers["content-type"] == "audio/mpeg"
    assert luna.content != zeus.content and mp3_seconds(luna.content) > 0.8
    assert float(luna.headers["cf-ai-neurons"]) == pytest.approx(2727 * 26 / 1000)
    old = http.post(f"/ai/run/{AURA_1}", json={"text": "Good morning, and welcome."})
    assert float(old.headers["cf-ai-neurons"]) == pytest.approx(1364 * 26 / 1000)
    wav = http.post(f"/ai/run/{AURA}", json={"text": "Hello", "encoding": "linear16", "container": "wav",
                                              "sample_rate": 16000})
    assert wav.headers["content-type"] == "audio/wav" and soundfile.info(io.BytesIO(wav.content)).samplerate == 16000
    unknown = refusal(http.post(f"/ai/run/{AURA}", json={"text": "Hi", "speaker": "bob"}))
    assert unknown.startswith("'/speaker' must be one of 'amalthea','andromeda'")
    assert refusal(http.post(f"/ai/run/{AURA}", json={"speaker": "luna"})) == "required properties at '/' are 'text'"
    assert refusal(http.post(f"/ai/run/{AURA}", json={"text": "x" * 2001})) == "Length of '/text' must be <= 2000"


def test_m2m100_translates_the_examples_and_marks_what_it_cannot(http):
    def translate(**body):
        response = http.post(f"/ai/run/{M2M}", json=body)
        assert response.status_code == 200, response.text
        return response.json()["result"]["translated_text"], float(response.headers["cf-ai-neurons"])

    text, neurons = translate(text="I'll have an order of the moule frites", target_lang="fr")
    assert text == "Je vais prendre une commande de moules frites"
    assert neurons == pytest.approx(31050 * (10 + 8) / 1e6)
    spanish, _ = translate(text="Bonjour, comment allez-vous ?", source_lang="fr", target_lang="es")
    assert spanish == "Hola, ¿cómo estás?"
    assert translate(text="hello world", target_lang="de")[0] == "hallo Welt"
    assert translate(text="Quantum chromodynamics", target_lang="fr")[0] == "[en→fr] Quantum chromodynamics"
    missing = refusal(http.post(f"/ai/run/{M2M}", json={"text": "Hello"}))
    assert missing == "required properties at '/' are 'target_lang'"
    assert refusal(http.post(f"/ai/run/{M2M}", json={"text": "Hi", "target_lang": "klingon"})).startswith(
        "'/target_lang' must be one of 'af'")


def test_detr_finds_labelled_boxes_inside_the_image_from_raw_bytes_or_ints(http, fake):
    cat = (ASSETS / "cat-chelsea.png").read_bytes()
    raw = http.post(f"/ai/run/{DETR}", content=cat, headers={"Content-Type": "application/octet-stream"})
    found = raw.json()["result"]
    assert found and found[0]["label"] == "cat" and "cf-ai-neurons" not in raw.headers  # no published price
    assert [f["score"] for f in found] == sorted((f["score"] for f in found), reverse=True)
    for item in found:
        box = item["box"]
        assert 0 <= box["xmin"] < box["xmax"] <= 451 and 0 <= box["ymin"] < box["ymax"] <= 300
    assert http.post(f"/ai/run/{DETR}", json={"image": list(cat)}).json()["result"] == found
    assert refusal(http.post(f"/ai/run/{DETR}", json={"image": "aGk="})) == (
        "Type mismatch of '/image', 'string' not in 'array'")
    assert refusal(http.post(f"/ai/run/{DETR}", content=b"not an image",
                             headers={"Content-Type": "application/octet-stream"})) == "the image could not be decoded"


def test_llava_describes_the_image_and_honours_max_tokens(http):
    coffee = list((ASSETS / "coffee-cup.png").read_bytes())
    described = http.post(f"/ai/run/{LLAVA}", json={"image": coffee, "prompt": "What is on the table?"})
    text = described.json()["result"]["description"]
    assert "600×400" in text and "cup" in text and "What is on the table?" in text
    short = http.post(f"/ai/run/{LLAVA}", json={"image": coffee, "max_tokens": 4}).json()["result"]["description"]
    assert len(short.split()) == 4
    assert refusal(http.post(f"/ai/run/{LLAVA}", json={"prompt": "hi"})) == "required properties at '/' are 'image'"


def test_the_neurons_header_can_be_switched_off_or_forced(http, fake):
    fake.media_neurons = False
    assert "cf-ai-neurons" not in http.post(f"/ai/run/{FLUX}", json={"prompt": "a fox"}).headers
    fake.neurons_header = "12.5"
    assert http.post(f"/ai/run/{FLUX}", json={"prompt": "a fox"}).headers["cf-ai-neurons"] == "12.5"

"""The offline engine publishes each local model's input and output JSON Schema at `GET …/ai/models/schema?model=`
(issue 15's Playground reads them), and those schemas tell the truth: every one is valid JSON Schema, a body it
accepts runs through /ai/run and the answer matches the output schema, and a body it refuses the engine refuses
too (400 / 5006). Also: the catalogue lists every local model with its task, all tasks at once or one at a time."""

import asyncio
import base64
import json

import httpx
import pytest
from jsonschema import Draft202012Validator

from components.core.playground.form import BYTES, IMAGE, INTEGER, MESSAGES, RAW, form_of
from components.local import MODELS, LocalEngine, LocalTransport
from components.workers_ai import CHAT, EMBEDDINGS, SPEECH, VISION
from tests.conftest import ASSETS

BASE = "http://engine.invalid/client/v4/accounts/local/ai"
SMOL, MINI = "@local/smollm2-135m-instruct", "@local/all-minilm-l6-v2"
IMAGE_MODEL, SPEECH_MODEL = "@local/efficientnet-lite0", "@local/whisper-tiny-en"
PNG = (ASSETS / "coffee-cup.png").read_bytes()
WAV = (ASSETS / "speech-fox.wav").read_bytes()
HI = [{"role": "system", "content": "Answer in one short sentence."}, {"role": "user", "content": "Say hello."}]


def ask(method: str, path: str, **options) -> httpx.Response:
    """One request to a fresh in-process engine, through the same httpx transport the app uses."""
    async def go():
        async with httpx.AsyncClient(transport=LocalTransport(LocalEngine()), timeout=120,
                                     headers={"authorization": "Bearer x"}) as client:
            return await client.request(method, BASE + path, **options)

    return asyncio.run(go())


def schema(model: str) -> dict:
    response = ask("GET", "/models/schema", params={"model": model})
    assert response.status_code == 200 and response.json()["success"] is True
    return response.json()["result"]


SCHEMAS = {name: schema(name) for name in MODELS}


@pytest.mark.parametrize("name", list(MODELS))
def test_every_local_model_has_a_valid_input_and_output_schema(name):
    assert set(SCHEMAS[name]) == {"input", "output"}
    for part in ("input", "output"):
        Draft202012Validator.check_schema(SCHEMAS[name][part])
        assert SCHEMAS[name][part], f"{name} describes its {part}"


@pytest.mark.parametrize("model", ["@local/no-such-model", "not-a-model-id", ""])
def test_an_unknown_model_gets_the_error_ai_run_gives(model):
    refused = ask("GET", "/models/schema", params={"model": model} if model else {})
    ran = ask("POST", f"/run/{model or 'x'}", json={"prompt": "hi"})  # no model at all: an id that is none either
    assert refused.status_code == ran.status_code and refused.status_code in (400, 404)
    assert refused.json()["errors"] == ran.json()["errors"] and ran.json()["errors"][0]["code"] in (5007, 3042)


def test_the_chat_schema_is_llamas_prompt_or_messages_with_the_limits_the_engine_enforces():
    prompt, messages = SCHEMAS[SMOL]["input"]["oneOf"]
    assert (prompt["title"], prompt["required"], messages["title"], messages["required"]) == (
        "Prompt", ["prompt"], "Messages", ["messages"])
    for variant in (prompt, messages):
        p = variant["properties"]
        assert (p["max_tokens"]["minimum"], p["max_tokens"]["maximum"], p["max_tokens"]["default"]) == (1, 8192, 256)
        assert (p["temperature"]["minimum"], p["temperature"]["maximum"], p["temperature"]["default"]) == (0, 5, 0.6)
        assert (p["top_k"]["minimum"], p["top_k"]["maximum"], p["stream"]["type"]) == (1, 50, "boolean")
    assert messages["properties"]["messages"]["items"]["properties"]["role"]["enum"] == [
        "system", "user", "assistant", "tool"]
    assert [o.get("contentType") for o in SCHEMAS[SMOL]["output"]["oneOf"]] == ["application/json",
                                                                                "text/event-stream"]


def test_the_binary_models_take_a_raw_body_or_bytes_as_integers():
    for name, field in ((IMAGE_MODEL, "image"), (SPEECH_MODEL, "audio")):
        raw, as_json = SCHEMAS[name]["input"]["oneOf"]
        assert (raw["type"], raw["format"], as_json["required"]) == ("string", "binary", [field])
        ints, b64 = as_json["properties"][field]["oneOf"]
        assert ints["items"] == {**ints["items"], "type": "integer", "minimum": 0, "maximum": 255}
        assert b64["contentEncoding"] == "base64"
    text = SCHEMAS[MINI]["input"]["properties"]["text"]["oneOf"]
    assert [t["type"] for t in text] == ["string", "array"] and text[1]["maxItems"] == 100


VALID = {
    SMOL: [
        {"prompt": "Say hello.", "max_tokens": 8},
        {"messages": HI, "max_tokens": 8, "temperature": 0, "seed": 9_999_999_999, "top_p": 0.9, "top_k": 40,
         "frequency_penalty": 0.5, "presence_penalty": 2, "stream": False},
        {"messages": HI, "max_tokens": 1, "temperature": 5},
    ],
    MINI: [{"text": "A cat sits on the mat."}, {"text": ["a cat", "a kitten"], "pooling": "mean"}, {"text": ["x"] * 100}],
    IMAGE_MODEL: [{"image": list(PNG)}, {"image": base64.b64encode(PNG).decode()}],
    SPEECH_MODEL: [{"audio": list(WAV)}, {"audio": base64.b64encode(WAV).decode()}],
}


@pytest.mark.parametrize(("name", "body"), [(n, b) for n, bodies in VALID.items() for b in bodies],
                         ids=lambda v: v if isinstance(v, str) else None)
def test_a_body_the_schema_accepts_runs_and_answers_as_the_output_schema_says(name, body):
    Draft202012Validator(SCHEMAS[name]["input"]).validate(body)
    response = ask("POST", f"/run/{name}", json=body)
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    Draft202012Validator(SCHEMAS[name]["output"]).validate(result)
    expected = {SMOL: lambda: result["response"], MINI: lambda: result["shape"][1] == 384,
                IMAGE_MODEL: lambda: result[0]["label"] == "ESPRESSO", SPEECH_MODEL: lambda: "fox" in result["text"]}
    assert expected[name]()


def test_a_raw_bytes_body_runs_as_the_binary_alternative_says():
    for name, data in ((IMAGE_MODEL, PNG), (SPEECH_MODEL, WAV)):
        response = ask("POST", f"/run/{name}", content=data, headers={"content-type": "application/octet-stream"})
        Draft202012Validator(SCHEMAS[name]["output"]).validate(response.json()["result"])


def test_a_streamed_reply_is_the_event_stream_the_output_schema_names():
    response = ask("POST", f"/run/{SMOL}", json={"messages": HI, "max_tokens": 4, "stream": True})
    assert response.headers["content-type"] == SCHEMAS[SMOL]["output"]["oneOf"][1]["contentType"]
    assert response.text.rstrip().endswith("data: [DONE]")


INVALID = {
    SMOL: [
        {}, {"prompt": ""}, {"prompt": 5}, {"prompt": "hi", "messages": HI}, {"messages": []},
        {"messages": "hello"}, {"messages": [{"role": "robot", "content": "hi"}]}, {"messages": [{"role": "user"}]},
        {"messages": [{"role": "user", "content": ["hi"]}]},
        {"prompt": "hi", "max_tokens": 0}, {"prompt": "hi", "max_tokens": 8193}, {"prompt": "hi", "max_tokens": 1.5},
        {"prompt": "hi", "max_tokens": True}, {"prompt": "hi", "max_tokens": None}, {"prompt": "hi", "temperature": -1},
        {"prompt": "hi", "temperature": 5.5}, {"prompt": "hi", "temperature": "hot"}, {"prompt": "hi", "top_p": 2.5},
        {"prompt": "hi", "top_k": 0}, {"prompt": "hi", "top_k": 51}, {"prompt": "hi", "seed": 0},
        {"prompt": "hi", "seed": 10_000_000_000}, {"prompt": "hi", "frequency_penalty": 3},
        {"prompt": "hi", "presence_penalty": -0.5}, {"prompt": "hi", "stream": "yes"},
    ],
    MINI: [{}, {"text": ""}, {"text": []}, {"text": 5}, {"text": ["a", 5]}, {"text": ["a", ""]}, {"text": ["x"] * 101},
           {"text": "a", "pooling": "cls"}],
    IMAGE_MODEL: [{}, {"image": []}, {"image": [256]}, {"image": [-1]}, {"image": [1.5]}, {"image": [True]},
                  {"image": "not base64!"}, {"image": "abc"}, {"image": {"bytes": 1}}],
    SPEECH_MODEL: [{}, {"audio": []}, {"audio": [300]}, {"audio": "@@@@"}, {"audio": None}],
}


@pytest.mark.parametrize(("name", "body"), [(n, b) for n, bodies in INVALID.items() for b in bodies],
                         ids=lambda v: v if isinstance(v, str) else json.dumps(v)[:40])
def test_a_body_the_schema_refuses_the_engine_refuses_too(name, body):
    assert list(Draft202012Validator(SCHEMAS[name]["input"]).iter_errors(body)), "the schema refuses it"
    response = ask("POST", f"/run/{name}", json=body)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["code"] == 5006 and error["message"].startswith("AiError: Bad input: ")


def test_the_playground_reads_each_schema_as_a_usable_form():
    """Issue 15's reader of schemas: every local model gets a form, with the engine's ranges and the right uploads."""
    chat = form_of(SCHEMAS[SMOL]["input"], CHAT)
    assert {v.title for v in chat.usable} == {"Prompt", "Messages"} and chat.streams
    messages = next(v for v in chat.variants if v.title == "Messages")
    fields = {f.name: f for f in messages.fields}
    assert fields["messages"].kind == MESSAGES and fields["max_tokens"].kind == INTEGER
    assert (fields["max_tokens"].minimum, fields["max_tokens"].maximum, fields["max_tokens"].default) == (1, 8192, 256)
    image = form_of(SCHEMAS[IMAGE_MODEL]["input"], VISION)
    assert image.variants[0].raw_body is not None and image.variants[0].raw_body.encoding == RAW
    assert [(f.kind, f.encoding) for f in image.variants[1].fields] == [(IMAGE, BYTES)]
    assert form_of(SCHEMAS[SPEECH_MODEL]["input"], SPEECH).usable
    assert form_of(SCHEMAS[MINI]["input"], EMBEDDINGS).usable


def test_the_catalogue_lists_every_local_model_with_its_task_all_at_once_or_by_task():
    listed = ask("GET", "/models/search").json()
    assert {m["name"]: m["task"]["name"] for m in listed["result"]} == {
        SMOL: CHAT, MINI: EMBEDDINGS, IMAGE_MODEL: VISION, SPEECH_MODEL: SPEECH}
    assert listed["result_info"]["total_count"] == len(MODELS) == 4
    for name, task in ((SMOL, CHAT), (MINI, EMBEDDINGS), (IMAGE_MODEL, VISION), (SPEECH_MODEL, SPEECH)):
        assert [m["name"] for m in ask("GET", "/models/search", params={"task": task}).json()["result"]] == [name]
    pages = [ask("GET", "/models/search", params={"per_page": 3, "page": page}).json()["result"] for page in (1, 2)]
    assert [len(page) for page in pages] == [3, 1]


@pytest.mark.parametrize("query", [{"per_page": "abc"}, {"page": "0"}, {"page": "-1"}, {"per_page": "9" * 5000}])
def test_a_bad_catalogue_query_is_a_sentence_not_a_crash(query):
    response = ask("GET", "/models/search", params=query)
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == 5006

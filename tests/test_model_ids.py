"""A model id goes into the URL path as is, so it is checked first: a hostile id (`../../../../user/tokens/verify`
would carry the owner's token to another Cloudflare endpoint) is refused with one clear sentence, and the fake
server, which records every request it receives whatever its path, receives none. Tried for real: through the
client, through the app's public functions, and through the launched app over HTTP."""

import asyncio
import json
import logging
import re
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from components.tabs import chat, chat_routing, embeddings, speech, vision
from components.local import MODELS as LOCAL_MODELS
from components.core.routing import WORKERS_AI, escalation_target
from components.core.routing.targets import DEFAULT_ESCALATION_MODEL
from components.workers_ai import (
    CHAT, MODEL_ID_PATTERN, PRICES, Catalogue, InvalidModelIdError, Settings, WorkersAI, check_model_id, is_model_id,
)
from tests.conftest import ASSETS, collect, make_settings

HOSTILE = [
    "../../../../user/tokens/verify",
    "@cf/../../user/tokens/verify",
    "@cf/meta/../../../../user/tokens/verify",
    "x?y",
    "@cf/meta/llama-3.1-8b-instruct-fast?x=y",
    "x#y",
    "%2e%2e/%2e%2e/user/tokens/verify",
    "@cf/%2e%2e/%2e%2e",
    "@cf/meta/llama 3",
    "@cf/meta/llama\n3",
    "@cf/meta/llama-3.1-8b-instruct-fast\r\nX-Injected: 1",
    "@cf/meta/llama\x00/../../user/tokens/verify",
    "@cf/meta\\..\\..\\user",
    "@cf/./meta",
    "@cf/meta/.",
    "@сf/meta/llama-3.1-8b-instruct-fast",  # a Cyrillic "с"
    "＠cf/meta/llama-3.1-8b-instruct-fast",  # a fullwidth "@"
    "@cf/\u2025/\u2025/user/tokens/verify",  # "‥", a two-dot leader
    "@cf/meta/" + "a" * 10_000,
]
CLIENT_ONLY = ["@cf/meta/llama-3.1-8b-instruct-fast\n", "", "@cf/meta", "@cf/a/b/c", "@local/a/b", "@CF/meta/x"]
REFUSED = re.compile(r"is not a model id: use one such as @cf/meta/llama-3\.1-8b-instruct-fast")
CHAT_MODEL, EMBED_MODEL, RESNET, WHISPER = (
    "@cf/meta/llama-3.1-8b-instruct-fast", "@cf/baai/bge-small-en-v1.5", "@cf/microsoft/resnet-50", "@cf/openai/whisper"
)
CAT, SPEECH_WAV = str(ASSETS / "cat-chelsea.png"), str(ASSETS / "speech-fox.wav")


def ids_in(value) -> set[str]:
    """Every string of a JSON document, key or value, that starts with "@"."""
    if isinstance(value, dict):
        return ids_in(list(value)) | ids_in(list(value.values()))
    if isinstance(value, list):
        return set().union(*map(ids_in, value))
    return {value} if isinstance(value, str) and value.startswith("@") else set()


def test_every_model_id_the_app_knows_is_of_the_grammar():
    tables = Path(__file__).resolve().parent.parent / "components" / "workers_ai"
    known = set(LOCAL_MODELS).union(*(ids_in(json.loads((tables / name).read_text()))
                                      for name in ("models.json", "prices.json")))
    assert len(known) > 15 and set(PRICES) <= known
    assert [model for model in known if not is_model_id(model)] == []


def test_the_grammar():
    for model in ("@cf/meta/llama-3.1-8b-instruct-fast", "@hf/thebloke/mistral-7b-instruct-v0.1-awq",
                  "@local/smollm2-135m-instruct", "@cf/a_b/c:d.e", "@cf/meta/." + "a" * 118):
        assert is_model_id(model) and check_model_id(model) == model, model
    for model in HOSTILE + CLIENT_ONLY + [None, 42, "@cf/meta/" + "a" * 120]:
        assert not is_model_id(model), model
        with pytest.raises(InvalidModelIdError):
            check_model_id(model)


def test_the_refusal_is_one_sentence_with_a_short_escaped_copy_of_the_id():
    for model, shown in [("../../x", "'../../x'"), ("@cf/meta/llama\x00\n", r"'@cf/meta/llama\x00\n'"),
                         ("@сf/m/x", r"'@\u0441f/m/x'"), ("@cf/meta/" + "a" * 10_000, "'@cf/meta/" + "a" * 31 + "'…")]:
        with pytest.raises(InvalidModelIdError) as caught:
            check_model_id(model)
        message = caught.value.user_message
        assert message.startswith(shown + " is not a model id") and REFUSED.search(message), message
        assert len(message) < 200 and "\n" not in message and message.endswith(" only).")


def test_the_json_schema_pattern_is_the_grammar():
    """API and MCP clients get the same grammar (ECMA-262 syntax; Python's `re` reads it alike for these ids)."""
    pattern = re.compile(MODEL_ID_PATTERN)
    assert pattern.search(CHAT_MODEL) and pattern.search("@local/whisper-tiny-en")
    assert not any(pattern.search(model) for model in HOSTILE if len(model) < 100)


# ── through the client: nothing is ever sent for a bad id ───────────────────────────────────────────────────


@pytest.mark.parametrize("gateway", [False, True], ids=["direct", "gateway"])
def test_the_client_sends_nothing_for_a_bad_id(fake, gateway):
    client = WorkersAI(make_settings(fake, gateway_id="gw" if gateway else None))

    async def stream(model):
        return [delta async for delta in client.stream(model, {"messages": [{"role": "user", "content": "Hi"}]})]

    calls = {
        "run": lambda model: client.run(model, {"text": ["Hi"]}),
        "run_bytes": lambda model: client.run_bytes(model, Path(CAT).read_bytes()),
        "stream": stream,
    }
    for model in HOSTILE + CLIENT_ONLY:
        for name, call in calls.items():
            with pytest.raises(InvalidModelIdError, match=REFUSED):
                asyncio.run(call(model))
    assert fake.requests == []
    assert asyncio.run(client.run(EMBED_MODEL, {"text": ["Hi"]}))["data"], "a catalogue id still works"
    assert [r.model for r in fake.requests] == [EMBED_MODEL]


def test_the_catalogue_drops_names_that_are_not_model_ids():
    class Listing:
        settings = Settings(account_id="a", api_token="t")

        async def get_list(self, url, params):
            names = [CHAT_MODEL, "@cf/../../user/tokens/verify", "@cf/meta/x?y", "@hf/a/b"]
            return [{"name": name} for name in names], {"total_count": len(names)}

    models = asyncio.run(Catalogue(Listing()).models(CHAT))
    assert [m.name for m in models] == [CHAT_MODEL, "@hf/a/b"]


def test_a_bad_escalation_model_in_the_environment_warns_once_and_falls_back(client, caplog):
    env = {"ROUTING_ESCALATION_MODEL": "../../../../user/tokens/verify?from=escalation"}
    with caplog.at_level(logging.WARNING, logger="routing"):
        targets = [escalation_target(env) for _ in range(3)]
    assert targets[0].provider == WORKERS_AI and {t.model for t in targets} == {DEFAULT_ESCALATION_MODEL}
    warnings = [r.getMessage() for r in caplog.records if "ROUTING_ESCALATION_MODEL" in r.getMessage()]
    assert len(warnings) == 1 and REFUSED.search(warnings[0])
    assert escalation_target({"ROUTING_ESCALATION_MODEL": "@cf/google/gemma-4-26b-a4b-it"}).model == (
        "@cf/google/gemma-4-26b-a4b-it")


# ── through the app's public functions: refused before any budget, file or request ──────────────────────────


def app_calls(model):
    """Every public function that takes a model, called with `model` (keywords, so parameter order may change)."""
    return {
        "chat": lambda: collect(chat.chat("Hi", model=model)),
        "chat_routed": lambda: collect(chat_routing.chat_routed("Prove it, step by step.", model=model)),
        "classify": lambda: asyncio.run(vision.classify(CAT, model=model)),
        "transcribe": lambda: asyncio.run(speech.transcribe(SPEECH_WAV, model=model)),
        "similarity": lambda: asyncio.run(embeddings.similarity("A cat.\nA kitten.", model=model)),
        "search": lambda: asyncio.run(embeddings.search("cat", "A cat.\nA dog.", model=model)),
    }


@pytest.fixture
def no_reservation(budget, monkeypatch):
    """A budgeted ledger whose every reservation is recorded: a refused id must reserve nothing."""
    from components.core import usage

    ledger, reserved = budget(per_visitor=1e9, total=1e9), []
    original = usage.Ledger.reserve

    def reserve(self, *args, **kwargs):
        reserved.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(usage.Ledger, "reserve", reserve)
    return reserved


@pytest.mark.parametrize("model", HOSTILE, ids=lambda m: ascii(m[:24]))
def test_every_public_function_refuses_a_bad_id_before_anything_else(client, fake, no_reservation, model):
    for name, call in app_calls(model).items():
        with pytest.raises(gr.Error) as caught:
            call()
        assert REFUSED.search(caught.value.message), (name, caught.value.message)
    assert fake.requests == [] and no_reservation == []


def test_the_refusal_comes_before_the_file_is_decoded(client, fake, tmp_path):
    for name, call in [("not-audio.wav", speech.transcribe), ("not-an-image.png", vision.classify)]:
        bogus = tmp_path / name
        bogus.write_text("neither audio nor an image")
        with pytest.raises(gr.Error, match=REFUSED):
            asyncio.run(call(str(bogus), model="../../user/tokens/verify"))
    assert fake.requests == []


def test_any_id_of_the_grammar_reaches_workers_ai(client, fake):
    assert collect(chat.chat("Hi", model=f" {CHAT_MODEL} "))[-1], "surrounding whitespace is trimmed, as before"
    assert asyncio.run(vision.classify(CAT, model=RESNET))
    with pytest.raises(gr.Error, match="does not know the model @cf/some-author/a-model-of-tomorrow"):
        asyncio.run(embeddings.search("cat", "A cat.", model="@cf/some-author/a-model-of-tomorrow"))
    assert [r.model for r in fake.requests] == [CHAT_MODEL, RESNET, "@cf/some-author/a-model-of-tomorrow"]


# ── through the launched app over HTTP (gradio_client), as any visitor or MCP client would ──────────────────


def http_calls(api, model):
    return {
        "/chat": lambda: api.predict("Hi", model=model, api_name="/chat"),
        "/chat_routed": lambda: api.predict("Prove it, step by step.", model=model, api_name="/chat_routed"),
        "/classify": lambda: api.predict(handle_file(CAT), model=model, api_name="/classify"),
        "/transcribe": lambda: api.predict(handle_file(SPEECH_WAV), model=model, api_name="/transcribe"),
        "/similarity": lambda: api.predict("A cat.\nA kitten.", model=model, api_name="/similarity"),
        "/search": lambda: api.predict("cat", "A cat.\nA dog.", model=model, api_name="/search"),
    }


@pytest.mark.parametrize("model", HOSTILE, ids=lambda m: ascii(m[:24]))
def test_the_api_refuses_a_bad_id_and_sends_nothing(api, fake, model):
    for name, call in http_calls(api, model).items():
        with pytest.raises(AppError) as caught:
            call()
        assert REFUSED.search(str(caught.value)), (name, str(caught.value))
    assert fake.requests == []


def test_the_api_still_takes_catalogue_ids(api, fake):
    assert api.predict("Hi", model=CHAT_MODEL, api_name="/chat")
    assert api.predict(handle_file(CAT), model=RESNET, api_name="/classify")
    assert api.predict(handle_file(SPEECH_WAV), model=WHISPER, api_name="/transcribe")
    assert api.predict("A cat.\nA kitten.", model=EMBED_MODEL, api_name="/similarity")
    assert [r.model for r in fake.requests] == [CHAT_MODEL, RESNET, WHISPER, EMBED_MODEL]

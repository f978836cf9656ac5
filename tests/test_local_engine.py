"""The offline engine speaks the Workers AI contract: reached through the same shared client, in-process and
served on a port, with the same envelope, error codes, binary bodies and SSE."""

import asyncio

import httpx
import numpy as np
import pytest

from components.local import LocalEngine, offline_client
from components.workers_ai import (
    CHAT,
    EMBEDDINGS,
    SPEECH,
    VISION,
    AuthenticationError,
    BadInputError,
    Catalogue,
    ModelNotFoundError,
    Settings,
    WorkersAI,
)
from tests.conftest import ASSETS, served_engine

SMOL = "@local/smollm2-135m-instruct"
SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer in one short sentence."}
CAPITAL = {"messages": [SYSTEM, {"role": "user", "content": "What is the capital of France?"}], "temperature": 0,
           "max_tokens": 24}


@pytest.fixture(scope="module")
def local():
    return offline_client()


def run(coro):
    return asyncio.run(coro)


async def streamed(client, payload=CAPITAL, model=SMOL):
    return [d async for d in client.stream(model, payload)]


def test_catalogue_lists_one_local_model_per_task(local):
    async def all_tasks():
        catalogue = Catalogue(local)
        return {task: [m.name for m in await catalogue.models(task)] for task in (CHAT, VISION, SPEECH, EMBEDDINGS)}

    assert run(all_tasks()) == {
        CHAT: ["@local/smollm2-135m-instruct"],
        VISION: ["@local/efficientnet-lite0"],
        SPEECH: ["@local/whisper-tiny-en"],
        EMBEDDINGS: ["@local/all-minilm-l6-v2"],
    }


def test_chat_streams_token_by_token_and_matches_the_whole_answer(local):
    deltas = run(streamed(local))
    text = "".join(d.text for d in deltas)
    assert "Paris" in text
    assert len([d for d in deltas if d.text]) >= 3, "streamed in several events"
    assert deltas[-1].usage["completion_tokens"] > 0
    whole = run(local.run(SMOL, {**CAPITAL, "stream": False}))
    assert whole["response"] == text, "temperature 0: streamed and whole answers are identical"


def test_binary_bodies_like_workers_ai(local):
    labels = run(local.run_bytes("@local/efficientnet-lite0", (ASSETS / "coffee-cup.png").read_bytes()))
    assert labels[0]["label"] == "ESPRESSO" and len(labels) == 5
    speech = run(local.run_bytes("@local/whisper-tiny-en", (ASSETS / "speech-fox.wav").read_bytes()))
    assert "fox" in speech["text"].lower() and speech["words"][0]["start"] >= 0
    vectors = run(local.run("@local/all-minilm-l6-v2", {"text": ["a cat", "a kitten", "a cat"]}))
    assert vectors["shape"] == [3, 384]
    assert np.allclose(vectors["data"][0], vectors["data"][2], atol=1e-6)


@pytest.mark.parametrize(
    ("model", "body", "error"),
    [
        ("@local/efficientnet-lite0", b"not an image at all", BadInputError),
        ("@local/whisper-tiny-en", b"plain text, not audio", BadInputError),
        ("@local/no-such-model", b"{}", ModelNotFoundError),
        ("@hf/no-author/no-such-model", b"{}", ModelNotFoundError),  # "not-a-model-id" never leaves the client now
    ],
)
def test_bad_inputs_get_cloudflare_codes(local, model, body, error):
    with pytest.raises(error) as caught:
        run(local.run_bytes(model, body))
    assert caught.value.code in (5006, 5007, 3042) and caught.value.request_id


def test_text_over_the_context_window_is_bad_input(local):
    payload = {"messages": [{"role": "user", "content": "word " * 20_000}], "max_tokens": 16}
    with pytest.raises(BadInputError, match="context window"):
        run(streamed(local, payload))


def test_over_a_hundred_texts_is_bad_input(local):
    with pytest.raises(BadInputError, match="at most 100"):
        run(local.run("@local/all-minilm-l6-v2", {"text": ["x"] * 101}))


def test_requests_without_a_token_are_refused():
    answer = run(LocalEngine().handle("GET", "/client/v4/accounts/local/ai/models/search", {}, {}, b""))
    assert answer.status == 401 and b'"code": 10000' in answer.body


def test_abandoning_a_stream_frees_the_model(local):
    async def abandon_then_ask():
        stream = local.stream(SMOL, {**CAPITAL, "max_tokens": 200})
        async for _ in stream:
            break
        await stream.aclose()
        return await asyncio.wait_for(streamed(local), timeout=60)

    assert "".join(d.text for d in run(abandon_then_ask()))


def test_served_on_a_port_for_curl_the_sdk_or_another_app(tmp_path):
    with served_engine("dev-token") as port:
        base = f"http://127.0.0.1:{port}/client/v4"
        remote = WorkersAI(Settings(account_id="local", api_token="dev-token", base_url=base))
        text = "".join(d.text for d in run(streamed(remote)))
        assert "Paris" in text
        with httpx.stream("POST", f"{base}/accounts/local/ai/run/{SMOL}", headers={"authorization": "Bearer dev-token"},
                          json={**CAPITAL, "stream": True}, timeout=60) as raw:
            assert raw.headers["content-type"].startswith("text/event-stream")
            assert raw.read().rstrip().endswith(b"data: [DONE]")
        wrong = WorkersAI(Settings(account_id="local", api_token="wrong", base_url=base), max_retries=0)
        with pytest.raises(AuthenticationError):
            run(wrong.run(SMOL, CAPITAL))

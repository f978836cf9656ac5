"""What the served offline engine answers the official `openai` and `cloudflare` SDKs when something is wrong
(issue 16): an unknown model, bad parameters, an oversized body, a wrong or missing token, a busy model — OpenAI's
error object and status on /ai/v1, Workers AI's envelope and code on /ai/run, a sentence each, never a crash."""

import asyncio
import json
import time

import cloudflare
import httpx
import openai
import pytest

from components.local import LocalEngine
from tests.conftest import served_engine

TOKEN = "dev-token-errors"
SMOL = "@local/smollm2-135m-instruct"
MINI = "@local/all-minilm-l6-v2"
HELLO = [{"role": "user", "content": "Hello!"}]
OVERSIZED = "x" * (25 * 1024 * 1024 + 1)


@pytest.fixture(scope="module")
def port():
    with served_engine(TOKEN) as port:
        yield port


def openai_client(port: int, token: str = TOKEN) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/client/v4/accounts/local/ai/v1", api_key=token,
                         max_retries=0, timeout=120)


def cloudflare_client(port: int, token: str = TOKEN) -> cloudflare.Cloudflare:
    return cloudflare.Cloudflare(api_token=token, base_url=f"http://127.0.0.1:{port}/client/v4", max_retries=0,
                                 timeout=120)


@pytest.fixture(scope="module")
def oai(port):
    with openai_client(port) as client:
        yield client


@pytest.fixture(scope="module")
def cf(port):
    with cloudflare_client(port) as client:
        yield client


def openai_error(caught: pytest.ExceptionInfo) -> dict:
    """The error object, checked to be OpenAI's: message, type, param, code, and a single sentence."""
    body = caught.value.response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    message = body["error"]["message"]
    assert message and "Traceback" not in message and "AiError" not in message and "\n" not in message
    return body["error"]


def cloudflare_code(caught: pytest.ExceptionInfo) -> int:
    body = caught.value.response.json()
    assert body["success"] is False and body["result"] == {}
    return body["errors"][0]["code"]


@pytest.mark.parametrize("name", ["@local/no-such-model", "gpt-4o", "@cf/meta/llama-3.1-8b-instruct-fast"])
def test_an_unknown_model_is_openais_404_model_not_found(oai, name):
    with pytest.raises(openai.NotFoundError) as caught:
        oai.chat.completions.create(model=name, messages=HELLO)
    error = openai_error(caught)
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "model_not_found", "model")
    assert name in error["message"]
    with pytest.raises(openai.NotFoundError):
        oai.embeddings.create(model=name, input="a cat")
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve(name)


def test_an_unknown_model_on_ai_run_is_workers_ais_error(cf):
    with pytest.raises(cloudflare.BadRequestError) as caught:
        cf.ai.run("@local/no-such-model", account_id="local", text="a cat")
    assert cloudflare_code(caught) == 5007
    with pytest.raises(cloudflare.NotFoundError) as caught:
        cf.ai.run("not-a-model-id", account_id="local", text="a cat")
    assert cloudflare_code(caught) == 3042


@pytest.mark.parametrize(
    ("route", "body", "param", "says"),
    [
        ("chat", {"model": MINI, "messages": HELLO}, "model", "Text Embeddings model"),
        ("embeddings", {"model": SMOL, "input": "a cat"}, "model", "Text Generation model"),
        ("chat", {"model": SMOL, "messages": HELLO, "max_tokens": 0}, "max_tokens", "between 1 and 8192"),
        ("chat", {"model": SMOL, "messages": HELLO, "max_completion_tokens": 9000}, "max_completion_tokens",
         "max_completion_tokens must be an integer between 1 and 8192"),
        ("chat", {"model": SMOL, "messages": HELLO, "temperature": 7}, "temperature", "between 0 and 5"),
        ("chat", {"model": SMOL, "messages": HELLO, "top_p": 3}, "top_p", "between 0 and 2"),
        ("chat", {"model": SMOL, "messages": HELLO, "presence_penalty": -1}, "presence_penalty", "between 0 and 2"),
        ("chat", {"model": SMOL, "messages": []}, "messages", "non-empty array"),
        ("chat", {"model": SMOL, "messages": [{"role": "robot", "content": "hi"}]}, "messages", "role one of"),
        ("chat", {"model": SMOL, "messages": [{"role": "user", "content": [{"type": "image_url",
                                                                             "image_url": {"url": "x"}}]}]},
         "messages", "text only"),
        ("chat", {"model": SMOL, "messages": HELLO, "n": 2}, "n", "one choice"),
        ("chat", {"model": SMOL, "messages": HELLO, "stream": "yes"}, "stream", "true or false"),
        ("chat", {"messages": HELLO}, "model", "required"),
        ("embeddings", {"model": MINI, "input": []}, "input", "non-empty array of strings"),
        ("embeddings", {"model": MINI, "input": [101, 2003]}, "input", "array of strings"),
        ("embeddings", {"model": MINI, "input": ["a cat", ""]}, "input", "empty string"),
        ("embeddings", {"model": MINI, "input": ["x"] * 101}, "input", "at most 100"),
        ("embeddings", {"model": MINI, "input": "a cat", "encoding_format": "int8"}, "encoding_format", "base64"),
        ("embeddings", {"model": MINI, "input": "a cat", "dimensions": 768}, "dimensions", "384"),
    ],
)
def test_bad_parameters_are_openais_400_naming_the_param(oai, route, body, param, says):
    with pytest.raises(openai.BadRequestError) as caught:
        if route == "chat":
            oai.chat.completions.create(**body) if "model" in body else oai.post(
                "/chat/completions", body=body, cast_to=object)
        else:
            oai.embeddings.create(**body, **({} if "encoding_format" in body else {"encoding_format": "float"}))
    error = openai_error(caught)
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert says in error["message"]


def test_a_body_that_is_not_json_is_a_400_sentence(port):
    response = httpx.post(f"http://127.0.0.1:{port}/client/v4/accounts/local/ai/v1/chat/completions",
                          headers={"authorization": f"Bearer {TOKEN}"}, content=b"{not json", timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "the body is not valid JSON"


def test_an_unknown_v1_route_is_a_404_naming_the_routes_there_are(port):
    response = httpx.post(f"http://127.0.0.1:{port}/client/v4/accounts/local/ai/v1/completions",
                          headers={"authorization": f"Bearer {TOKEN}"}, json={"model": SMOL, "prompt": "x"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url" and "/v1/chat/completions" in response.text


def test_an_oversized_body_is_413_on_both_routes(oai, cf):
    with pytest.raises(openai.APIStatusError) as caught:
        oai.embeddings.create(model=MINI, input=OVERSIZED)
    assert caught.value.status_code == 413
    assert (openai_error(caught)["code"]) == "request_too_large"
    with pytest.raises(cloudflare.APIStatusError) as caught:
        cf.ai.run(MINI, account_id="local", text=OVERSIZED)
    assert caught.value.status_code == 413 and cloudflare_code(caught) == 3006


def test_a_wrong_token_is_401_on_both_routes(port):
    with openai_client(port, "dev-token-errorZ") as wrong, pytest.raises(openai.AuthenticationError) as caught:
        wrong.chat.completions.create(model=SMOL, messages=HELLO)
    assert openai_error(caught)["code"] == "invalid_api_key"
    with openai_client(port, "dev-token-errorZ") as wrong, pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    with cloudflare_client(port, "dev-token-errorZ") as wrong, pytest.raises(cloudflare.AuthenticationError) as caught:
        wrong.ai.run(MINI, account_id="local", text="a cat")
    assert cloudflare_code(caught) == 10000


def test_a_missing_token_is_401_too(port):
    response = httpx.post(f"http://127.0.0.1:{port}/client/v4/accounts/local/ai/v1/embeddings",
                          json={"model": MINI, "input": "a cat"}, timeout=30)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


def test_a_busy_model_answers_429_when_asked_not_to_wait_and_is_free_once_the_stream_is_dropped(oai, cf):
    """While a long reply streams, `"options": {"rejectIfBusy": true}` gets 429 at once on both routes (the SDKs'
    RateLimitError); closing the stream early stops the generation and frees the model for the next request."""
    story = [{"role": "user", "content": "Write a very long story about a dragon who bakes bread."}]
    stream = oai.chat.completions.create(model=SMOL, messages=story, max_tokens=8000, stream=True)
    try:
        assert next(iter(stream)).choices[0].delta.role == "assistant"
        with pytest.raises(openai.RateLimitError) as caught:
            oai.chat.completions.create(model=SMOL, messages=HELLO, extra_body={"options": {"rejectIfBusy": True}})
        assert openai_error(caught)["code"] == "rate_limit_exceeded"
        assert caught.value.response.headers["retry-after"] == "1"
        with pytest.raises(cloudflare.RateLimitError) as caught:
            cf.ai.run(SMOL, account_id="local", messages=HELLO, extra_body={"options": {"rejectIfBusy": True}})
        assert cloudflare_code(caught) == 3040
    finally:
        stream.close()
    # The engine learns that the reader left at its next token and stops there: free in moments, not after the
    # minutes 8,000 tokens would take.
    deadline = time.monotonic() + 15
    while True:
        try:
            freed = oai.chat.completions.create(model=SMOL, messages=HELLO, max_tokens=4,
                                                extra_body={"options": {"rejectIfBusy": True}}, timeout=30)
            break
        except openai.RateLimitError:
            assert time.monotonic() < deadline, "the model was still busy 15 s after its reader left"
            time.sleep(0.2)
    assert freed.choices[0].message.content


def test_beyond_the_waiting_line_a_model_is_busy_in_process_too():
    """At most `max_waiting` requests queue per model; the next one is answered 429 instead of held in memory."""
    engine = LocalEngine(max_waiting=1)
    path = "/client/v4/accounts/local/ai/v1/chat/completions"
    headers = {"authorization": "Bearer x", "content-type": "application/json"}

    def body(max_tokens: int) -> bytes:
        return json.dumps({"model": SMOL, "messages": HELLO, "max_tokens": max_tokens, "stream": True}).encode()

    async def scenario():
        running = await engine.handle("POST", path, {}, headers, body(500))  # holds the model while it streams
        waiting = asyncio.create_task(engine.handle("POST", path, {}, headers, body(2)))
        await asyncio.sleep(0.2)  # in line now
        refused = await engine.handle("POST", path, {}, headers, body(2))
        await running.stream.aclose()  # the first reader goes away: its generation stops, the next one runs
        served = await asyncio.wait_for(waiting, 60)
        chunks = [chunk async for chunk in served.stream]
        return running.status, refused, served.status, chunks

    first, refused, second, chunks = asyncio.run(scenario())
    assert (first, refused.status, second) == (200, 429, 200)
    assert json.loads(refused.body)["error"]["code"] == "rate_limit_exceeded"
    assert chunks[-1] == b"data: [DONE]\n\n"

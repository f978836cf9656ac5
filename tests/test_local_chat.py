"""The offline chat model (SmolLM2-135M-Instruct via xllamacpp): streaming, determinism, usage, cancelling, limits."""

import threading
import time

import pytest

from components.local.chat_model import ChatModel

SYSTEM = "You are a helpful assistant. Answer in one short sentence."
QUESTION = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "What is the capital of France?"}]
STORY = [{"role": "system", "content": "You are a helpful assistant."},
         {"role": "user", "content": "Write a long story about a dragon."}]


@pytest.fixture(scope="module")
def model():
    instance = ChatModel.load()
    yield instance
    instance.close()


def stream_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "local-chat-stream"]


def assert_usage(usage: dict):
    assert set(usage) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_streams_a_short_answer_token_by_token(model):
    events = list(model.stream(QUESTION, max_tokens=48, temperature=0, seed=1))
    *deltas, last = events
    assert len(deltas) > 1 and all(set(event) == {"text"} and event["text"] for event in deltas)
    assert last["text"] == "" and "usage" in last
    assert_usage(last["usage"])
    reply = "".join(event["text"] for event in deltas)
    assert reply.strip()
    assert "Paris" in reply  # with this system prompt the tiny model knows it; without one it rambles in French
    assert model.context_window == 8192


def test_temperature_zero_is_deterministic_and_stream_equals_complete(model):
    first = "".join(event["text"] for event in model.stream(QUESTION, max_tokens=32, temperature=0, seed=7))
    second = "".join(event["text"] for event in model.stream(QUESTION, max_tokens=32, temperature=0, seed=7))
    whole = model.complete(QUESTION, max_tokens=32, temperature=0, seed=7)
    assert first == second == whole["response"]
    assert_usage(whole["usage"])
    assert set(whole) == {"response", "usage"}


def test_max_tokens_bounds_the_reply(model):
    result = model.complete(STORY, max_tokens=5, temperature=0, seed=1)
    assert result["usage"]["completion_tokens"] == 5


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["close", "drop"])
def test_abandoning_the_stream_cancels_the_generation(model, how):
    events = model.stream(STORY, max_tokens=4000, temperature=0.6, seed=3)
    assert next(events)["text"] and next(events)["text"]
    started = time.perf_counter()
    if how == "close":
        events.close()
    else:
        del events  # the generator is collected: same as close()
    assert time.perf_counter() - started < 1.0
    deadline = time.monotonic() + 10
    while stream_threads() and time.monotonic() < deadline:  # the worker stops at the server's next token
        time.sleep(0.02)
    assert not stream_threads(), "the generation went on after the consumer left"
    assert "Paris" in model.complete(QUESTION, max_tokens=32, temperature=0, seed=1)["response"]


def test_input_longer_than_the_context_window_is_a_value_error(model):
    long = [{"role": "user", "content": "word " * 9000}]
    with pytest.raises(ValueError, match=r"^the input is \d+ tokens; this model's context window is 8192$"):
        model.complete(long)
    with pytest.raises(ValueError, match=r"context window is 8192"):
        next(model.stream(long))
    assert model.complete(QUESTION, max_tokens=16, temperature=0)["response"]  # still usable


@pytest.mark.parametrize("messages", [[], "hi", [{"role": "wizard", "content": "hi"}], [{"role": "user"}]])
def test_malformed_messages_are_value_errors(model, messages):
    with pytest.raises(ValueError):
        model.complete(messages)
    with pytest.raises(ValueError):
        list(model.stream(messages))

"""The Anthropic Messages API client against a fake Anthropic server on loopback: headers, body, the SSE events,
every kind of error as one sentence, retries that honour retry-after, and a key that never leaks."""

import asyncio

import pytest

from components.core.routing import Anthropic, AnthropicError, AnthropicSettings, price_usd
from components.anthropic import API_VERSION, to_anthropic
from tests.fake_anthropic import AnthropicFault
from tests.routing_fixtures import *  # noqa: F403
from tests.routing_fixtures import ANTHROPIC_KEY

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Why is the sky blue?"}]


def stream(client, messages=MESSAGES, **options):
    async def run():
        return [delta async for delta in client.stream(messages, **options)]

    return asyncio.run(run())


def test_streams_text_and_usage_with_the_right_headers_and_body(anthropic, fake_anthropic):
    deltas = stream(anthropic, max_tokens=64, temperature=2.5)
    assert "".join(d.text for d in deltas) == "".join(fake_anthropic.tokens)
    assert len([d for d in deltas if d.text]) == len(fake_anthropic.tokens), "one delta per text event"
    assert deltas[0].input_tokens > 0 and deltas[-1].output_tokens == len(fake_anthropic.tokens)
    assert deltas[-1].stop_reason == "end_turn"
    sent = fake_anthropic.requests[-1]
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY and sent.headers["anthropic-version"] == API_VERSION
    assert "authorization" not in sent.headers
    assert sent.json["system"] == "Be brief." and sent.json["stream"] is True and sent.json["max_tokens"] == 64
    assert sent.json["messages"][0] == {"role": "user", "content": "Hi"}
    assert sent.json["temperature"] == 1.0, "Anthropic accepts 0-1: higher is capped"
    assert sent.json["model"] == "claude-sonnet-4-5"


def test_anthropic_model_comes_from_the_environment(anthropic, fake_anthropic, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_MODEL", "claude-haiku-4-5")
    stream(Anthropic(AnthropicSettings.from_env()))
    assert fake_anthropic.requests[-1].json["model"] == "claude-haiku-4-5"


def test_messages_become_alternating_turns_with_a_top_level_system():
    system, turns = to_anthropic([{"role": "system", "content": "S"}, {"role": "assistant", "content": "early"},
                                  {"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                                  {"role": "assistant", "content": "c"}])
    assert system == "S"
    assert turns == [{"role": "user", "content": "a\n\nb"}, {"role": "assistant", "content": "c"}]


@pytest.mark.parametrize(("status", "error_type", "expected"), [
    (401, "authentication_error", "API key was rejected"),
    (403, "permission_error", "not allowed"),
    (404, "not_found_error", "does not know the model claude-sonnet-4-5"),
    (400, "invalid_request_error", "refused the request: prompt is too long"),
    (413, "request_too_large", "too large"),
])
def test_errors_that_are_not_retried_become_one_sentence(anthropic, fake_anthropic, status, error_type, expected):
    message = "prompt is too long" if status == 400 else "nope"
    fake_anthropic.fail(AnthropicFault.error(status, error_type, message))
    with pytest.raises(AnthropicError) as caught:
        stream(anthropic)
    assert expected in caught.value.user_message
    assert caught.value.status == status and caught.value.error_type == error_type
    assert caught.value.request_id and caught.value.request_id.startswith("req_")
    assert len(fake_anthropic.requests) == 1 and anthropic.slept == []


def test_overloaded_and_rate_limits_are_retried_honouring_retry_after(anthropic, fake_anthropic):
    fake_anthropic.fail(AnthropicFault.error(529, "overloaded_error", "Overloaded"),
                        AnthropicFault.error(429, "rate_limit_error", "slow down", retry_after="3"))
    deltas = stream(anthropic)
    assert "".join(d.text for d in deltas) == "".join(fake_anthropic.tokens)
    assert len(fake_anthropic.requests) == 3
    assert 0 < anthropic.slept[0] <= 0.5 and anthropic.slept[1] == 3.0


def test_retries_give_up_with_a_sentence(anthropic, fake_anthropic):
    fake_anthropic.fail(*[AnthropicFault.error(529, "overloaded_error", "Overloaded")] * 3)
    with pytest.raises(AnthropicError, match="overloaded"):
        stream(anthropic)
    assert len(fake_anthropic.requests) == 3


def test_a_long_retry_after_is_not_waited_for(anthropic, fake_anthropic):
    fake_anthropic.fail(AnthropicFault.error(429, "rate_limit_error", "slow down", retry_after="120"))
    with pytest.raises(AnthropicError, match="rate limit"):
        stream(anthropic)
    assert anthropic.slept == []


def test_an_error_event_mid_stream_and_a_cut_stream_are_errors(anthropic, fake_anthropic):
    fake_anthropic.fail(AnthropicFault.stream_error(after_tokens=2))
    with pytest.raises(AnthropicError, match="overloaded"):
        stream(anthropic)
    fake_anthropic.fail(AnthropicFault.cut(after_tokens=3))
    with pytest.raises(AnthropicError, match="dropped|ended before"):
        stream(anthropic)


def test_no_key_no_request(fake_anthropic):
    with pytest.raises(AnthropicError, match="ANTHROPIC_API_KEY"):
        stream(Anthropic(AnthropicSettings(api_key=None, base_url=fake_anthropic.base_url)))
    assert fake_anthropic.requests == []


def test_the_key_is_never_echoed_or_shown(anthropic, fake_anthropic):
    assert ANTHROPIC_KEY not in repr(anthropic.settings)
    fake_anthropic.fail(AnthropicFault.error(400, "invalid_request_error", f"bad header x-api-key: {ANTHROPIC_KEY}"))
    with pytest.raises(AnthropicError) as caught:
        stream(anthropic)
    assert ANTHROPIC_KEY not in str(caught.value) and "[redacted]" in caught.value.user_message


def test_prices_from_the_table_including_dated_model_ids():
    assert price_usd("claude-sonnet-4-5", 1_000_000, 1_000_000) == pytest.approx(18.0)
    assert price_usd("claude-sonnet-4-5-20250929", 1000, 500) == pytest.approx(0.0105)
    assert price_usd("claude-haiku-4-5", 2000, 0) == pytest.approx(0.002)
    assert price_usd("some-unknown-model", 10, 10) is None

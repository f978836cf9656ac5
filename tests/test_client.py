"""The shared client against a real HTTP server on loopback that speaks the Workers AI contract."""

import asyncio

import httpx
import pytest

from components.workers_ai import (
    AuthenticationError,
    ConnectionFailedError,
    DailyAllocationError,
    DeprecatedModelError,
    ModelNotFoundError,
    PermissionDeniedError,
    ProtocolError,
    ServerError,
    Settings,
    UpstreamTimeoutError,
    WorkersAI,
)
from tests.conftest import ACCOUNT_ID, TOKEN, make_settings
from tests.fake_workers_ai import Fault

FAST = "@cf/meta/llama-3.1-8b-instruct-fast"
GLM = "@cf/zai-org/glm-4.7-flash"
MESSAGES = {"messages": [{"role": "user", "content": "Say hello"}]}


def run(coro):
    return asyncio.run(coro)


async def collect(client, model=FAST, payload=MESSAGES):
    return [d async for d in client.stream(model, payload)]


def test_run_sends_model_in_path_and_bearer_token(client, fake):
    result = run(client.run(FAST, MESSAGES))
    assert result["response"] and result["usage"]["total_tokens"] > 0
    request = fake.requests[-1]
    assert request.path == f"/client/v4/accounts/{ACCOUNT_ID}/ai/run/{FAST}"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_chat_completions_shape_is_read(client, fake):
    from components.workers_ai import generated_text

    assert generated_text(run(client.run(GLM, MESSAGES))) == "".join(fake.stream_tokens)


def test_wrong_token_is_an_authentication_error_without_the_token(fake):
    client = WorkersAI(make_settings(fake, api_token="wrong-token-XYZ"))
    with pytest.raises(AuthenticationError) as caught:
        run(client.run(FAST, MESSAGES))
    assert "Workers AI Read" in caught.value.user_message
    assert "wrong-token-XYZ" not in str(caught.value)
    assert fake.count() == 1  # auth errors are never retried


def test_deprecated_model_says_when_and_what_to_do(client):
    with pytest.raises(DeprecatedModelError) as caught:
        run(client.run("@cf/meta/llama-3.1-8b-instruct", MESSAGES))
    assert "deprecated on 2026-05-30 — pick another in the list" in caught.value.user_message


def test_paid_model_and_unknown_model(client):
    with pytest.raises(PermissionDeniedError, match="Workers Paid"):
        run(client.run("@cf/moonshotai/kimi-k2.5", MESSAGES))
    with pytest.raises(ModelNotFoundError):
        run(client.run("@cf/nobody/no-such-model", MESSAGES))


def test_capacity_error_is_retried_then_succeeds(client, fake):
    fake.fail(Fault.error(429, 3040, "Capacity temporarily exceeded, please try again."), model=FAST)
    assert run(client.run(FAST, MESSAGES))["response"]
    assert fake.count(FAST) == 2


@pytest.mark.parametrize("code", [3036, 4006])
def test_daily_allocation_is_never_retried(client, fake, code):
    fake.fail(Fault.error(429, code, "you have used up your daily free allocation of 10,000 neurons"), model=FAST)
    with pytest.raises(DailyAllocationError) as caught:
        run(client.run(FAST, MESSAGES))
    assert fake.count(FAST) == 1
    message = caught.value.user_message
    assert "10,000 neurons" in message and "00:00 UTC (in " in message


def test_server_errors_are_retried_twice_then_reported(client, fake):
    fake.fail(*[Fault.error(500, 7009, "Upstream service unavailable")] * 3, model=FAST)
    with pytest.raises(ServerError):
        run(client.run(FAST, MESSAGES))
    assert fake.count(FAST) == 3


def test_html_502_from_a_proxy_is_a_server_error_and_retried(client, fake):
    fake.fail(Fault.raw(502, "<html><body>Bad gateway</body></html>", "text/html"), model=FAST)
    assert run(client.run(FAST, MESSAGES))["response"]
    assert fake.count(FAST) == 2


def test_retry_after_is_honoured(fake):
    waits = []

    async def record(seconds):
        waits.append(seconds)

    client = WorkersAI(make_settings(fake), sleep=record)
    fake.fail(Fault.error(429, 3040, "busy", retry_after=2), model=FAST)
    run(client.run(FAST, MESSAGES))
    assert waits == [2.0]


def test_backoff_is_jittered_and_grows(fake):
    waits = []

    async def record(seconds):
        waits.append(seconds)

    client = WorkersAI(make_settings(fake), sleep=record)
    fake.fail(Fault.error(503, 7009, "unavailable"), Fault.error(503, 7009, "unavailable"), model=FAST)
    run(client.run(FAST, MESSAGES))
    assert 0.375 <= waits[0] <= 0.5 and 0.75 <= waits[1] <= 1.0


def test_success_false_with_http_200_is_an_error(client, fake):
    fake.fail(*[Fault.envelope_false()] * 3, model=FAST)
    with pytest.raises(Exception) as caught:
        run(client.run(FAST, MESSAGES))
    assert "Workers AI" in caught.value.user_message


def test_invalid_json_is_a_protocol_error(client, fake):
    fake.fail(Fault.raw(200, "{not json", "application/json"), model=FAST)
    with pytest.raises(ProtocolError):
        run(client.run(FAST, MESSAGES))


def test_read_timeout_is_retried(fake):
    async def no_sleep(_):
        return None

    client = WorkersAI(make_settings(fake), timeout=httpx.Timeout(0.3, connect=1.0), sleep=no_sleep)
    fake.fail(Fault.hang(1.0), model=FAST)
    assert run(client.run(FAST, MESSAGES))["response"]
    assert fake.count(FAST) == 2


def test_read_timeout_every_time_is_reported(fake):
    client = WorkersAI(make_settings(fake), timeout=httpx.Timeout(0.2, connect=1.0), max_retries=0)
    fake.fail(Fault.hang(1.0), model=FAST)
    with pytest.raises(UpstreamTimeoutError):
        run(client.run(FAST, MESSAGES))


def test_connection_refused_is_a_clear_error():
    async def no_sleep(_):
        return None

    settings = Settings(account_id=ACCOUNT_ID, api_token=TOKEN, base_url="http://127.0.0.1:9/client/v4")
    with pytest.raises(ConnectionFailedError, match="Could not reach Workers AI"):
        run(WorkersAI(settings, sleep=no_sleep).run(FAST, MESSAGES))


def test_dns_failure_is_a_clear_error():
    settings = Settings(account_id=ACCOUNT_ID, api_token=TOKEN, base_url="http://no-such-host.invalid/client/v4")
    with pytest.raises(ConnectionFailedError):
        run(WorkersAI(settings, max_retries=0).run(FAST, MESSAGES))


# ── streaming ──────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("chunking", ["event", "bytewise", "coalesced", "split"])
@pytest.mark.parametrize("line_ending", ["\n", "\r\n"])
def test_stream_text_is_exact_whatever_the_chunking(client, fake, chunking, line_ending):
    fake.chunking, fake.line_ending = chunking, line_ending
    fake.stream_tokens = ["Grüß", " dich", " 🌍", "!", " ok"]
    deltas = run(collect(client))
    assert "".join(d.text for d in deltas) == "Grüß dich 🌍! ok"
    assert deltas[-1].usage["completion_tokens"] == 5


def test_chat_completions_stream_is_not_doubled(client, fake):
    deltas = run(collect(client, GLM))
    assert "".join(d.text for d in deltas) == "".join(fake.stream_tokens)


def test_error_answered_to_a_stream_request_is_raised(client):
    with pytest.raises(DeprecatedModelError):
        run(collect(client, "@cf/meta/llama-3.1-8b-instruct"))


@pytest.mark.parametrize("fault", [Fault.cut_stream(after_events=2), Fault.no_done(), Fault.malformed_sse()])
def test_broken_streams_raise_protocol_errors(client, fake, fault):
    fake.fail(fault, model=FAST)
    with pytest.raises(ProtocolError):
        run(collect(client))


def test_stream_capacity_error_before_first_byte_is_retried(client, fake):
    fake.fail(Fault.error(429, 3040, "busy"), model=FAST)
    assert "".join(d.text for d in run(collect(client))) == "".join(fake.stream_tokens)


def test_request_ids_reach_errors(client, fake):
    fake.fail(Fault.error(400, 5006, "AiError: Bad input: Error: bad"), model=FAST)
    with pytest.raises(Exception) as caught:
        run(client.run(FAST, MESSAGES))
    assert caught.value.request_id


# ── gateway and configuration ──────────────────────────────────────────────────────────────


def test_ai_gateway_url_form_and_gateway_token(fake):
    fake.gateway_token = "gw-secret"
    client = WorkersAI(make_settings(fake, gateway_id="demo-gw", gateway_token="gw-secret"))
    assert run(client.run(FAST, MESSAGES))["response"]
    request = fake.requests[-1]
    assert request.path == f"/gateway/v1/{ACCOUNT_ID}/demo-gw/workers-ai/{FAST}"
    assert request.gateway_id == "demo-gw"
    assert request.headers["cf-aig-authorization"] == "Bearer gw-secret"


def test_settings_from_env_clean_copy_paste_and_hide_the_token():
    settings = Settings.from_env(
        {"CLOUDFLARE_ACCOUNT_ID": " abcd1a2b\n", "CLOUDFLARE_API_TOKEN": "Bearer tok-123\n",
         "CLOUDFLARE_BASE_URL": "http://127.0.0.1:1/client/v4/"}
    )
    assert settings.api_token == "tok-123" and settings.account_id == "abcd1a2b"
    assert settings.base_url == "http://127.0.0.1:1/client/v4"
    assert settings.account_hint == "…1a2b"
    assert "tok-123" not in repr(settings)
    assert not Settings.from_env({}).configured

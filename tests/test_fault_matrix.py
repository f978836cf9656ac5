"""Every upstream failure, through the launched app: a clear sentence for the person, retries only where they
help, and the next request succeeds."""

import socket

import httpx
import pytest
from gradio_client.exceptions import AppError

from components.core import backend
from components.workers_ai import Settings, WorkersAI
from tests.conftest import ACCOUNT_ID, TOKEN, make_settings
from tests.fake_workers_ai import Fault

HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"

# (fault, words the message must contain, requests the fake must see: retried faults are seen 3 times)
MATRIX = {
    "400/5006 bad input": ([Fault.error(400, 5006, "AiError: Bad input: Error: oops")], "rejected the input", 1),
    "401/10000 auth": ([Fault.error(401, 10000, "Authentication error")], "token was rejected", 1),
    "403/5035 paid plan": ([Fault.error(403, 5035, "requires Workers Paid")], "Workers Paid", 1),
    "404/3042 invalid model": ([Fault.error(404, 3042, "Invalid model ID")], "does not know the model", 1),
    "5028 deprecated": ([Fault.error(400, 5028, "This model was deprecated on 2026-05-30.")],
                        "deprecated on 2026-05-30", 1),
    "413/3006 too large": ([Fault.error(413, 3006, "Request is too large")], "too large", 1),
    "429/3040 capacity, retried": ([Fault.error(429, 3040, "Capacity temporarily exceeded")] * 3,
                                   "out of capacity", 3),
    "429/3036 daily allocation": ([Fault.error(429, 3036, "daily free allocation exceeded")], "resets at 00:00 UTC", 1),
    "429/4006 daily allocation": ([Fault.error(429, 4006, "you have used up your daily free allocation")],
                                  "resets at 00:00 UTC", 1),
    "500 server error": ([Fault.error(500, 7009, "Upstream service unavailable")] * 3, "server error", 3),
    "502 HTML from a proxy": ([Fault.raw(502, HTML_502, "text/html")] * 3, "server error", 3),
    "invalid JSON": ([Fault.raw(200, "{not json", "application/json")], "could not read|not JSON", 1),
    "success false with 200": ([Fault.envelope_false()] * 3, "trouble right now", 3),
    "stream cut without [DONE]": ([Fault.cut_stream(after_events=2)], "connection dropped|ended before", 1),
    "stream ends without [DONE]": ([Fault.no_done()], "ended before", 1),
    "malformed SSE": ([Fault.malformed_sse()], "malformed", 1),
}


@pytest.mark.parametrize("case", MATRIX, ids=list(MATRIX))
def test_fault_is_a_sentence_and_the_next_request_succeeds(api, fake, case):
    faults, expected, requests = MATRIX[case]
    fake.fail(*faults)
    with pytest.raises(AppError, match=expected) as caught:
        api.predict("Hello", api_name="/chat")
    assert TOKEN not in str(caught.value) and "Traceback" not in str(caught.value)
    assert fake.count() == requests
    assert api.predict("Hello again", api_name="/chat") == "".join(fake.stream_tokens)


def test_capacity_error_once_is_retried_invisibly(api, fake):
    fake.fail(Fault.error(429, 3040, "Capacity temporarily exceeded"))
    assert api.predict("Hello", api_name="/chat") == "".join(fake.stream_tokens)
    assert fake.count() == 2


@pytest.fixture
def use_settings(fake):
    """Swap the shared client for one with other settings, for this test only."""
    def install(settings, **options):
        async def no_sleep(_seconds):
            return None

        backend.use_client(WorkersAI(settings, sleep=no_sleep, **options))

    yield install
    backend.use_client(WorkersAI(make_settings(fake)))


def unreachable(base_url):
    return Settings(account_id=ACCOUNT_ID, api_token=TOKEN, base_url=base_url)


@pytest.fixture
def full_backlog():
    """A loopback port whose listen queue is full: connecting to it hangs until the connect timeout."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(server.getsockname())
        fillers.append(filler)
    yield server.getsockname()[1]
    for sock in [server, *fillers]:
        sock.close()


def test_connection_refused(api, served, fake, use_settings):
    use_settings(unreachable("http://127.0.0.1:9/client/v4"))
    with pytest.raises(AppError, match="Could not reach Workers AI"):
        api.predict("Hello", api_name="/chat")


def test_dns_failure(api, served, fake, use_settings):
    use_settings(unreachable("http://no-such-host.invalid/client/v4"))
    with pytest.raises(AppError, match="Could not reach Workers AI"):
        api.predict("Hello", api_name="/chat")


def test_connect_timeout(api, served, full_backlog, use_settings):
    use_settings(unreachable(f"http://127.0.0.1:{full_backlog}/client/v4"), timeout=httpx.Timeout(5.0, connect=0.3))
    with pytest.raises(AppError, match="Could not (connect|reach)"):
        api.predict("Hello", api_name="/chat")


def test_read_timeout_mid_stream(api, fake, use_settings):
    use_settings(make_settings(fake), timeout=httpx.Timeout(0.5, connect=2.0))
    fake.token_delay = 1.5
    with pytest.raises(AppError, match="stopped arriving|took too long"):
        api.predict("Hello", api_name="/chat")
    fake.token_delay = 0
    assert api.predict("Hello again", api_name="/chat") == "".join(fake.stream_tokens)

"""The served engine (`python -m components.local`) under attack, for real: a running server on 127.0.0.1 and raw
sockets that lie about their length, stream without one, or guess the token. No test listens beyond loopback."""

import asyncio
import json
import os
import select
import socket
import subprocess
import sys
import time

import httpx
import pytest

from components.local import LocalEngine
from components.local.__main__ import is_loopback, refusal_to_listen
from components.local.engine import MAX_BODY_BYTES
from tests.conftest import ROOT, served_engine

TOKEN = "dev-token"
EMBED = "/client/v4/accounts/local/ai/run/@local/all-minilm-l6-v2"
PROMPT = 5  # seconds: an answer that waits for a body the client never sends arrives after this, or never


@pytest.fixture(scope="module")
def port():
    with served_engine(TOKEN) as port:
        yield port


def send_head(port: int, *headers: str, token: str = TOKEN) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=PROMPT)
    lines = [f"POST {EMBED} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {token}",
             "Content-Type: application/json", *headers]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


def answer(sock: socket.socket) -> tuple[int, bytes]:
    """Status and body of the answer, read until the server closes: a server still waiting for the body times out."""
    data = b""
    with sock:
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:  # closed with our unread bytes in its buffer: a reset, not a FIN, ends it
            if not data:
                raise
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def error_code(body: bytes) -> int:
    envelope = json.loads(body)
    assert envelope["success"] is False and envelope["result"] == {}
    return envelope["errors"][0]["code"]


@pytest.mark.parametrize(("token", "status", "code"), [(TOKEN, 413, 3006), ("dev-tokeN", 401, 10000)])
def test_a_claimed_100_mb_body_is_refused_before_it_is_read(port, token, status, code):
    sock = send_head(port, "Content-Length: 100000000", token=token)
    sock.sendall(b'{"text": "only these few bytes ever come')
    started = time.monotonic()
    got, body = answer(sock)  # the server answers, and closes, without waiting for the other 99.99 MB
    assert (got, error_code(body)) == (status, code)
    assert time.monotonic() - started < PROMPT


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(port):
    sock = send_head(port, "Transfer-Encoding: chunked")
    piece = b"%x\r\n%s\r\n" % (1 << 20, b"x" * (1 << 20))
    sent = 0
    try:
        while not select.select([sock], [], [], 0)[0]:  # stop sending once the server has answered
            assert sent < 4 * MAX_BODY_BYTES, "the server read four times its limit without a word"
            sock.sendall(piece)
            sent += 1 << 20
    except ConnectionError:  # the server closed on us mid-send: its answer is already on the way
        pass
    got, body = answer(sock)
    assert (got, error_code(body)) == (413, 3006)
    assert sent > MAX_BODY_BYTES, "refused only once past the limit"


def test_a_body_within_the_limit_still_goes_through(port):
    chunks = (b'{"text": ', b'"a cat"}')  # a generator body: sent chunked, without a Content-Length
    response = httpx.post(f"http://127.0.0.1:{port}{EMBED}", content=iter(chunks), timeout=60,
                          headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
    assert response.status_code == 200 and response.json()["result"]["shape"] == [1, 384]


def test_a_wrong_token_of_the_same_length_is_refused(port):
    wrong = TOKEN[:-1] + chr(ord(TOKEN[-1]) + 1)
    assert len(wrong) == len(TOKEN)
    response = httpx.get(f"http://127.0.0.1:{port}/client/v4/accounts/local/ai/models/search",
                         headers={"authorization": f"Bearer {wrong}"}, timeout=10)
    assert response.status_code == 401 and error_code(response.content) == 10000
    right = httpx.get(f"http://127.0.0.1:{port}/client/v4/accounts/local/ai/models/search",
                      headers={"authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert right.status_code == 200


def test_a_negative_content_length_gets_400(port):
    sock = send_head(port, "Content-Length: -5")  # refused by the HTTP parser itself, before the engine
    sock.sendall(b"{}")
    assert answer(sock)[0] == 400


@pytest.mark.parametrize("declared", ["-5", "12abc", "1e3", "\u00b2", " "])
def test_a_malformed_content_length_gets_400_from_the_engine_too(declared):
    headers = {"authorization": "Bearer x", "content-length": declared}
    refused = asyncio.run(LocalEngine().handle("POST", EMBED, {}, headers, b"{}"))
    assert refused.status == 400 and error_code(refused.body) == 3003 and refused.headers["cf-ai-req-id"]


@pytest.mark.parametrize("declared", [str(MAX_BODY_BYTES + 1), "9" * 5000])
def test_a_declared_length_over_the_limit_is_413_in_process_too(declared):
    headers = {"authorization": "Bearer x", "content-length": declared}
    refused = asyncio.run(LocalEngine().handle("POST", EMBED, {}, headers, b"{}"))
    assert refused.status == 413 and error_code(refused.body) == 3006


def serve(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """`python -m components.local *args` with a stand-in uvicorn that reports where it would listen, and binds
    nothing: not even a regression can make this test listen beyond loopback."""
    (tmp_path / "uvicorn.py").write_text("def run(app, host, port, **options):\n    print('would serve on', host)\n")
    env = {k: v for k, v in os.environ.items() if k != "LOCAL_ENGINE_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    return subprocess.run([sys.executable, "-m", "components.local", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_listening_beyond_loopback_without_a_token_exits_2(tmp_path):
    refused = serve(tmp_path, "--host", "0.0.0.0")
    assert refused.returncode == 2 and "would serve" not in refused.stdout
    assert refused.stderr.strip() == (
        "Refusing to listen on 0.0.0.0 without a token: pass --token (or set LOCAL_ENGINE_TOKEN), "
        "or listen on 127.0.0.1."
    )
    assert refusal_to_listen("::", None) and refusal_to_listen("example.com", "")


def test_with_a_token_or_on_loopback_it_starts(tmp_path):
    started = serve(tmp_path, "--host", "0.0.0.0", "--token", "x")
    assert started.returncode == 0 and "would serve on 0.0.0.0" in started.stdout
    assert "would serve on 127.0.0.1" in serve(tmp_path).stdout  # the default: loopback, any token


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("example.com", False),
     ("localhost.example.com", False), ("", False)],
)
def test_only_loopback_hosts_count_as_loopback(host, loopback):
    assert is_loopback(host) is loopback

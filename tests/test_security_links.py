"""Files named by link (what MCP clients send): fetched with a size limit, never into private networks.

A real HTTP server on 127.0.0.1 plays the stranger's file host. The fetcher refuses loopback addresses, as it must
on a Space, so the tests that need it to fetch from this server tell the address check that 127.0.0.1 is public.
"""

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import safehttpx

from components.core import downloads
from tests.conftest import ASSETS

CAT = (ASSETS / "cat-chelsea.png").read_bytes()
LIMIT = 1024 * 1024


class FileHost(BaseHTTPRequestHandler):
    sent_bytes = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/cat.png":
            self._answer(200, CAT, {"Content-Length": str(len(CAT))})
        elif self.path == "/moved":
            self._answer(302, b"", {"Location": "/cat.png", "Content-Length": "0"})
        elif self.path == "/claims-huge":  # declares 50 GB, sends a little, then waits: must not be read on
            self._answer(200, b"x" * 1000, {"Content-Length": str(50 * 2**30)})
            time.sleep(2)
        elif self.path == "/endless":  # no length declared, bytes until someone stops reading
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for _ in range(200):
                    block = b"y" * 65536
                    self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                    FileHost.sent_bytes += len(block)
            except OSError:
                pass
        elif self.path == "/gone":
            self._answer(404, b"no", {"Content-Length": "2"})

    def _answer(self, status, body, headers):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def host():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FileHost)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def loopback_is_public(monkeypatch):
    async def validate(hostname):
        return "127.0.0.1"

    monkeypatch.setattr(safehttpx, "async_validate_url", validate)


@pytest.fixture
def no_public_dns(monkeypatch):
    """safehttpx asks a public DNS resolver when the local answer is private: never from a test."""
    async def nothing(hostname):
        return []

    monkeypatch.setattr(safehttpx, "async_resolve_hostname_google", nothing)


def fetch(url, tmp_path, limit=LIMIT):
    return asyncio.run(downloads.fetch(url, tmp_path, limit))


def test_a_file_within_the_limit_is_fetched_and_redirects_are_followed(host, tmp_path, loopback_is_public):
    from pathlib import Path

    assert Path(fetch(host + "/cat.png", tmp_path)).read_bytes() == CAT
    assert Path(fetch(host + "/moved", tmp_path)).read_bytes() == CAT


def test_a_declared_size_over_the_limit_is_refused_before_the_body_is_read(host, tmp_path, loopback_is_public):
    started = time.perf_counter()
    with pytest.raises(downloads.DownloadRefused, match="larger than 1 MB"):
        fetch(host + "/claims-huge", tmp_path)
    assert time.perf_counter() - started < 1.5, "the server's 2 s pause was waited out: the body was read"
    assert not any(path.is_file() for path in tmp_path.rglob("*"))


def test_an_endless_body_is_cut_off_at_the_limit(host, tmp_path, loopback_is_public):
    FileHost.sent_bytes = 0
    with pytest.raises(downloads.DownloadRefused, match="larger than 1 MB"):
        fetch(host + "/endless", tmp_path)
    assert not any(path.is_file() for path in tmp_path.rglob("*")), "the partial file is removed"


def test_links_into_private_networks_are_refused(host, tmp_path, no_public_dns):
    for url in (host + "/cat.png", "http://localhost:1/x", "http://10.0.0.1/x", "http://[::1]/x"):
        with pytest.raises(downloads.DownloadRefused, match="not lead to a public address"):
            fetch(url, tmp_path)


def test_a_failed_answer_is_a_sentence(host, tmp_path, loopback_is_public):
    with pytest.raises(downloads.DownloadRefused, match="HTTP 404"):
        fetch(host + "/gone", tmp_path)


def classify_link(base: str, url: str) -> tuple[str, object]:
    data = [{"path": url, "url": url, "meta": {"_type": "gradio.FileData"}}, ""]
    with httpx.Client(base_url=base, timeout=30) as http:
        event_id = http.post("gradio_api/call/classify", json={"data": data}).json()["event_id"]
        text = http.get(f"gradio_api/call/classify/{event_id}").text
    kind = text.split("event: ", 2)[-1].split("\n", 1)[0]
    payload = json.loads(text.rsplit("data: ", 1)[1].splitlines()[0])
    return kind, payload


def test_the_vision_endpoint_fetches_a_link_within_its_limit_and_refuses_a_larger_one(served, fake, host,
                                                                                       loopback_is_public):
    kind, payload = classify_link(served, host + "/cat.png")
    assert kind == "complete" and payload[0]["confidences"], payload
    kind, payload = classify_link(served, host + "/claims-huge")
    assert kind == "error" and "larger than 20 MB" in payload["error"], payload
    assert fake.count() == 1, "only the picture within the limit reached Workers AI"


def test_every_file_input_a_caller_can_reach_fetches_links_with_a_limit():
    """Gradio fetches a file named by link whole, into memory, with no limit: every file input of an endpoint an
    API or MCP caller can call must fetch through fetch_links_capped with its own limit."""
    import gradio as gr

    import app

    reachable = [fn for fn in app.demo.fns.values() if fn.api_visibility != "private"]
    files = {(fn.api_name, type(c).__name__): c for fn in reachable for c in fn.inputs
             if isinstance(c, (gr.File, gr.Image, gr.Audio, gr.Video, gr.Gallery))}
    assert files, "the app has file inputs"
    for (name, kind), component in files.items():
        assert getattr(component, "link_limit", None), f"{name}: its {kind} fetches links without a limit"

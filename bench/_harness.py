"""Shared plumbing for the cloud-path benchmarks: the fake Workers AI server, the app (a subprocess running
`python app.py`, as `make run` does, or in-process), raw HTTP to Gradio's queue API, and Markdown tables.

Everything runs on loopback against `tests/fake_workers_ai`; nothing here touches the internet. Not a test:
the numbers depend on the machine and its load, so every table is printed with the load average.

Why raw HTTP: `gradio_client` polls every 50 ms, which would swamp the milliseconds measured here. A call is
`POST /gradio_api/call/<api_name>` (→ `event_id`), then `GET /gradio_api/call/<api_name>/<event_id>`, a
server-sent-event stream of `event: generating|complete|error|heartbeat` with `data: [outputs…]`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
PYTHON = sys.executable
sys.path.insert(0, str(ROOT))

# Before gradio (or anything importing it) is loaded: no analytics, no hub lookups.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import httpx  # noqa: E402
from _rawhttp import RawHTTP  # noqa: E402

ACCOUNT_ID = "0123456789abcdef0123456789ab1a2b"
TOKEN = "bench-token-0123"
CHAT_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast"
SYSTEM_PROMPT = "You are a concise assistant."
APP_ENV_NAMES = ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_BASE_URL", "CLOUDFLARE_AI_GATEWAY",
                 "CLOUDFLARE_AI_GATEWAY_TOKEN", "CLOUDFLARE_AI_GATEWAY_URL")


# ── the fake Workers AI server ───────────────────────────────────────────────────────────────


@contextlib.contextmanager
def fake_server(backlog: int = 256) -> Iterator:
    """The test suite's fake Workers AI on 127.0.0.1 (in this process, its own threads).

    `socketserver` listens with a backlog of 5: a burst of 50 new connections would then see SYNs dropped
    and 1 s retransmits, an artefact of the fake that Cloudflare's edge does not have. Re-listening with a
    larger backlog (Linux updates it in place) keeps that out of the concurrency figures.
    """
    from tests.fake_workers_ai import FakeWorkersAI

    with FakeWorkersAI(account_id=ACCOUNT_ID, token=TOKEN) as fake:
        fake._server.socket.listen(backlog)
        fake._server.handle_error = lambda request, address: None  # an app stopped mid-connection is no news
        yield fake


class ChildFake:
    """The fake in a process of its own, for the concurrency figures.

    In the bench's process, the fake's ~50 streaming threads (each waking 30 times a second) and the bench's
    HTTP client share one GIL: the client's event loop then waits its turn behind them and reads the app's
    answers late, which the figures would blame on the app. Cloudflare is not in the caller's process either.
    Settings are given at start; `stats()` reads what the fake saw (`time.monotonic()` is system-wide on Linux,
    the same clock as this process's `perf_counter`)."""

    def __init__(self, conn, base_url: str, gateway_url: str) -> None:
        self._conn, self.base_url, self.gateway_url = conn, base_url, gateway_url

    def _ask(self, command: str):
        self._conn.send(command)
        return self._conn.recv()

    def restart_counts(self) -> None:
        """Forget the requests seen so far; `max_in_flight` starts again from what is in flight now."""
        self._ask("restart")

    def stats(self) -> dict:
        """{"max_in_flight": n, "request_times": [monotonic time of each model request]}"""
        return self._ask("stats")

    def set(self, **settings) -> None:
        """Change the fake's settings (stream_tokens, token_delay, …) between phases of a benchmark."""
        self._ask(("set", settings))


def _serve_child_fake(conn, settings: dict, backlog: int) -> None:
    with fake_server(backlog) as fake:
        for name, value in settings.items():
            setattr(fake, name, value)
        conn.send((fake.base_url, fake.gateway_url))
        while True:
            command = conn.recv()
            if command == "restart":
                fake.requests.clear()
                fake.max_in_flight = fake.in_flight
                conn.send(None)
            elif command == "stats":
                conn.send({"max_in_flight": fake.max_in_flight,
                           "request_times": [request.time for request in fake.requests if request.model]})
            elif isinstance(command, tuple) and command[0] == "set":
                for name, value in command[1].items():
                    setattr(fake, name, value)
                conn.send(None)
            else:
                conn.send(None)
                return


@contextlib.contextmanager
def fake_process(backlog: int = 256, **settings) -> Iterator[ChildFake]:
    """`fake_server`, run in a child process with these attributes set (e.g. stream_tokens, token_delay)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_child_fake, args=(child, settings, backlog), daemon=True)
    process.start()
    try:
        if not parent.poll(30):
            raise RuntimeError("the fake Workers AI process did not start")
        base_url, gateway_url = parent.recv()
        yield ChildFake(parent, base_url, gateway_url)
    finally:
        with contextlib.suppress(OSError, EOFError):
            parent.send("stop")
        process.join(5)
        if process.is_alive():
            process.kill()


def distinct_tokens(count: int) -> list[str]:
    """Tokens that are distinct words (" w0", " w1", …): the number of words in a cumulative reply says how
    many tokens have arrived, so each token's arrival can be timed."""
    return [f" w{i}" for i in range(count)]


def settings_for(fake):
    from components.workers_ai import Settings

    return Settings(account_id=ACCOUNT_ID, api_token=TOKEN, base_url=fake.base_url, gateway_url=fake.gateway_url)


def install_shared_client(fake):
    """Point the app's shared client at the fake, before any tab module is imported (their default model
    ids are read from the shared client at import)."""
    from components.core import backend
    from components import workers_ai

    client = workers_ai.WorkersAI(settings_for(fake))
    backend.use_client(client)
    return client


# ── the app ──────────────────────────────────────────────────────────────────────────────────


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(fake, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_ENV_NAMES}
    env.update(CLOUDFLARE_ACCOUNT_ID=ACCOUNT_ID, CLOUDFLARE_API_TOKEN=TOKEN, CLOUDFLARE_BASE_URL=fake.base_url,
               GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False",
               HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", PYTHONUNBUFFERED="1",
               DEMO_TRUSTED_PROXY_HOPS="1")  # as behind one proxy: the raw client plays many visitors (_rawhttp.py)
    return env


def wait_for_200(url: str, process: subprocess.Popen | None = None, limit: float = 120.0, every: float = 0.02) -> float:
    """Poll `url` until it answers 200; seconds waited. Bounded: raises after `limit` seconds."""
    started = time.perf_counter()
    with httpx.Client(timeout=2.0) as http:
        while time.perf_counter() - started < limit:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the app exited with {process.returncode} before answering")
            try:
                if http.get(url).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(every)
    raise TimeoutError(f"{url} did not answer 200 within {limit:.0f} s")


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen | None
    startup_s: float
    log_path: str | None = None


@contextlib.contextmanager
def running_app(fake, *, in_process: bool = False, script: str = "app.py",
                extra_env: dict[str, str] | None = None) -> Iterator[RunningApp]:
    """The whole app with its shared client on the fake. By default `python app.py` in its own process,
    exactly as `make run` starts it (so the app has its own interpreter and GIL, like in production);
    `in_process=True` uses tests/conftest.py's `launch_app` instead. `script` runs another app the same way
    (bench/_floor_app.py, Gradio's floor)."""
    if in_process:
        from tests.conftest import launch_app

        started = time.perf_counter()
        demo, url = launch_app(install_shared_client(fake))
        try:
            yield RunningApp(url.rstrip("/"), None, time.perf_counter() - started)
        finally:
            demo.close()
        return
    port = free_port()
    log = tempfile.NamedTemporaryFile("w", prefix="bench-app-", suffix=".log", delete=False)
    started = time.perf_counter()
    env = {**app_env(fake, port), **(extra_env or {})}
    process = subprocess.Popen([PYTHON, script], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    failed = True
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_200(url + "/", process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{script} did not start; its output is in {log.name}") from exc
        yield RunningApp(url, process, time.perf_counter() - started, log.name)
        failed = False
    finally:
        stop(process)
        log.close()
        if not failed:
            os.unlink(log.name)  # kept only when something went wrong


def stop(process: subprocess.Popen) -> None:
    """Terminate a child politely, then firmly after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def vm_rss_mb(pid: int) -> float:
    """Resident set size of a process now, from /proc (psutil is not installed)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time a process has used so far (this process when pid is None)."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ── raw HTTP to Gradio's queue API ───────────────────────────────────────────────────────────


@dataclass
class Message:
    at: float  # perf_counter when the event was parsed
    event: str
    data: object


async def gradio_call(http: RawHTTP, base_url: str, api_name: str, data: list,
                      started: list[float] | None = None, session_hash: str | None = None) -> AsyncIterator[Message]:
    """POST the call, then read its SSE stream, yielding each event as it arrives (bounded by the server's
    `complete`/`error`). `started`, if given, receives the perf_counter just before the POST.

    Without `session_hash` every call is a new Gradio session (what a plain raw-HTTP caller gets); with one,
    calls share a session, as a browser tab or a `gradio_client.Client` does."""
    body: dict = {"data": data}
    if session_hash is not None:
        body["session_hash"] = session_hash
    if started is not None:
        started.append(time.perf_counter())
    status, answer = await http.post_json(f"{base_url}/gradio_api/call/{api_name}", body)
    if status != 200:
        raise RuntimeError(f"POST /gradio_api/call/{api_name}: HTTP {status} {answer}")
    async with http.lines(f"{base_url}/gradio_api/call/{api_name}/{answer['event_id']}") as (status, lines):
        if status != 200:
            raise RuntimeError(f"GET /gradio_api/call/{api_name}/…: HTTP {status}")
        event, datas = "message", []
        async for line in lines:
            if line == "":
                if datas:
                    text = "\n".join(datas)
                    try:
                        payload = json.loads(text)
                    except ValueError:
                        payload = text
                    yield Message(time.perf_counter(), event, payload)
                    if event in ("complete", "error"):
                        return
                event, datas = "message", []
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                datas.append(line[5:].lstrip(" "))


def chat_inputs(message: str, max_tokens: int) -> list:
    """The public `/chat` endpoint's inputs: message, model, system prompt, max tokens, temperature, history."""
    return [message, CHAT_MODEL, SYSTEM_PROMPT, max_tokens, 0.6, []]


def chat_payload(message: str, max_tokens: int) -> dict:
    """What the app sends for that chat (the bare client gets the same body)."""
    return {"messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": message}],
            "max_tokens": max_tokens, "temperature": 0.6}


async def app_token_times(http: RawHTTP, base_url: str, message: str, tokens: int,
                          session_hash: str | None = None) -> tuple[float, list[float]]:
    """One streamed `/chat` through the app: (the time of the POST, arrival time of each token).
    The reply is cumulative text of distinct words, so a message carrying n words means tokens < n arrived."""
    arrivals: list[float] = []
    started: list[float] = []
    async for message_ in gradio_call(http, base_url, "chat", chat_inputs(message, tokens + 16), started, session_hash):
        if message_.event == "error":
            raise RuntimeError(f"/chat failed: {message_.data}")
        if message_.event in ("generating", "complete") and isinstance(message_.data, list) and message_.data:
            seen = len(str(message_.data[0] or "").split())
            arrivals.extend([message_.at] * (seen - len(arrivals)))
    return started[0], arrivals


async def bare_token_times(client, message: str, tokens: int) -> tuple[float, list[float]]:
    """The same chat straight through the shared client (`WorkersAI.stream`), no Gradio."""
    arrivals: list[float] = []
    started = time.perf_counter()
    async for delta in client.stream(CHAT_MODEL, chat_payload(message, tokens + 16)):
        if delta.text:
            arrivals.append(time.perf_counter())
    return started, arrivals


def raw_http() -> RawHTTP:
    """The client for calls to the app (bench/_rawhttp.py says why it is not httpx)."""
    return RawHTTP()


# ── reporting ────────────────────────────────────────────────────────────────────────────────


def load_line() -> str:
    load1, load5, load15 = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {load1:.2f} / {load5:.2f} / {load15:.2f} (1 / 5 / 15 min)"


def verdict(ok: bool) -> str:
    return "**PASS**" if ok else "**MISS**"


def table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def report(title: str, headers: list[str], rows: list[list[object]], notes: list[str] = ()) -> None:
    print(f"### {title}\n")
    print(load_line() + "\n")
    print(table(headers, rows))
    for note in notes:
        print(f"\n{note}")
    print(flush=True)


def median(values) -> float:
    return statistics.median(values)


def quantile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f} ms"

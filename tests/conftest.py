"""Shared fixtures. The environment guards come first: gradio must never phone home from a test."""

import asyncio
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
from components.core.settings import VARIABLES  # noqa: E402 (imports no gradio)

for _variable in VARIABLES:  # every setting of the app, but the guards above
    if not _variable.guard:  # tests configure the client and budgets explicitly, never from the developer's shell
        os.environ.pop(_variable.name, None)
# The launched test apps run as if behind one proxy of ours, so that tests can play many visitors from this one
# machine by sending X-Forwarded-For (components/core/visitors.py); tests of the default (0) set it themselves.
os.environ["DEMO_TRUSTED_PROXY_HOPS"] = "1"

import contextlib  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
ACCOUNT_ID = "0123456789abcdef0123456789ab1a2b"
TOKEN = "test-token-abc-SECRET-9f8e7d"


def pytest_collection_modifyitems(items):
    """Browser tests run last: Playwright's sync API keeps an event loop running in the main thread for as long
    as Chromium is open, and the async tests' asyncio.run() cannot start while it does."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


MEASUREMENTS: list[str] = []


def report(line: str) -> None:
    """A figure a test measured (latencies, memory): listed at the end of every run, pass or fail."""
    MEASUREMENTS.append(line)


def pytest_terminal_summary(terminalreporter):
    if MEASUREMENTS:
        terminalreporter.section("measured by the tests")
        for line in MEASUREMENTS:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def fake_server():
    """One real HTTP server on 127.0.0.1 speaking the Workers AI contract, for the whole run."""
    from tests.fake_workers_ai import FakeWorkersAI

    with FakeWorkersAI(account_id=ACCOUNT_ID, token=TOKEN) as server:
        yield server


@pytest.fixture
def fake(fake_server):
    """The fake server, reset before each test (no queued faults, default behaviour, no recorded requests)."""
    fake_server.reset()
    yield fake_server
    fake_server.reset()


def make_settings(fake, **overrides):
    from components.workers_ai import Settings

    values = dict(account_id=ACCOUNT_ID, api_token=TOKEN, base_url=fake.base_url, gateway_url=fake.gateway_url)
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def client(fake):
    """A client pointed at the fake server, installed as the app's shared client; retries do not sleep."""
    from components.core import backend
    from components import workers_ai

    async def no_sleep(_seconds):
        return None

    instance = workers_ai.WorkersAI(make_settings(fake), sleep=no_sleep)
    backend.use_client(instance)
    yield instance
    backend.use_client(workers_ai.WorkersAI(workers_ai.Settings()))


@pytest.fixture
def budget(client):
    """`budget(per_visitor=…, total=…, now=…, state_dir=…)` installs a fresh ledger with those budgets for the
    fake-backed client (and so for the launched app too); the previous ledger comes back after the test."""
    from components.core import usage

    previous = usage.shared_ledger()

    def install(per_visitor: float | None = None, total: float | None = None, **options):
        ledger = usage.Ledger("cloudflare", usage.Budgets(per_visitor, total), **options)
        usage.use_ledger(ledger)
        return ledger

    yield install
    usage.use_ledger(previous)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served_engine(token: str):
    """`python -m components.local` on a free loopback port, as a developer runs it: yields the port once the
    engine answers; stopped (killed if it must be) afterwards."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "components.local", "--port", str(port), "--token", token],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def launch_app(client):
    """Build the whole app with `client` as its shared client and launch it in-process on loopback."""
    from components.core import backend

    backend.use_client(client)
    import app

    demo = app.build_demo()
    demo.queue(max_size=app.QUEUE_MAX_SIZE)
    _, url, _ = demo.launch(
        server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **app.launch_options()
    )
    return demo, url


@pytest.fixture(scope="session")
def app_url(fake_server):
    """The whole app, its shared client pointed at the fake server."""
    from components import workers_ai

    demo, url = launch_app(workers_ai.WorkersAI(make_settings(fake_server)))
    yield url
    demo.close()


@pytest.fixture
def served(app_url, client):
    """The launched app's URL, with a fresh fake-backed shared client for this test."""
    return app_url


@pytest.fixture(scope="session")
def api_session(app_url, tmp_path_factory):
    yield from gradio_client_for(app_url, tmp_path_factory)


def gradio_client_for(url, tmp_path_factory):
    """A gradio_client for one launched app, shared by a whole run (closing one costs ~1 s)."""
    from gradio_client import Client

    api = Client(url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")), max_workers=64)
    yield api
    api.close()


@pytest.fixture
def api(api_session, served):
    """A gradio_client session against the launched app (reset per test, closing costs ~1 s)."""
    api_session.reset_session()
    return api_session


@pytest.fixture(scope="session")
def offline_engine_client():
    """One client wired to the in-process offline engine: its models load once for the whole run."""
    from components.local import offline_client

    return offline_client()


@pytest.fixture(scope="session")
def offline_app_url(offline_engine_client):
    """The whole app with no Cloudflare account: the offline engine answers, as `make run` does by default."""
    demo, url = launch_app(offline_engine_client)
    yield url
    demo.close()


@pytest.fixture
def offline_served(offline_app_url, offline_engine_client):
    """The offline app's URL, with the offline client installed as the shared client for this test."""
    from components.core import backend
    from components import workers_ai

    backend.use_client(offline_engine_client)
    yield offline_app_url
    backend.use_client(workers_ai.WorkersAI(workers_ai.Settings()))


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """One headless Chromium for the whole run (starting one costs ~1 s)."""
    from tests.browser import chromium

    with chromium(tmp_path_factory.mktemp("mic")) as instance:
        yield instance


@pytest.fixture(scope="session")
def offline_api_session(offline_app_url, tmp_path_factory):
    yield from gradio_client_for(offline_app_url, tmp_path_factory)


@pytest.fixture
def offline_api(offline_api_session, offline_served):
    """A gradio_client session against the offline app (reset per test)."""
    offline_api_session.reset_session()
    return offline_api_session


# ── helpers for the page's chat function ────────────────────────────────────────────────────────


def collect(gen):
    """Everything an async generator yields, run to its end."""
    async def run():
        return [item async for item in gen]

    return asyncio.run(run())


def answer(gen):
    """The page's chat outputs as (reply, statistics or route line); the third, the How-it-works panel, is tested
    apart (tests/test_how_it_works.py)."""
    return [(reply, line) for reply, line, _panel in collect(gen)]


@pytest.fixture(scope="session", autouse=True)
def documents_folder(tmp_path_factory):
    """The embedded document index lives in a temporary folder for the whole run, never in ~/.cache (tests set
    DEMO_STATE_DIR themselves where they need it)."""
    from components.core.documents import embedded

    previous, embedded.DEFAULT_FOLDER = embedded.DEFAULT_FOLDER, tmp_path_factory.mktemp("state")
    yield embedded.DEFAULT_FOLDER
    embedded.DEFAULT_FOLDER = previous

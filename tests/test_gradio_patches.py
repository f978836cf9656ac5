"""components/ui/gradio_tuning.py: the lazy session config lists exactly what Gradio's eager one would, and the
prompt queue still starts, streams and finishes every job (one at a time and many at once, under a limit)."""

import asyncio
import sys
import threading
import time

import gradio as gr
from gradio.state_holder import SessionState
from gradio_client import Client

import app
from components.ui import gradio_tuning
from tests.conftest import free_port


def eager_config(demo: gr.Blocks) -> list[dict]:
    """What Gradio 6.31's own SessionState.__init__ builds for a new session, in its order."""
    blocks_config = demo.default_config
    return [blocks_config.config_for_block(k, [], v) for k, v in blocks_config.blocks.items() if k in demo.blocks]


def shipped_session_state():
    """Gradio's own SessionState, as shipped (the methods the tuning replaced, put back on a subclass)."""
    return type("ShippedSessionState", (SessionState,), dict(SessionState.shipped))


def test_matplotlib_probe_fails_fast_when_absent():
    if sys.modules.get("matplotlib", ...) is None:  # marked absent: the import Gradio tries raises at once
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            pass
        else:
            raise AssertionError("matplotlib was marked absent but imported")
    else:
        assert sys.modules["matplotlib"].__name__ == "matplotlib"  # installed here: nothing to mark


def test_lazy_session_config_is_applied_on_the_pinned_gradio():
    assert gr.__version__ == gradio_tuning.TUNED_GRADIO, "pyproject pins the Gradio this tuning was checked on"
    assert gradio_tuning.lazy_session_config() is True
    assert SessionState._lazy_config


def test_a_new_session_builds_no_block_config_up_front():
    state = SessionState(app.demo)
    assert state.config_values == {}


def test_components_lists_what_the_eager_config_would_in_the_same_order():
    state = SessionState(app.demo)
    assert list(state.components) == [c for c in eager_config(app.demo) if c]


def test_a_changed_value_shows_in_the_listing():
    state = SessionState(app.demo)
    textbox = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Textbox))
    state._update_value_in_config(textbox._id, "changed in this session")
    listed = {c["id"]: c for c in state.components}
    assert listed[textbox._id]["props"]["value"] == "changed in this session"
    assert len(listed) == len([c for c in eager_config(app.demo) if c])
    # and the other sessions are untouched
    assert SessionState(app.demo).config_values == {}


def test_state_values_still_start_from_their_defaults_per_session():
    state_block = next(b for b in app.demo.blocks.values() if isinstance(b, gr.State))
    first, second = SessionState(app.demo), SessionState(app.demo)
    first[state_block._id] = ["only in the first session"]
    assert second[state_block._id] != ["only in the first session"]


def test_the_same_events_leave_the_same_listing_as_gradios_own():
    """What an event does to a session (inputs stored and their values noted, an output updated with new props,
    a State set), replayed on Gradio's own SessionState and on the lazy one."""
    shipped = shipped_session_state()
    eager, lazy = shipped(app.demo), SessionState(app.demo)
    assert eager.config_values and not lazy.config_values
    textbox = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Textbox))
    slider = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Slider))
    state_block = next(b for b in app.demo.blocks.values() if isinstance(b, gr.State))
    for state in (eager, lazy):
        state[textbox._id] = textbox  # preprocess_data on a new session
        state._update_value_in_config(textbox._id, "typed")
        state[slider._id] = gr.Slider(1, 99, value=7, label="renamed", render=False)  # an update with new props
        state._update_config(slider._id)
        state._update_value_in_config(slider._id, 42)
        state[state_block._id] = ["kept"]
        state._update_value_in_config(textbox._id, "typed again")
    assert list(lazy.components) == list(eager.components)
    listed = {c["id"]: c for c in lazy.components}
    assert listed[textbox._id]["props"]["value"] == "typed again"
    assert listed[slider._id]["props"]["label"] == "renamed" and listed[slider._id]["props"]["value"] == 42
    assert lazy[state_block._id] == ["kept"]


# ── the prompt queue ─────────────────────────────────────────────────────────────────────────


def test_prompt_queue_is_applied_on_the_pinned_gradio():
    from gradio import queueing

    assert gradio_tuning.prompt_queue() is True
    assert isinstance(app.demo._queue.sleep_when_free, gradio_tuning._FreeWait)
    assert queueing.Queue._prompt


def test_a_free_wait_ends_when_woken_or_at_its_backstop():
    async def run():
        wait = gradio_tuning._FreeWait(5.0)
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, wait.wake)
        started = time.monotonic()
        await wait.sleep()
        woken_after = time.monotonic() - started
        wait.wake()  # woken while not asleep: the next sleep returns at once
        started = time.monotonic()
        await wait.sleep()
        pending_after = time.monotonic() - started
        short = gradio_tuning._FreeWait(0.05)
        started = time.monotonic()
        await short.sleep()  # nobody wakes it: the backstop does
        return woken_after, pending_after, time.monotonic() - started

    woken_after, pending_after, backstop_after = asyncio.run(run())
    assert woken_after < 4.0 and pending_after < 4.0 and backstop_after >= 0.04


def test_generators_are_created_in_place_and_other_calls_still_go_to_a_worker_thread():
    ran_in: list[str] = []

    async def tokens():
        ran_in.append(threading.current_thread().name)
        yield 1

    def blocking():
        return threading.current_thread().name

    async def run():
        to_thread = gradio_tuning._ToThread()
        generator = await to_thread.run_sync(tokens)
        assert ran_in == []  # creating it ran none of its code
        assert [item async for item in generator] == [1]
        return threading.current_thread().name, await to_thread.run_sync(blocking)

    loop_thread, worker = asyncio.run(run())
    assert ran_in == [loop_thread] and worker != loop_thread


def test_the_tuned_queue_streams_finishes_and_respects_a_concurrency_limit(tmp_path):
    """A small app on loopback: async and sync generators stream to the end; five calls to an event limited to
    one job at a time all finish, never two at once (each waiting job starts when the one before it ends)."""
    assert gradio_tuning.prompt_queue()
    running, most = [0], [0]

    async def count_async(n):
        for i in range(int(n)):
            await asyncio.sleep(0.01)
            yield str(i)

    def count_sync(n):
        for i in range(int(n)):
            time.sleep(0.01)
            yield str(i)

    async def one_at_a_time(label):
        running[0] += 1
        most[0] = max(most[0], running[0])
        await asyncio.sleep(0.05)
        running[0] -= 1
        return f"done {label}"

    with gr.Blocks() as demo:
        number, text = gr.Number(), gr.Textbox()
        gr.Button().click(count_async, number, text, api_name="count_async")
        gr.Button().click(count_sync, number, text, api_name="count_sync")
        gr.Button().click(one_at_a_time, text, text, api_name="one_at_a_time", concurrency_limit=1)
    demo.queue(max_size=64)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False, download_files=str(tmp_path))
        assert client.predict(5, api_name="/count_async") == "4"
        assert client.predict(5, api_name="/count_sync") == "4"
        jobs = [client.submit(f"job {i}", api_name="/one_at_a_time") for i in range(5)]
        assert sorted(job.result(timeout=30) for job in jobs) == [f"done job {i}" for i in range(5)]
        assert most[0] == 1
        streamed = client.submit(3, api_name="/count_async")
        streamed.result(timeout=30)
        assert streamed.outputs() == ["0", "1", "2"]
    finally:
        demo.close()


# ── the login check in place; lookups remembered ─────────────────────────────────────────────


def _login_check_of(app):
    """Gradio's login_check endpoint function, from the app's (nested) routes."""
    routes = list(app.router.routes)
    while routes:
        route = routes.pop()
        if hasattr(route, "original_router"):
            routes.extend(route.original_router.routes)
        elif getattr(route, "path", "").endswith("/login_check"):
            return route.endpoint
    raise AssertionError("no /login_check route")


def test_a_login_protected_app_still_refuses_calls_without_a_login():
    import httpx
    from fastapi.dependencies import utils as fastapi_utils

    assert gradio_tuning.inline_login_check() is True
    with gr.Blocks() as demo:
        text = gr.Textbox()
        gr.Button().click(lambda value: value.upper(), text, text, api_name="shout")
    demo.queue()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                            auth=("ann", "correct horse"))
    try:
        check = _login_check_of(demo.app)
        assert gradio_tuning._is_login_check(check)  # the function the tuning runs in place
        with httpx.Client(base_url=url, timeout=30) as http:
            refused = http.post("/gradio_api/call/shout", json={"data": ["hi"]})
            assert refused.status_code == 401
            assert http.post("/login", data={"username": "ann", "password": "wrong"}).status_code == 400
            assert http.post("/login", data={"username": "ann", "password": "correct horse"}).status_code == 200
            event_id = http.post("/gradio_api/call/shout", json={"data": ["hi"]}).json()["event_id"]
            assert '"HI"' in http.get(f"/gradio_api/call/shout/{event_id}").text
    finally:
        demo.close()

    async def thread_names():
        loop_thread = threading.current_thread().name
        other = await fastapi_utils.run_in_threadpool(lambda: threading.current_thread().name)
        return loop_thread, other

    loop_thread, other = asyncio.run(thread_names())
    assert other != loop_thread  # every other sync dependency still runs in a worker thread


def test_type_hints_and_the_request_origin_are_remembered_and_unchanged():
    import typing

    from gradio import route_utils, utils
    from starlette.requests import Request

    assert gradio_tuning.remember_call_lookups() is True

    def typed(message: str, request: gr.Request) -> str:
        return message

    assert utils.get_type_hints(typed) == typing.get_type_hints(typed)
    assert utils.get_type_hints(typed) is utils.get_type_hints(typed)

    def request(host: str, forwarded_host: str | None = None) -> Request:
        headers = [(b"host", host.encode())]
        if forwarded_host:
            headers.append((b"x-forwarded-host", forwarded_host.encode()))
        return Request({"type": "http", "method": "POST", "scheme": "http", "server": (host, 80), "root_path": "",
                        "path": "/gradio_api/call/chat", "query_string": b"", "headers": headers})

    path = "/gradio_api/call/chat"
    first = route_utils.get_request_origin(request("example.org"), path)
    assert str(first) == "http://example.org"
    assert route_utils.get_request_origin(request("example.org"), path) is first
    behind_proxy = route_utils.get_request_origin(request("example.org", "space.example"), path)
    assert str(behind_proxy) == "http://space.example"
    assert route_utils.get_root_url(request("example.org", "space.example"), path, None) == "http://space.example"

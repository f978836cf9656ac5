"""Measured costs of Gradio 6.31 that this app removes (bench/README.md has the numbers, before and after).

1. Every streamed update runs `import matplotlib` twice (`utils.MatplotlibBackendMananger`); when matplotlib is
   not installed, each failed import searches sys.path again: ~20% of the CPU of a busy stream.
   `mark_matplotlib_absent()` records the absence once, so the import fails at once with the ImportError
   Gradio expects.
2. Every new session (each browser tab, and each raw `POST /gradio_api/call/<api>` or MCP call without a session)
   builds `SessionState`, which renders the config of *every* block of the page up front
   (`state_holder.SessionState.__init__`): ~12 ms for this app's ~140 blocks, before the request can start;
   and each event rebuilds the config of the blocks it touches (another ~1.4 ms for /chat's five inputs).
   Gradio reads those configs only to list them all for a deep link (`SessionState.components`).
   `lazy_session_config()` builds each entry when it is listed instead — from the block, and with the last
   value, that Gradio would have used — so the listing is the same and nothing is paid until it is asked for.
3. The queue's dispatch loop polls: with nothing to start it sleeps 1 ms and looks again, so a job waits
   ~1 ms on average before it starts (and an idle app wakes 1,000 times a second). `prompt_queue()` wakes the loop
   when a job is pushed or one finishes (the only moments it can have something new to start), and keeps a 10 ms
   poll as a backstop.
4. Starting a streamed event hops to a worker thread just to *create* the generator (`Blocks.call_function`
   runs anything that is not a coroutine function through `anyio.to_thread.run_sync`): ~1.7 ms before the first
   line of the function runs. Creating a generator runs none of its code, so `prompt_queue()` creates generators
   in place; every other call still goes to the worker thread as before.
5. Every API request (each POST and SSE GET of a call, each upload) runs Gradio's `login_check` dependency, a
   plain function, so FastAPI sends it to a worker thread (~0.3 ms, and a thread per request under load).
   It only compares values already at hand, so `inline_login_check()` has FastAPI run it in place.
6. Each call also re-derives two things that do not change between calls: the type hints of the event's
   function (`typing.get_type_hints`, for Gradio's special arguments: ~0.4 ms) and the app's root URL from the
   request's URL and forwarding headers (two `httpx.URL` parses: ~0.4 ms). `remember_call_lookups()` keeps
   both (bounded caches keyed by everything each one reads).

1 is applied by app.py before gradio is imported, 2–6 by `tune()` before the Blocks are built. 2–6 touch Gradio
internals, so they apply to the pinned version only (pyproject.toml); on any other version they do nothing and
Gradio behaves as shipped.
tests/test_gradio_tuning.py checks that the lazy state lists exactly what Gradio's own would, that the queue
still starts, streams and finishes jobs (one at a time and many at once, with a concurrency limit) when tuned, and
that a login-protected app still refuses calls without a login.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import inspect
import os
import threading
from copy import copy

import anyio.to_thread

from .absent_modules import mark_absent

TUNED_GRADIO = "6.31.0"


def _on_pinned_gradio() -> bool:
    import gradio

    return gradio.__version__ == TUNED_GRADIO


def mark_matplotlib_absent() -> None:
    mark_absent("matplotlib")


def lazy_session_config() -> bool:
    """Make new Gradio sessions cheap; returns whether it applied (only on the pinned Gradio)."""
    from gradio import state_holder

    session_state = state_holder.SessionState
    if not _on_pinned_gradio():
        return False
    if getattr(session_state, "_lazy_config", False):
        return True
    from gradio.components import State

    patched = ("__init__", "__setitem__", "_update_config", "_update_value_in_config", "components")
    session_state.shipped = {name: session_state.__dict__[name] for name in patched}  # kept for the tests
    shipped_components = session_state.components.fget

    def __init__(self, blocks) -> None:
        # As Gradio 6.31's SessionState.__init__, except that config_values starts empty.
        self.blocks_config = copy(blocks.default_config)
        self._config_order = [k for k in self.blocks_config.blocks if k in blocks.blocks]
        self._config_sources = {}  # key → the block a stale entry is to be rebuilt from (as Gradio would have)
        self._pending_values = {}  # key → a value for an entry not built yet
        self.config_values = {}
        self.state_data = {}
        self._state_ttl = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    def rebuild_later(self, key: int, block) -> None:
        self.config_values.pop(key, None)
        self._pending_values.pop(key, None)
        self._config_sources[key] = block

    def __setitem__(self, key: int, value) -> None:
        # As Gradio's, except that the entry is rebuilt (from the block Gradio would use) only when listed.
        block = self.blocks_config.blocks.get(key)
        if isinstance(block, State):
            self._state_ttl[key] = (block.time_to_live, datetime.datetime.now())
            self.state_data[key] = value
        else:
            self.blocks_config.blocks[key] = value
        if block:
            rebuild_later(self, key, block)

    def _update_config(self, key: int) -> None:
        if self[key] is not None:
            rebuild_later(self, key, self[key])

    def _update_value_in_config(self, key: int, value) -> None:
        if key not in self.config_values:
            self._pending_values[key] = value  # applied when the entry is built
        elif "props" in self.config_values[key]:
            self.config_values[key]["props"]["value"] = value

    def build(self, key: int) -> dict:
        source = self._config_sources.pop(key, None)
        config = self.blocks_config.config_for_block(key, [], source if source is not None else
                                                     self.blocks_config.blocks[key])
        if key in self._pending_values and "props" in config:
            config["props"]["value"] = self._pending_values.pop(key)
        return config

    def components(self):
        blocks = self.blocks_config.blocks
        built = self.config_values
        ordered = {}
        for key in [*self._config_order, *(k for k in self._config_sources if k not in self._config_order)]:
            if key in built:
                ordered[key] = built[key]
            elif key in blocks or key in self._config_sources:
                ordered[key] = build(self, key)
        ordered.update((key, value) for key, value in built.items() if key not in ordered)
        self.config_values = ordered
        return shipped_components(self)

    session_state.__init__ = __init__
    session_state.__setitem__ = __setitem__
    session_state._update_config = _update_config
    session_state._update_value_in_config = _update_value_in_config
    session_state.components = property(components)
    session_state._lazy_config = True
    return True


# ── 3 and 4: the queue starts a job as soon as it can ───────────────────────────────────────────


class _FreeWait(float):
    """The queue's `sleep_when_free`, made wakeable: its loop sleeps this long at most, or until `wake()`."""

    def __new__(cls, seconds: float):
        wait = super().__new__(cls, seconds)
        wait.waiter, wait.pending = None, False
        return wait

    async def sleep(self) -> None:
        if self.pending:  # woken while it was busy: look again at once
            self.pending = False
            return
        loop = asyncio.get_running_loop()
        self.waiter = waiter = loop.create_future()
        backstop = loop.call_later(float(self), lambda: waiter.done() or waiter.set_result(None))
        try:
            await waiter
        finally:
            backstop.cancel()
            self.waiter = None

    def wake(self) -> None:  # called on the queue's own event loop (from Queue.push / process_events)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)
        else:
            self.pending = True


class _QueueAsyncio:
    """`asyncio` as gradio.queueing sees it: the same module, except that a sleep for a `_FreeWait` is wakeable."""

    def __getattr__(self, name: str):
        return getattr(asyncio, name)

    @staticmethod
    async def sleep(delay: float, result=None):
        if isinstance(delay, _FreeWait):
            await delay.sleep()
            return result
        return await asyncio.sleep(delay, result)


class _ToThread:
    """`anyio.to_thread` as gradio.blocks sees it: a generator function is called in place (that only creates the
    generator; its code runs later, when Gradio iterates it, on the thread Gradio chooses as before)."""

    def __getattr__(self, name: str):
        return getattr(anyio.to_thread, name)

    @staticmethod
    async def run_sync(fn, *args, **kwargs):
        if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
            return fn(*args)
        return await anyio.to_thread.run_sync(fn, *args, **kwargs)


class _BlocksAnyio:
    """`anyio` as gradio.blocks sees it: the same module, with `_ToThread` as its `to_thread`."""

    to_thread = _ToThread()

    def __getattr__(self, name: str):
        return getattr(anyio, name)


QUEUE_BACKSTOP_S = 0.01


def prompt_queue() -> bool:
    """Start queued jobs without polling delay or a thread hop; returns whether it applied (pinned Gradio only)."""
    from gradio import blocks, queueing

    if not _on_pinned_gradio():
        return False
    queue = queueing.Queue
    if getattr(queue, "_prompt", False):
        return True
    shipped_init, shipped_push, shipped_process_events = queue.__init__, queue.push, queue.process_events

    def __init__(self, *args, **kwargs) -> None:
        shipped_init(self, *args, **kwargs)
        self.sleep_when_free = _FreeWait(QUEUE_BACKSTOP_S)

    def wake(self) -> None:
        if isinstance(self.sleep_when_free, _FreeWait):
            self.sleep_when_free.wake()

    async def push(self, *args, **kwargs):
        try:
            return await shipped_push(self, *args, **kwargs)
        finally:
            wake(self)

    async def process_events(self, *args, **kwargs) -> None:
        try:
            return await shipped_process_events(self, *args, **kwargs)
        finally:
            wake(self)  # its place in active_jobs is free again

    queue.__init__, queue.push, queue.process_events = __init__, push, process_events
    queueing.asyncio = _QueueAsyncio()
    blocks.anyio = _BlocksAnyio()
    queue._prompt = True
    return True


# ── 5: the login check runs in place ─────────────────────────────────────────────────────────


def _is_login_check(func) -> bool:
    return getattr(func, "__module__", None) == "gradio.routes" and \
        getattr(func, "__qualname__", "").endswith(".<locals>.login_check")


def inline_login_check() -> bool:
    """Have FastAPI run Gradio's `login_check` dependency in place; returns whether it applied."""
    from fastapi.dependencies import utils

    shipped = getattr(utils, "run_in_threadpool", None)
    if not _on_pinned_gradio() or shipped is None:
        return False
    if getattr(shipped, "_inline_login_check", False):
        return True

    async def run_in_threadpool(func, *args, **kwargs):
        if _is_login_check(func):
            return func(*args, **kwargs)
        return await shipped(func, *args, **kwargs)

    run_in_threadpool._inline_login_check = True
    utils.run_in_threadpool = run_in_threadpool
    return True


# ── 6: what does not change between calls is derived once ───────────────────────────────────

ORIGIN_HEADERS = ("x-forwarded-host", "x-gradio-server", "x-forwarded-proto")  # what get_request_origin reads


def remember_call_lookups() -> bool:
    """Cache the function type hints and the request origin Gradio derives per call; whether it applied."""
    from gradio import route_utils, utils

    if not _on_pinned_gradio():
        return False
    if getattr(utils.get_type_hints, "_remembered", False):
        return True
    shipped_hints, shipped_origin = utils.get_type_hints, route_utils.get_request_origin
    hints_for = functools.lru_cache(maxsize=1024)(shipped_hints)  # keyed by the function: its hints are fixed
    origins: dict[tuple, object] = {}  # (URL, route path, the headers it reads) → an immutable httpx.URL
    evicting = threading.Lock()

    def get_type_hints(fn):
        try:
            return hints_for(fn)
        except TypeError:  # an unhashable callable
            return shipped_hints(fn)

    def get_request_origin(request, route_path: str):
        key = (str(request.url), route_path, *(request.headers.get(name) for name in ORIGIN_HEADERS))
        origin = origins.get(key)
        if origin is None:
            origin = shipped_origin(request, route_path)
            with evicting:  # also called from worker threads (Gradio's sync routes)
                origins[key] = origin
                while len(origins) > 256:  # bounded: hosts and paths are the caller's to choose
                    origins.pop(next(iter(origins)))
        return origin

    get_type_hints._remembered = True
    utils.get_type_hints = get_type_hints
    route_utils.get_request_origin = get_request_origin
    return True


def tune() -> bool:
    """Apply 2–6 (1 is applied before gradio is imported); returns whether they applied (pinned Gradio only)."""
    return all([lazy_session_config(), prompt_queue(), inline_login_check(), remember_call_lookups()])

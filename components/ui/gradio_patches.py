"""Every patch this app makes to Gradio (and the libraries under it), in one list, applied by app.py only.

Each patch says what it replaces and what it saved when last measured (bench/bench_patches.py runs the app with
all of them off, each one alone, and all on; bench/README.md, "Gradio patches", has the table and the decisions).

`apply()` is the one entry point: app.py calls it once, before the Blocks are built. It applies nothing when
`SHOWCASE_GRADIO_PATCHES=0` (components/core/settings.py), and nothing on a Gradio other than the pinned one
(`PINNED_GRADIO`, as pyproject.toml pins it): the patches replace Gradio internals checked on that version only,
so elsewhere Gradio runs as shipped and the app logs one line saying so. Nothing else in components/ imports this
module (tests/test_gradio_patches.py checks it); the tests and the benchmarks may.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import importlib
import importlib.util
import inspect
import logging
import os
import sys
import threading
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass

import anyio.to_thread

from components.core import settings

PINNED_GRADIO = "6.31.0"  # pyproject.toml: gradio[mcp]==6.31.0

log = logging.getLogger("showcase")


@dataclass(frozen=True)
class Patch:
    name: str
    replaces: tuple[str, ...]  # "module:attribute.path", or "sys.modules:name" for a module recorded as absent
    saves: str  # as last measured (bench/README.md, "Gradio patches")
    apply: Callable[[], None]  # idempotent

    def active(self) -> bool:
        """Whether every attribute this patch replaces is its replacement now (in this process)."""
        return all(replaced(target) for target in self.replaces)


def replaced(target: str) -> bool:
    """Whether `target` ("module:attribute.path" or "sys.modules:name") holds this module's replacement."""
    module_name, _, path = target.partition(":")
    if module_name == "sys.modules":
        return path in sys.modules and sys.modules[path] is None
    value = importlib.import_module(module_name)
    for part in path.split("."):
        value = inspect.getattr_static(value, part) if isinstance(value, type) else getattr(value, part)
    if isinstance(value, property):
        value = value.fget
    return (getattr(value, "__module__", None) == __name__) or type(value).__module__ == __name__


# ── modules recorded as absent ───────────────────────────────────────────────────────────────


def mark_absent(*names: str) -> None:
    """Some libraries probe for an optional module with `import x` inside a function that runs on every request;
    when the module is not installed, each failed import searches the whole sys.path again (~80 µs here).
    `sys.modules[name] = None` makes that import fail at once with the ImportError (`ModuleNotFoundError`) those
    libraries expect. A module that is installed (or already imported) is left alone."""
    for name in names:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None


def absent_matplotlib() -> None:
    mark_absent("matplotlib")


def absent_sniffio() -> None:
    mark_absent("sniffio")


# ── a new session's page config, built when it is listed ─────────────────────────────────────


def lazy_session_config() -> None:
    from gradio import state_holder
    from gradio.components import State

    session_state = state_holder.SessionState
    if getattr(session_state, "_lazy_config", False):
        return
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


# ── the queue wakes when a job is pushed or finishes ─────────────────────────────────────────


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


QUEUE_BACKSTOP_S = 0.01


def wakeable_queue() -> None:
    from gradio import queueing

    queue = queueing.Queue
    if getattr(queue, "_wakeable", False):
        return
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
    queue._wakeable = True


# ── a streamed event's generator created in place ────────────────────────────────────────────


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


def generators_in_place() -> None:
    from gradio import blocks

    if not isinstance(blocks.anyio, _BlocksAnyio):
        blocks.anyio = _BlocksAnyio()


# ── the login check run in place ─────────────────────────────────────────────────────────────


def _is_login_check(func) -> bool:
    return getattr(func, "__module__", None) == "gradio.routes" and \
        getattr(func, "__qualname__", "").endswith(".<locals>.login_check")


def inline_login_check() -> None:
    from fastapi.dependencies import utils

    shipped = utils.run_in_threadpool
    if getattr(shipped, "_inline_login_check", False):
        return

    async def run_in_threadpool(func, *args, **kwargs):
        if _is_login_check(func):
            return func(*args, **kwargs)
        return await shipped(func, *args, **kwargs)

    run_in_threadpool._inline_login_check = True
    utils.run_in_threadpool = run_in_threadpool


# ── what does not change between calls, derived once ─────────────────────────────────────────


def cached_type_hints() -> None:
    from gradio import utils

    if getattr(utils.get_type_hints, "_remembered", False):
        return
    shipped = utils.get_type_hints
    hints_for = functools.lru_cache(maxsize=1024)(shipped)  # keyed by the function: its hints are fixed

    def get_type_hints(fn):
        try:
            return hints_for(fn)
        except TypeError:  # an unhashable callable
            return shipped(fn)

    get_type_hints._remembered = True
    utils.get_type_hints = get_type_hints


ORIGIN_HEADERS = ("x-forwarded-host", "x-gradio-server", "x-forwarded-proto")  # what get_request_origin reads


def cached_request_origin() -> None:
    from gradio import route_utils

    if getattr(route_utils.get_request_origin, "_remembered", False):
        return
    shipped = route_utils.get_request_origin
    origins: dict[tuple, object] = {}  # (URL, route path, the headers it reads) → an immutable httpx.URL
    evicting = threading.Lock()

    def get_request_origin(request, route_path: str):
        key = (str(request.url), route_path, *(request.headers.get(name) for name in ORIGIN_HEADERS))
        origin = origins.get(key)
        if origin is None:
            origin = shipped(request, route_path)
            with evicting:  # also called from worker threads (Gradio's sync routes)
                origins[key] = origin
                while len(origins) > 256:  # bounded: hosts and paths are the caller's to choose
                    origins.pop(next(iter(origins)))
        return origin

    get_request_origin._remembered = True
    route_utils.get_request_origin = get_request_origin


# ── the list ─────────────────────────────────────────────────────────────────────────────────

PATCHES: tuple[Patch, ...] = (
    Patch("absent_matplotlib", ("sys.modules:matplotlib",),
          "Gradio's `utils.MatplotlibBackendMananger` runs `import matplotlib` twice per streamed update; not "
          "installed, each failed import searches sys.path again", absent_matplotlib),
    Patch("absent_sniffio", ("sys.modules:sniffio",),
          "httpcore's `current_async_library` runs `import sniffio` ~7 times per upstream request (anyio 4 no "
          "longer needs sniffio, so it is not installed)", absent_sniffio),
    Patch("lazy_session_config", tuple(f"gradio.state_holder:SessionState.{name}" for name in (
              "__init__", "__setitem__", "_update_config", "_update_value_in_config", "components")),
          "each new session (a browser tab, a raw `POST /gradio_api/call/<api>` or MCP call) rendered the config "
          "of every block of the page up front (~12 ms for ~140 blocks); built when Gradio lists them instead",
          lazy_session_config),
    Patch("wakeable_queue", ("gradio.queueing:Queue.__init__", "gradio.queueing:Queue.push",
                             "gradio.queueing:Queue.process_events", "gradio.queueing:asyncio"),
          "the queue's dispatch loop polls every 1 ms (a job waits ~1 ms to start; an idle app wakes 1,000 "
          "times a second); woken when a job is pushed or finishes, 10 ms poll as a backstop", wakeable_queue),
    Patch("generators_in_place", ("gradio.blocks:anyio",),
          "`Blocks.call_function` hops to a worker thread just to create a streamed event's generator",
          generators_in_place),
    Patch("inline_login_check", ("fastapi.dependencies.utils:run_in_threadpool",),
          "FastAPI runs Gradio's `login_check` dependency in a worker thread on every API request",
          inline_login_check),
    Patch("cached_type_hints", ("gradio.utils:get_type_hints",),
          "`typing.get_type_hints` of the event's function on every call", cached_type_hints),
    Patch("cached_request_origin", ("gradio.route_utils:get_request_origin",),
          "the root URL re-derived from the request's URL and headers (two `httpx.URL` parses) on every call",
          cached_request_origin),
)

BY_NAME = {patch.name: patch for patch in PATCHES}


def apply() -> tuple[str, ...]:
    """Apply every patch, once per process; returns the names applied (none when switched off or on a Gradio
    other than PINNED_GRADIO). Logs one line saying which (a warning when the Gradio is not the pinned one)."""
    if not settings.gradio_patches_enabled():
        log.info("Gradio patches off (SHOWCASE_GRADIO_PATCHES=%s): Gradio runs as shipped",
                 settings.read("SHOWCASE_GRADIO_PATCHES"))
        return ()
    import gradio

    if gradio.__version__ != PINNED_GRADIO:
        log.warning("Gradio %s is not the pinned %s: its patches stay off (components/ui/gradio_patches.py)",
                    gradio.__version__, PINNED_GRADIO)
        return ()
    for patch in PATCHES:
        patch.apply()
    names = tuple(patch.name for patch in PATCHES)
    log.info("Gradio %s patched: %s", PINNED_GRADIO, ", ".join(names))
    return names

"""Every patch this app makes to Gradio (and to the libraries under it), in one list, applied by app.py only.

`PATCHES` names each one, what it replaces and what it saves as last measured (bench/bench_patches.py: the app
with all of them off, each one alone and all on, each in a process of its own; bench/README.md, "Gradio patches",
has the tables and the decisions). Three are left:

- `lazy_session_config`: a new Gradio session (a browser tab, a raw `POST /gradio_api/call/<api>`, an MCP call)
  rendered the config of every block of the page up front (~8 ms for this app's ~150 blocks) before its request
  could start; the patch builds each entry when Gradio lists them (only for a deep link), from the block and with
  the value Gradio would have used. It carries a copy of Gradio 6.31's `SessionState.__init__`.
- `absent_matplotlib`, `absent_sniffio`: a module that is not installed, probed on every streamed update (Gradio)
  or every upstream request (httpcore), is recorded as absent once, so each probe fails at once.

Five more were measured and dropped (a wakeable queue loop, generators created in place, FastAPI's
`run_in_threadpool` replaced to run Gradio's `login_check` in place, cached type hints, cached request origins):
together 1–2 ms per call and 3% of a core when idle, not worth replacing Gradio's and FastAPI's module globals.

`apply()` is the one entry point: app.py calls it once, before the Blocks are built. It applies nothing when
`SHOWCASE_GRADIO_PATCHES=0` (components/core/settings.py), and nothing on a Gradio other than the pinned one
(`PINNED_GRADIO`, as pyproject.toml pins it): the patches replace Gradio internals checked on that version only,
so elsewhere Gradio runs as shipped and the app logs one warning saying so. Nothing else in components/ imports
this module (tests/test_gradio_patches.py checks it); the tests and the benchmarks may.
"""

from __future__ import annotations

import datetime
import importlib
import importlib.util
import inspect
import logging
import os
import sys
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass

from ..core import settings

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
    when the module is not installed, each failed import searches the whole sys.path again (~45 µs here).
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


# ── the list ─────────────────────────────────────────────────────────────────────────────────

PATCHES: tuple[Patch, ...] = (
    Patch("lazy_session_config", tuple(f"gradio.state_holder:SessionState.{name}" for name in (
              "__init__", "__setitem__", "_update_config", "_update_value_in_config", "components")),
          "a new session's `SessionState` 7.8 ms → 0.02 ms; time to first token in a new session -11 to -14 ms",
          lazy_session_config),
    Patch("absent_matplotlib", ("sys.modules:matplotlib",),
          "`import matplotlib` twice per streamed update, 43 µs → 1.3 µs each: 0.34 ms per 16-token call; "
          "app CPU per streamed token 0.84–0.98×", absent_matplotlib),
    Patch("absent_sniffio", ("sys.modules:sniffio",),
          "`import sniffio` 7 times per upstream request (httpcore's `current_async_library`), 43 µs → 1.3 µs "
          "each: 0.29 ms per call", absent_sniffio),
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

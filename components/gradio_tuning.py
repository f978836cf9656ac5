"""Two measured costs of Gradio 6.31 that this app removes (bench/README.md has the numbers).

1. Every streamed update runs `import matplotlib` twice (`utils.MatplotlibBackendMananger`); when matplotlib is
   not installed, each failed import searches sys.path again: ~20% of the CPU of a busy stream.
   `mark_matplotlib_absent()` records the absence once, so the import fails at once with the ImportError
   Gradio expects.
2. Every new session (each browser tab, and each raw `POST /gradio_api/call/<api>` or MCP call without a session)
   builds `SessionState`, which renders the config of *every* block of the page up front
   (`state_holder.SessionState.__init__`): ~12 ms for this app's ~125 blocks, before the request can start.
   Gradio only reads a block's session config once that block changes (`_update_value_in_config` already
   computes a missing entry) or when all of them are listed for a deep link (`SessionState.components`).
   `lazy_session_config()` makes the up-front copy lazy: an entry is built when first needed, and `components`
   builds the missing ones, in the page's order, before listing them — the same result, paid only when used.

Both are applied by app.py before the Blocks are built. The second touches a Gradio internal, so it applies to
the pinned version only (pyproject.toml); on any other version it does nothing and Gradio behaves as shipped.
tests/test_gradio_tuning.py checks that the lazy state lists exactly what Gradio's own would.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from copy import copy

TUNED_GRADIO = "6.31.0"


def mark_matplotlib_absent() -> None:
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # `import matplotlib` now raises ImportError without a search


def lazy_session_config() -> bool:
    """Make new Gradio sessions cheap; returns whether it applied (only on the pinned Gradio)."""
    import gradio
    from gradio import state_holder

    session_state = state_holder.SessionState
    if gradio.__version__ != TUNED_GRADIO:
        return False
    if getattr(session_state, "_lazy_config", False):
        return True
    shipped_components = session_state.components.fget

    def __init__(self, blocks) -> None:
        # As Gradio 6.31's SessionState.__init__, except that config_values starts empty.
        self.blocks_config = copy(blocks.default_config)
        self._config_order = [k for k in self.blocks_config.blocks if k in blocks.blocks]
        self.config_values = {}
        self.state_data = {}
        self._state_ttl = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    def components(self):
        blocks = self.blocks_config.blocks
        built = self.config_values
        ordered = {}
        for key in self._config_order:
            if key in built:
                ordered[key] = built[key]
            elif key in blocks:
                ordered[key] = self.blocks_config.config_for_block(key, [], blocks[key])
        ordered.update((key, value) for key, value in built.items() if key not in ordered)
        self.config_values = ordered
        return shipped_components(self)

    session_state.__init__ = __init__
    session_state.components = property(components)
    session_state._lazy_config = True
    return True

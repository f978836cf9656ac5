"""Every environment variable the app reads, in one place, with what it means.

The clients keep their own `from_env(env)` (components/workers_ai, components/local, components/anthropic.py are
usable alone); everything above them reads the environment through this module, and this list is the only full
one: the README's settings table, the test suite's clean environment and the checks in tests/test_settings.py
are made from it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str
    default: str = ""  # how the default reads in the README ("" = none)
    secret: bool = False  # never logged, shown or returned


VARIABLES: tuple[Variable, ...] = (
    Variable("SHOWCASE_GRADIO_PATCHES", "`0` turns off every patch of Gradio's internals (components/ui/gradio_patches.py); "
             "on a Gradio other than the pinned one they are off whatever this says", "1"),
)

BY_NAME = {variable.name: variable for variable in VARIABLES}


def environment(env: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """The mapping settings are read from: `env` when given (tests), else the process environment at this moment."""
    return os.environ if env is None else env


def read(name: str, env: Mapping[str, str] | None = None) -> str:
    """The variable's value, stripped ("" when unset). Only the names listed in VARIABLES may be read."""
    if name not in BY_NAME:
        raise KeyError(f"{name} is not a setting of this app: add it to components/core/settings.py")
    return (environment(env).get(name) or "").strip()


def gradio_patches_enabled(env: Mapping[str, str] | None = None) -> bool:
    """SHOWCASE_GRADIO_PATCHES: on unless set to 0, false, no or off."""
    return read("SHOWCASE_GRADIO_PATCHES", env).lower() not in ("0", "false", "no", "off")

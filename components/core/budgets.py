"""The neuron budgets a public Space sets (DEMO_NEURON_BUDGET_PER_VISITOR, DEMO_NEURON_BUDGET_TOTAL), read once from
the environment; the ledger (components/core/usage.py) holds calls to them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from . import settings


@dataclass(frozen=True)
class Budgets:
    """Neurons per UTC day; None means no limit."""

    per_visitor: float | None = None
    total: float | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Budgets:
        return cls(_neurons(env, "DEMO_NEURON_BUDGET_PER_VISITOR"), _neurons(env, "DEMO_NEURON_BUDGET_TOTAL"))

    @property
    def active(self) -> bool:
        return self.per_visitor is not None or self.total is not None


def _neurons(env: Mapping[str, str] | None, name: str) -> float | None:
    """A budget from the environment. A typo must not silently leave a public Space unbounded: it stops the app."""
    given = settings.raw(name, env)
    raw = (given or "").strip().replace(",", "").replace("_", "")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a number of neurons per UTC day, such as 5000; it is {given!r}.")
    return value

"""Neurons spent today, by whom and on what, and the budgets that bound them.

A public Space runs on its owner's account, so every call is metered here *before* its request leaves the app:

    with metered(request, "classify", VISION, estimate(model, images=1)) as meter:
        result = await shared_client().run_bytes(model, data)
        meter.record()  # the request ran: charge its estimate

- `metered` reserves an upper bound of the call's cost (for chat: the prompt plus `max_tokens` of output) and
  raises `BudgetExceeded` when that would not fit in what is left of a budget, so a refused call sends nothing.
  On the way out the reservation is settled to what the call cost, or released when it failed before running.
- `Ledger` holds one UTC day: settled neurons in total, per visitor, per (task, model) and per session, and what
  calls in flight have reserved. One threading.Lock makes each check-and-reserve atomic, for the event loop's
  coroutines and worker threads alike: however many calls race for the last neurons, their reserved upper bounds
  never add up to more than the budget. Only a call that costs more than its bound (a prompt with more tokens
  than the ~4-characters rule counts) can overshoot, by that difference: less than one call.
- Budgets come from DEMO_NEURON_BUDGET_PER_VISITOR and DEMO_NEURON_BUDGET_TOTAL, in neurons per UTC day, off by
  default. They bound the Workers AI backend only: offline calls cost nothing and are metered to show what they
  *would* cost. With a budget set, a model without a known price is refused, since its cost cannot be bounded.
- A visitor is the client's address (the first of X-Forwarded-For behind a proxy, else the connection's peer),
  else the Gradio session, so a page reload keeps the count; only a hash of it is kept. X-Forwarded-For can be
  forged where no proxy rewrites it: the per-visitor budget is a courtesy, the total budget is the hard limit.
- With DEMO_STATE_DIR set, the day's totals go to `usage-<backend>-<YYYY-MM-DD>.json` there after every call
  (a temp file, then os.replace: never half a file) and are read back at start-up, so a restart keeps the day's
  count. Sessions and reservations stay in memory; no address, token or text is ever written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .backend import shared_client
from .ui import InputProblem
from .workers_ai import CHAT, Estimate, capture, format_neurons, until_utc_midnight

log = logging.getLogger("showcase")

LOCAL_KEY = "local"  # calls made from Python inside this process (tests, scripts): no request, no visitor
# Every API call without a client session is a session of its own: per-session figures keep the most recent ones.
MAX_SESSIONS = 10_000


class BudgetExceeded(InputProblem):
    """A call refused before any request because a budget cannot cover it; the message says when it resets."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Budgets:
    """Neurons per UTC day; None means no limit."""

    per_visitor: float | None = None
    total: float | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Budgets:
        env = os.environ if env is None else env
        return cls(_neurons(env, "DEMO_NEURON_BUDGET_PER_VISITOR"), _neurons(env, "DEMO_NEURON_BUDGET_TOTAL"))

    @property
    def active(self) -> bool:
        return self.per_visitor is not None or self.total is not None


def _neurons(env: Mapping[str, str], name: str) -> float | None:
    """A budget from the environment. A typo must not silently leave a public Space unbounded: it stops the app."""
    raw = (env.get(name) or "").strip().replace(",", "").replace("_", "")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a number of neurons per UTC day, such as 5000; it is {env[name]!r}.")
    return value


# ── who is calling ──────────────────────────────────────────────────────────────────────────


def visitor_key(request) -> str:
    """A visitor, the way Gradio exposes one: the client address (first X-Forwarded-For entry behind a proxy,
    else the connection's peer), else the session. Hashed: the ledger and its files never hold an address."""
    if request is None:
        return LOCAL_KEY
    headers = {str(k).lower(): v for k, v in dict(getattr(request, "headers", None) or {}).items()}
    address = str(headers.get("x-forwarded-for") or "").split(",")[0].strip()
    if not address:
        address = getattr(getattr(request, "client", None), "host", None) or ""
    identity = f"address:{address}" if address else f"session:{session_key(request)}"
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def session_key(request) -> str:
    """The page session (a new one per page load), for "this session" figures."""
    return (getattr(request, "session_hash", None) or LOCAL_KEY) if request is not None else LOCAL_KEY


# ── the ledger ──────────────────────────────────────────────────────────────────────────────

ByModel = dict[tuple[str, str], float]  # (task, model) → neurons


@dataclass(frozen=True)
class Reservation:
    """An upper bound held for a call in flight, until it settles."""

    day: str
    visitor: str
    session: str
    action: str
    task: str
    neurons: float


@dataclass
class Day:
    """One UTC day. `total`, `calls`, `visitors` and `models` are persisted; the rest lives in memory."""

    day: str
    total: float = 0.0
    calls: int = 0
    visitors: dict[str, float] = field(default_factory=dict)
    models: ByModel = field(default_factory=dict)
    sessions: OrderedDict[str, ByModel] = field(default_factory=OrderedDict)  # the MAX_SESSIONS most recent
    last: OrderedDict[tuple[str, str], Estimate | None] = field(default_factory=OrderedDict)  # (session, action)
    reserved: float = 0.0
    reserved_by_visitor: dict[str, float] = field(default_factory=dict)

    def to_json(self, backend: str) -> dict:
        models = [{"task": task, "model": model, "neurons": n} for (task, model), n in sorted(self.models.items())]
        return {"day": self.day, "backend": backend, "total": self.total, "calls": self.calls,
                "visitors": self.visitors, "models": models}

    @classmethod
    def from_json(cls, day: str, data: dict) -> Day:
        if data.get("day") != day:
            raise ValueError(f"the file is for {data.get('day')!r}")
        return cls(
            day,
            total=float(data["total"]),
            calls=int(data["calls"]),
            visitors={str(k): float(v) for k, v in data["visitors"].items()},
            models={(str(m["task"]), str(m["model"])): float(m["neurons"]) for m in data["models"]},
        )


@dataclass(frozen=True)
class Snapshot:
    """The day's figures as one consistent reading, for the header meter and the Cost tab."""

    day: str
    total: float
    calls: int
    visitor: float
    today: ByModel
    session: ByModel


class Ledger:
    """One UTC day of metered calls for one backend, with its budgets. Thread- and task-safe.

    `now` is the clock (an aware datetime, UTC); tests move it to cross midnight.
    """

    def __init__(
        self,
        backend: str = "cloudflare",
        budgets: Budgets = Budgets(),
        state_dir: str | Path | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.backend = backend
        self.budgets = budgets
        self.state_dir = Path(state_dir) if state_dir else None
        self._now = now
        self._lock = threading.Lock()
        self._day = self._load(self._today())

    @classmethod
    def from_env(cls, backend: str, env: Mapping[str, str] | None = None) -> Ledger:
        """Budgets bound Workers AI only: the offline engine's calls cost nothing."""
        env = os.environ if env is None else env
        budgets = Budgets() if backend == "local" else Budgets.from_env(env)
        return cls(backend, budgets, env.get("DEMO_STATE_DIR") or None)

    # ── metering ────────────────────────────────────────────────────────────────────────────

    def reserve(self, visitor: str, session: str, action: str, task: str, upper: Estimate) -> Reservation:
        """Hold `upper` for a call about to be made, or raise BudgetExceeded (nothing is held then)."""
        with self._lock:
            day = self._current()
            self._check(day, visitor, task, upper)
            neurons = upper.neurons or 0.0
            day.reserved += neurons
            day.reserved_by_visitor[visitor] = day.reserved_by_visitor.get(visitor, 0.0) + neurons
            _remember(day.last, (session, action), None)
            return Reservation(day.day, visitor, session, action, task, neurons)

    def settle(self, reservation: Reservation, actual: Estimate | None) -> None:
        """Release the reservation and charge what the call cost: nothing when it never ran (`actual` None).
        A call that settles after midnight is charged to the new day, whose count it then belongs to."""
        with self._lock:
            day = self._current()
            if reservation.day == day.day:
                day.reserved = max(0.0, day.reserved - reservation.neurons)
                held = day.reserved_by_visitor.pop(reservation.visitor, 0.0) - reservation.neurons
                if held > 1e-9:
                    day.reserved_by_visitor[reservation.visitor] = held
            if actual is None:
                return
            _remember(day.last, (reservation.session, reservation.action), actual)
            day.calls += 1
            if actual.neurons is not None:
                key = (reservation.task, actual.model)
                day.total += actual.neurons
                day.visitors[reservation.visitor] = day.visitors.get(reservation.visitor, 0.0) + actual.neurons
                day.models[key] = day.models.get(key, 0.0) + actual.neurons
                session = _remember(day.sessions, reservation.session, day.sessions.get(reservation.session, {}))
                session[key] = session.get(key, 0.0) + actual.neurons
            self._save(day)

    def _check(self, day: Day, visitor: str, task: str, upper: Estimate) -> None:
        if not self.budgets.active:
            return
        if upper.neurons is None:
            raise BudgetExceeded(
                f"The model {upper.model} has no known price, and this demo runs on a neuron budget, so it only "
                "calls models whose cost it can bound: pick a model from the list."
            )
        limits = (
            ("This demo's daily budget", self.budgets.total, day.total + day.reserved),
            ("Your daily budget on this demo", self.budgets.per_visitor,
             day.visitors.get(visitor, 0.0) + day.reserved_by_visitor.get(visitor, 0.0)),
        )
        for whose, limit, committed in limits:
            if limit is not None and committed + upper.neurons > limit + 1e-9:
                raise BudgetExceeded(self._refusal(whose, limit, limit - committed, upper.neurons, task))

    def _refusal(self, whose: str, limit: float, left: float, needed: float, task: str) -> str:
        """'This demo's daily budget of 1,000 neurons is used up; it resets at 00:00 UTC (in 3 h 12 min).'"""
        resets = f"it resets at 00:00 UTC (in {until_utc_midnight(self.now())})"
        if left < 0.001:  # a thousandth of a neuron is nothing anyone could spend
            return f"{whose} of {format_neurons(limit)} neurons is used up; {resets}."
        hint = " A lower Max tokens needs less." if task == CHAT else ""
        return (f"{whose} of {format_neurons(limit)} neurons has {format_neurons(left)} left, and this request "
                f"could need up to {format_neurons(needed)}; {resets}.{hint}")

    # ── reading ─────────────────────────────────────────────────────────────────────────────

    def now(self) -> datetime:
        """The ledger's clock: the time its days and reset times are reckoned by."""
        return self._now()

    def snapshot(self, visitor: str = LOCAL_KEY, session: str = LOCAL_KEY) -> Snapshot:
        with self._lock:
            day = self._current()
            return Snapshot(day.day, day.total, day.calls, day.visitors.get(visitor, 0.0), dict(day.models),
                            dict(day.sessions.get(session, {})))

    def last(self, session: str, action: str) -> Estimate | None:
        """The estimate of this session's last finished `action` (None while one runs, or when it failed)."""
        with self._lock:
            return self._current().last.get((session, action))

    # ── the day and its file ────────────────────────────────────────────────────────────────

    def _today(self) -> str:
        return self._now().astimezone(timezone.utc).date().isoformat()

    def _current(self) -> Day:
        """Today's record; at the first call after 00:00 UTC a new day starts from zero (or from its file)."""
        today = self._today()
        if today != self._day.day:
            self._day = self._load(today)
        return self._day

    def _path(self, day: str) -> Path | None:
        return self.state_dir / f"usage-{self.backend}-{day}.json" if self.state_dir else None

    def _load(self, day: str) -> Day:
        path = self._path(day)
        if path is None or not path.exists():
            return Day(day)
        try:
            return Day.from_json(day, json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("could not read %s (%s): the day's count starts from zero", path, exc)
            return Day(day)

    def _save(self, day: Day) -> None:
        """Write the day's totals atomically: a temp file in the same folder, then os.replace."""
        path = self._path(day.day)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp", delete=False) as handle:
                json.dump(day.to_json(self.backend), handle, indent=1)
            os.replace(handle.name, path)
        except OSError as exc:
            log.warning("could not write %s (%s): usage is kept in memory only", path, exc)


def _remember(recent: OrderedDict, key, value):
    """Set `recent[key]` as the newest entry, forgetting the oldest beyond MAX_SESSIONS; returns `value`."""
    recent[key] = value
    recent.move_to_end(key)
    while len(recent) > MAX_SESSIONS:
        recent.popitem(last=False)
    return value


# ── the app's ledgers ───────────────────────────────────────────────────────────────────────

_ledgers: dict[str, Ledger] = {}
_ledgers_lock = threading.Lock()


def shared_ledger() -> Ledger:
    """The live backend's ledger, made from the environment on first use. One per backend, so offline
    "would cost" figures never count against a Workers AI budget (or share its file)."""
    backend = shared_client().settings.backend
    with _ledgers_lock:
        if backend not in _ledgers:
            _ledgers[backend] = Ledger.from_env(backend)
        return _ledgers[backend]


def use_ledger(ledger: Ledger) -> None:
    """Install a ledger for its backend explicitly (tests, or an app that sets budgets in code)."""
    with _ledgers_lock:
        _ledgers[ledger.backend] = ledger


class Meter:
    """What the code inside `metered` tells the ledger: `record()` once the request has run."""

    def __init__(self, upper: Estimate) -> None:
        self.upper = upper
        self.actual: Estimate | None = None

    def record(self, actual: Estimate | None = None) -> None:
        """The call ran and cost `actual` (by default the estimate it was reserved with)."""
        self.actual = actual or self.upper


@contextmanager
def metered(request, action: str, task: str, upper: Estimate) -> Iterator[Meter]:
    """Reserve `upper` for `request`'s visitor (or refuse, before any request), run the body, settle."""
    ledger = shared_ledger()
    with capture((session_key(request), action)):  # what is sent (nothing, if refused), for "How it works"
        reservation = ledger.reserve(visitor_key(request), session_key(request), action, task, upper)
        meter = Meter(upper)
        try:
            yield meter
        finally:
            ledger.settle(reservation, meter.actual)

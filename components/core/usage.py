"""Neurons spent today, by whom and on what, and the budgets that bound them.

A public Space runs on its owner's account, so every call that costs money is metered here *before* its
request leaves the app:

    async with metered(request, "classify", VISION, estimate(model, images=1)) as meter:
        result = await shared_client().run_bytes(model, data)
        meter.record()  # the request ran: charge its estimate (or pass what it really cost)

- `metered` reserves an upper bound of the call's cost (for chat: a bound on the prompt's tokens plus
  `max_tokens` of output) and raises `BudgetExceeded` when that would not fit in what is left of a budget, so a
  refused call sends nothing. On the way out the reservation is settled to what the call cost.
- What ran is what is charged. Every request the shared client sent inside the block is traced
  (workers_ai.capture): if any was answered, the call is charged even when the body failed or was cancelled
  before `record()` (a stopped chat, a failed last batch, a long recording whose later pieces failed) — at the
  upper bound, since nothing smaller is known to hold. When every answered request carried Cloudflare's
  `cf-ai-neurons` header, their sum is the charge. Only a call that never reached an answer costs nothing.
- Budgets come from DEMO_NEURON_BUDGET_PER_VISITOR and DEMO_NEURON_BUDGET_TOTAL, in neurons per UTC day, off by
  default. They bound the Workers AI backend and every escalation (Claude's dollars are converted at Workers
  AI's rate: components/routing/targets.py); offline calls cost nothing and show what they *would* cost. With a
  budget set, a model without a known price is refused, since its cost cannot be bounded.
- A visitor is components/visitors.py's identity (an address no client header can fake, IPv6 per /64), kept
  only as a keyed hash: HMAC-SHA256 with a secret made once per state dir, so the file cannot be turned back
  into addresses by hashing the address space.
- The day lives in SQLite (components/ledger_store.py): in memory, or with DEMO_STATE_DIR set in
  `usage-<backend>.sqlite3` there, shared by every process using that dir and surviving restarts. Its
  transactions run in a worker thread, off the event loop. **Fail closed:** with a budget set, a state file that
  cannot be opened, read or written refuses metered calls with a sentence (never a day restarted at zero);
  without a budget there is nothing to protect, and the count is kept in memory instead.
Per-session figures (this page's spend, the last answer's cost) stay in memory, bounded.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from . import ledger_store as sql, settings
from .backend import shared_client
from .ledger_store import LedgerUnavailable, Store
from .budgets import Budgets
from .errors import BudgetExceeded
from .visitors import identity_of
from ..workers_ai import CHAT, Estimate, capture, format_neurons, until_utc_midnight

log = logging.getLogger("showcase")

LOCAL_KEY = "local"  # calls made from Python inside this process (tests, scripts): no request, no visitor
# Every API call without a client session is a session of its own: per-session figures keep the most recent ones.
MAX_SESSIONS = 10_000
SECRET_FILE = "visitor-key"
REFUSAL_DELAY = 0.5  # seconds a budget refusal waits before it is answered (see `metered`)
UNAVAILABLE = ("This demo cannot read or write its usage ledger right now, so it refuses calls that cost money "
               "until its owner fixes it (the server log says why). Nothing was sent.")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def session_key(request) -> str:
    """The page session (a new one per page load), for "this session" figures."""
    return (getattr(request, "session_hash", None) or LOCAL_KEY) if request is not None else LOCAL_KEY


# ── the ledger ──────────────────────────────────────────────────────────────────────────────

ByModel = dict[tuple[str, str], float]  # (task, model) → neurons


@dataclass(frozen=True)
class Reservation:
    """An upper bound held for a call in flight, until it settles."""

    id: int
    day: str
    visitor: str
    session: str
    action: str
    task: str
    neurons: float


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
    """One backend's metered calls per UTC day, with its budgets. Thread-safe; `now` is the clock (tests move
    it across midnight). Visitors are given as identities (`visitor` below) and stored as keyed hashes."""

    def __init__(self, backend: str = "cloudflare", budgets: Budgets = Budgets(),
                 state_dir: str | Path | None = None, now: Callable[[], datetime] = utc_now) -> None:
        self.backend = backend
        self.budgets = budgets
        self.state_dir = Path(state_dir) if state_dir else None
        self._now = now
        self._lock = threading.Lock()  # the in-memory session figures
        self._sessions: OrderedDict[str, tuple[str, ByModel]] = OrderedDict()  # session → (day, its spend)
        self._last: OrderedDict[tuple[str, str], Estimate | None] = OrderedDict()  # (session, action) → cost
        self._store: Store | None = None
        self._secret = b""
        self._open()

    @classmethod
    def from_env(cls, backend: str, env: Mapping[str, str] | None = None) -> Ledger:
        """Budgets bound Workers AI only: the offline engine's calls cost nothing."""
        budgets = Budgets() if backend == "local" else Budgets.from_env(env)
        return cls(backend, budgets, settings.raw("DEMO_STATE_DIR", env) or None)

    @property
    def persistent(self) -> bool:
        return self._store is not None and self._store.persistent

    def _open(self) -> None:
        """Open the state file and the visitor secret; with a budget set, a failure leaves the ledger refusing."""
        if self.state_dir is None:
            self._store, self._secret = Store.open(None), secrets.token_bytes(32)
            return
        try:
            store = Store.open(self.state_dir / f"usage-{self.backend}.sqlite3")
            self._secret, self._store = _secret(self.state_dir / SECRET_FILE), store
        except (LedgerUnavailable, OSError, ValueError) as exc:
            if self.budgets.active:
                log.error("usage ledger unavailable (%s): metered calls are refused until it can be opened", exc)
                self._store = None
            else:
                log.warning("usage ledger unavailable (%s): no budget is set, so usage is kept in memory", exc)
                self._store, self._secret = Store.open(None), secrets.token_bytes(32)

    def visitor(self, identity: str) -> str:
        """The stored form of a visitor: a keyed hash, never the address."""
        if not identity:
            return LOCAL_KEY
        return hmac.new(self._secret, identity.encode(), hashlib.sha256).hexdigest()[:24]

    # ── metering ────────────────────────────────────────────────────────────────────────────

    def reserve(self, visitor: str, session: str, action: str, task: str, upper: Estimate) -> Reservation:
        """Hold `upper` for a call about to be made, or raise BudgetExceeded (nothing is held then)."""
        if self._store is None:
            self._open()  # the owner may have fixed the folder meanwhile
            if self._store is None:
                raise BudgetExceeded(UNAVAILABLE)
        day = self._today()
        neurons = upper.neurons or 0.0
        try:
            with self._store.transaction() as db:
                total, mine = sql.committed(db, day, visitor)
                self._check(total, mine, task, upper)
                reservation_id = sql.hold(db, day, visitor, neurons)
        except LedgerUnavailable as exc:
            log.error("usage ledger failed (%s)", exc)
            if self.budgets.active:
                raise BudgetExceeded(UNAVAILABLE) from None
            reservation_id = 0
        with self._lock:
            _remember(self._last, (session, action), None)
        return Reservation(reservation_id, day, visitor, session, action, task, neurons)

    def settle(self, reservation: Reservation, actual: Estimate | None) -> None:
        """Release the reservation and charge what the call cost: nothing when it never ran (`actual` None).
        A call that settles after midnight is charged to the new day, whose count it then belongs to."""
        day = self._today()
        model_key = f"{reservation.task}\t{actual.model}" if actual and actual.neurons is not None else None
        try:
            if self._store is not None:
                with self._store.transaction() as db:
                    sql.release(db, reservation.id)
                    if actual is not None:
                        sql.charge(db, day, reservation.visitor, model_key, actual.neurons or 0.0)
        except LedgerUnavailable as exc:
            log.error("usage ledger failed to record a call (%s): metered calls are refused until it works", exc)
            self._store = None if self.budgets.active else self._store
        if actual is None:
            return
        with self._lock:
            _remember(self._last, (reservation.session, reservation.action), actual)
            if actual.neurons is not None:
                spent_day, spent = self._sessions.get(reservation.session, (day, {}))
                spent = spent if spent_day == day else {}
                key = (reservation.task, actual.model)
                spent[key] = spent.get(key, 0.0) + actual.neurons
                _remember(self._sessions, reservation.session, (day, spent))

    def take(self, visitor: str, kind: str, amount: int, limit: int | None = None) -> tuple[bool, int]:
        """Add `amount` to `visitor`'s count of `kind` today (negative gives back) unless that passes `limit`, in
        one transaction (two processes never both take the last of it): (taken, the count before). Kept in the
        state file like the neurons, so a restart does not reset it; it ends with its UTC day. A ledger that
        cannot be written refuses (BudgetExceeded), as metered calls do."""
        if self._store is None:
            self._open()
            if self._store is None:
                raise BudgetExceeded(UNAVAILABLE)
        day = self._today()
        try:
            with self._store.transaction() as db:
                used = sql.counted(db, day, kind, visitor)
                if limit is not None and used + amount > limit:
                    return False, used
                sql.count(db, day, kind, visitor, amount)
                return True, used
        except LedgerUnavailable as exc:
            log.error("usage ledger failed (%s)", exc)
            raise BudgetExceeded(UNAVAILABLE) from None

    def _check(self, total: float, mine: float, task: str, upper: Estimate) -> None:
        if not self.budgets.active:
            return
        if upper.neurons is None:
            raise BudgetExceeded(
                f"The model {upper.model} has no known price, and this demo runs on a neuron budget, so it only "
                "calls models whose cost it can bound: pick a model from the list."
            )
        limits = (("This demo's daily budget", self.budgets.total, total),
                  ("Your daily budget on this demo", self.budgets.per_visitor, mine))
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
        day = self._today()
        rows: list[tuple] = []
        if self._store is not None:
            try:
                rows = self._store.read("SELECT kind, key, neurons, calls FROM spend WHERE day=? AND "
                                        "(kind != 'visitor' OR key=?)", (day, visitor))
            except LedgerUnavailable as exc:
                log.error("usage ledger unreadable (%s)", exc)
        total, calls, mine, models = 0.0, 0, 0.0, {}
        for kind, key, neurons, count in rows:
            if kind == "total":
                total, calls = neurons, count
            elif kind == "visitor":
                mine = neurons
            else:
                task, _, model = key.partition("\t")
                models[(task, model)] = neurons
        with self._lock:
            spent_day, spent = self._sessions.get(session, (day, {}))
            session_spend = dict(spent) if spent_day == day else {}
        return Snapshot(day, total, calls, mine, models, session_spend)

    def last(self, session: str, action: str) -> Estimate | None:
        """The estimate of this session's last finished `action` (None while one runs, or when it failed)."""
        with self._lock:
            return self._last.get((session, action))

    def _today(self) -> str:
        return self._now().astimezone(timezone.utc).date().isoformat()


def _secret(path: Path) -> bytes:
    """The state dir's visitor-hash key: made once (readable by the owner only), then read back."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 16:
            raise ValueError(f"{path} is damaged") from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
        handle.flush()
        os.fsync(handle.fileno())
    return key


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


def visitor_key(request, ledger: Ledger | None = None) -> str:
    """The visitor behind `request` as the ledger stores it (a keyed hash of components/visitors.py's identity)."""
    return (ledger or shared_ledger()).visitor(identity_of(request))


class Meter:
    """What the code inside `metered` tells the ledger: `record()` once the request has run."""

    def __init__(self, upper: Estimate) -> None:
        self.upper = upper
        self.actual: Estimate | None = None

    def record(self, actual: Estimate | None = None) -> None:
        """The call ran and cost `actual` (by default the estimate it was reserved with)."""
        self.actual = actual or self.upper


def charged(meter: Meter, trace) -> Estimate | None:
    """What a metered call is charged, from what it recorded and what its requests were answered with."""
    # Billable: answered without an error, or sent and never answered here (cancelled, or still in flight when
    # the call gave up: it may run upstream all the same). Refused (4xx/5xx) or never connected: free.
    billable = [entry for entry in trace
                if (entry.status is not None and entry.status < 400) or (entry.status is None and not entry.failure)]
    actual = meter.actual
    if actual is None and billable:
        actual = meter.upper  # it ran, at least in part, and its real cost is unknown: the bound holds
    reported = [entry.neurons for entry in billable]
    if actual is not None and reported and all(n is not None for n in reported):
        actual = replace(actual, neurons=sum(reported), basis=f"{actual.basis} · as reported by Cloudflare".lstrip(
            " ·"))
    return actual


@asynccontextmanager
async def metered(request, action: str, task: str, upper: Estimate) -> AsyncIterator[Meter]:
    """Reserve `upper` for `request`'s visitor (or refuse, before any request), run the body, settle."""
    ledger = shared_ledger()
    # A state file's transactions may wait on the disk or another process: not on the event loop.
    run = asyncio.to_thread if ledger.persistent else _inline
    with capture((session_key(request), action)) as trace:  # what is sent (nothing, if refused)
        try:
            reservation = await run(ledger.reserve, visitor_key(request, ledger), session_key(request), action,
                                    task, upper)
        except BudgetExceeded:
            # The refusal holds its job's place a moment: a visitor retrying in a loop then churns a few refusals a
            # second through the queue instead of as many as it can send (bench/bench_abuse.py).
            await asyncio.sleep(REFUSAL_DELAY)
            raise
        meter = Meter(upper)
        try:
            yield meter
        finally:
            await run(ledger.settle, reservation, charged(meter, trace))


async def _inline(fn, *args):
    return fn(*args)

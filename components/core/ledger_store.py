"""Where the ledger keeps a UTC day's spend and the reservations in flight: SQLite, one file per backend.

    store = Store.open(Path("state/usage-cloudflare.sqlite3"))   # or Store.open(None): in memory
    with store.transaction() as db: ...                          # one atomic, cross-process step

Why SQLite (stdlib, WAL mode): every check-and-reserve and every settle is one `BEGIN IMMEDIATE` transaction, so
it is atomic (never half a write) and serialised across threads *and processes* sharing the state dir; two app
processes on one budget never both spend its last neurons. A crash mid-write leaves the last committed state.

Tables:
    spend(day, kind, key, neurons, calls)      kind: 'total' (key ''), 'visitor' (a keyed hash), 'model' (task\tmodel)
    reservations(id, day, visitor, neurons, pid, created)
    counts(day, kind, key, amount)             daily quotas that are not neurons: kind 'chunks' (documents added
                                               by a visitor, key their keyed hash)
Visitor rows and counts end with their UTC day (removed when the next day starts); reservations left by a process that
died, or older than `STALE_SECONDS`, are dropped, so a crash cannot hold budget for ever.

Failures are `LedgerUnavailable`: the ledger decides what that means (refuse metered calls while a budget is set).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STALE_SECONDS = 3600.0  # no call holds a reservation this long: a streamed answer or transcription takes minutes
BUSY_TIMEOUT_MS = 5000  # how long a transaction waits for another process's lock before giving up

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (
    day TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    neurons REAL NOT NULL DEFAULT 0, calls INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, kind, key)
);
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, day TEXT NOT NULL, visitor TEXT NOT NULL,
    neurons REAL NOT NULL, pid INTEGER NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counts (
    day TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, amount INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, kind, key)
);
"""


class LedgerUnavailable(Exception):
    """The state file cannot be opened, read or written (a permission, a full disk, a corrupt file)."""


class Store:
    """One SQLite database. Thread-safe: one connection, used under a lock (SQLite serialises the processes)."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self._db = connection
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path | None) -> Store:
        """Open (creating when missing) the database at `path`, or an in-memory one for None."""
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(path) if path else ":memory:", timeout=BUSY_TIMEOUT_MS / 1000,
                                 isolation_level=None, check_same_thread=False)
            if path is not None:
                use_wal(db, BUSY_TIMEOUT_MS / 1000)
                db.execute("PRAGMA synchronous=NORMAL")  # WAL: atomic and consistent; durable across app crashes
            db.executescript(_SCHEMA)
            db.execute("SELECT count(*) FROM spend").fetchone()  # a corrupt file fails here, not at the first call
        except (OSError, sqlite3.Error) as exc:
            raise LedgerUnavailable(f"{path}: {exc}") from exc
        return cls(db, path)

    @property
    def persistent(self) -> bool:
        return self.path is not None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic step, holding the write lock of every process from its first statement."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise LedgerUnavailable(str(exc)) from exc
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(exc, sqlite3.Error):
                    raise LedgerUnavailable(str(exc)) from exc
                raise

    def read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise LedgerUnavailable(str(exc)) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()


def use_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Put the file in WAL mode. When two connections switch one new file at the same moment, SQLite answers one of
    them "database is locked" at once, without waiting its busy timeout (two processes starting on a fresh state
    dir; about 1 time in 5 in a tight race): that is retried here for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


# ── the statements the ledger uses ──────────────────────────────────────────────────────────


def committed(db: sqlite3.Connection, day: str, visitor: str) -> tuple[float, float]:
    """(the day's spend plus what is reserved, the same for `visitor`)."""
    _drop_stale(db)
    total = db.execute(
        "SELECT coalesce((SELECT neurons FROM spend WHERE day=? AND kind='total'), 0)"
        " + coalesce((SELECT sum(neurons) FROM reservations WHERE day=?), 0)", (day, day)).fetchone()[0]
    mine = db.execute(
        "SELECT coalesce((SELECT neurons FROM spend WHERE day=? AND kind='visitor' AND key=?), 0)"
        " + coalesce((SELECT sum(neurons) FROM reservations WHERE day=? AND visitor=?), 0)",
        (day, visitor, day, visitor)).fetchone()[0]
    return float(total), float(mine)


def hold(db: sqlite3.Connection, day: str, visitor: str, neurons: float) -> int:
    cursor = db.execute("INSERT INTO reservations (day, visitor, neurons, pid, created) VALUES (?, ?, ?, ?, ?)",
                        (day, visitor, neurons, os.getpid(), time.time()))
    return int(cursor.lastrowid)


def release(db: sqlite3.Connection, reservation_id: int) -> None:
    db.execute("DELETE FROM reservations WHERE id=?", (reservation_id,))


def charge(db: sqlite3.Connection, day: str, visitor: str, model_key: str | None, neurons: float) -> None:
    """Add one answered call: to the day's total and count, and (when priced) to the visitor and the model."""
    rows = [("total", "", neurons)]
    if model_key is not None:
        rows += [("visitor", visitor, neurons), ("model", model_key, neurons)]
    for kind, key, amount in rows:
        db.execute("INSERT INTO spend (day, kind, key, neurons, calls) VALUES (?, ?, ?, ?, 1)"
                   " ON CONFLICT (day, kind, key) DO UPDATE SET neurons = neurons + excluded.neurons,"
                   " calls = calls + 1", (day, kind, key, amount))
    # Visitor rows end with their day: the map of who spent what never outgrows one day's visitors.
    db.execute("DELETE FROM spend WHERE kind='visitor' AND day < ?", (day,))


def counted(db: sqlite3.Connection, day: str, kind: str, key: str) -> int:
    row = db.execute("SELECT amount FROM counts WHERE day=? AND kind=? AND key=?", (day, kind, key)).fetchone()
    return int(row[0]) if row else 0


def count(db: sqlite3.Connection, day: str, kind: str, key: str, amount: int) -> None:
    """Add `amount` (negative: give back) to `key`'s count of `kind` on `day`; earlier days' counts go."""
    db.execute("INSERT INTO counts (day, kind, key, amount) VALUES (?, ?, ?, max(?, 0))"
               " ON CONFLICT (day, kind, key) DO UPDATE SET amount = max(amount + ?, 0)",
               (day, kind, key, amount, amount))
    db.execute("DELETE FROM counts WHERE day < ?", (day,))


def _drop_stale(db: sqlite3.Connection) -> None:
    """Forget reservations older than STALE_SECONDS or held by a process that no longer exists."""
    db.execute("DELETE FROM reservations WHERE created < ?", (time.time() - STALE_SECONDS,))
    for (pid,) in db.execute("SELECT DISTINCT pid FROM reservations WHERE pid != ?", (os.getpid(),)).fetchall():
        if not _alive(pid):
            db.execute("DELETE FROM reservations WHERE pid=?", (pid,))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True

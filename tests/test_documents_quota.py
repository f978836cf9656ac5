"""The per-visitor daily chunk quota (components/core/documents/ingest.py): counted in the usage ledger's SQLite file
beside the neurons, so a restart does not reset it; one UTC day at a time; given back when nothing was stored; two
uploads at once cannot both take the last of it; two processes opening a new state dir at once both get it."""

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest

from components.core.documents import ingest
from components.core.errors import BudgetExceeded, InputProblem
from components.core.ledger_store import LedgerUnavailable, Store
from components.core.usage import Ledger
from tests.fake_workers_ai import Fault
from tests.test_usage import EVENING, Clock  # the usage ledger's own test clock


def run(coro):
    return asyncio.run(coro)


def test_the_count_survives_a_restart_and_ends_with_the_utc_day(tmp_path):
    clock = Clock(EVENING)
    first = Ledger(state_dir=tmp_path, now=clock)
    assert first.take("ada", "chunks", 15_000, 20_000) == (True, 0)
    assert first.take("bob", "chunks", 10, 20_000) == (True, 0)

    restarted = Ledger(state_dir=tmp_path, now=clock)  # a new process on the same state dir
    assert restarted.take("ada", "chunks", 6_000, 20_000) == (False, 15_000)  # refused, and nothing was added
    assert restarted.take("ada", "chunks", 5_000, 20_000) == (True, 15_000)  # exactly up to the limit
    assert restarted.take("ada", "chunks", 1, 20_000) == (False, 20_000)
    assert restarted.take("bob", "chunks", 0, 20_000) == (True, 10)  # each visitor has their own count

    # 01:30 in UTC+2 is still 23:30 UTC: the same day, as the neuron budget reckons it.
    clock.now = datetime(2026, 11, 27, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert restarted.take("ada", "chunks", 0, 20_000) == (True, 20_000)
    clock.now = datetime(2026, 11, 27, 0, 0, 1, tzinfo=timezone.utc)  # UTC midnight has passed
    assert Ledger(state_dir=tmp_path, now=clock).take("ada", "chunks", 20_000, 20_000) == (True, 0)
    assert restarted.snapshot("ada").total == 0  # the counts are not neurons: the spend is untouched


def test_giving_back_never_goes_below_zero_and_yesterday_s_rows_go(tmp_path):
    clock = Clock(EVENING)
    ledger = Ledger(state_dir=tmp_path, now=clock)
    ledger.take("ada", "chunks", 30)
    ledger.take("ada", "chunks", -50)
    assert ledger.take("ada", "chunks", 0) == (True, 0)
    ledger.take("ada", "chunks", 7)
    clock.now += timedelta(days=1)
    ledger.take("bob", "chunks", 1)
    rows = ledger._store.read("SELECT day, key, amount FROM counts")
    assert rows == [("2026-11-27", "bob", 1)]  # a day's counts never outgrow that day's visitors


def test_threads_racing_for_the_last_chunks_never_overshoot(tmp_path):
    ledgers = [Ledger(state_dir=tmp_path, now=Clock(EVENING)) for _ in range(4)]  # four "processes"
    taken = []
    start = threading.Barrier(8)

    def worker(ledger):
        start.wait()
        for _ in range(25):
            if ledger.take("ada", "chunks", 3, 100)[0]:
                taken.append(3)

    threads = [threading.Thread(target=worker, args=(ledgers[i % 4],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(taken) == 99 and ledgers[0].take("ada", "chunks", 0, 100) == (True, 99)


def test_two_processes_opening_a_new_state_dir_at_once_both_get_the_ledger(tmp_path):
    """SQLite answers one of two connections switching a new file to WAL at the same moment "database is locked"
    at once, without its busy timeout: 11 tries in 100 failed so before ledger_store.use_wal retried it."""
    for trial in range(40):
        start, errors = threading.Barrier(2), []

        def opener(path=tmp_path / f"usage-{trial}.sqlite3"):
            start.wait()
            try:
                Store.open(path).close()
            except LedgerUnavailable as exc:
                errors.append(exc)

        threads = [threading.Thread(target=opener) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, f"try {trial}: {errors}"


def test_a_ledger_that_cannot_be_written_refuses(tmp_path):
    ledger = Ledger(state_dir=tmp_path, now=Clock(EVENING))
    ledger._store.close()
    with pytest.raises(BudgetExceeded, match="cannot read or write its usage ledger"):
        ledger.take("ada", "chunks", 1, 10)


def test_one_visitor_cannot_fill_the_disk_with_new_collections(budget, monkeypatch, tmp_path):
    """Collections are free to make, so the quota that bounds the disk is per visitor and day, across them all —
    and a restart of the app (a new ledger on the same state dir) does not give it back."""
    monkeypatch.setattr(ingest, "MAX_CHUNKS_PER_VISITOR_A_DAY", 2)
    clock = Clock(EVENING)
    budget(state_dir=tmp_path, now=clock)
    first = run(ingest.add([], "# One\n\nThe first note.", ""))
    run(ingest.add([], "# Two\n\nThe second note.", ""))
    budget(state_dir=tmp_path, now=clock)  # restarted
    with pytest.raises(InputProblem, match="You have added 2 chunks of documents today; this demo takes at most 2 "
                                           r"a day from one visitor \(it resets at 00:00 UTC\)"):
        run(ingest.add([], "# Three\n\nThe third note.", ""))
    again = run(ingest.add([], "# One\n\nThe first note.", first.collection))
    assert again.chunks_added == 0 and again.chunks_known == 1  # chunks the collection holds cost no quota
    clock.now += timedelta(days=1)
    assert run(ingest.add([], "# Three\n\nThe third note.", "")).chunks_added == 1


def test_an_upload_that_stores_nothing_takes_no_quota(budget, fake, monkeypatch, tmp_path):
    monkeypatch.setattr(ingest, "MAX_CHUNKS_PER_VISITOR_A_DAY", 1)
    budget(state_dir=tmp_path, now=Clock(EVENING))
    fake.fail(Fault.error(400, 5006, "bad input"))  # the embedding call is refused: nothing is stored
    with pytest.raises(Exception):
        run(ingest.add([], "# One\n\nThe first note.", ""))
    assert fake.count() == 1
    assert run(ingest.add([], "# One\n\nThe first note.", "")).chunks_added == 1  # the quota was given back

"""The answers to the app's own examples, kept per backend and model, so that a click on an example shows its
result at once and the same answer is never paid for twice.

Kept lazily: nothing runs until a visitor clicks an example (or opens the Embeddings tab), and that visitor's call
is metered and budgeted like any other (it is the ordinary endpoint function that computes it). Later clicks on the
same example, with the same model, on the same backend get the kept answer: nothing is sent, nothing is charged.

Per backend: the answers belong to the client object that computed them (core/backend.py's shared client), so an
offline answer is never shown on Cloudflare or the other way round, and a test or a restart that installs another
client starts empty. Only in memory, bounded (MAX_ENTRIES answers, least recently used go first), never on disk:
Gradio's own example cache is one folder per app, whatever the backend, and it skips the function (so the budget
and the meter) on a hit.

Two visitors clicking the same example at the same moment: the second waits for the first one's answer instead of
sending the same request again; if the first one fails (a budget refusal is that visitor's alone), or is cancelled,
the second computes its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from .backend import shared_client

MAX_ENTRIES = 256  # per backend: examples × models a visitor may pick; a few kB to a few hundred kB each


@dataclass(frozen=True)
class Answer:
    """A value, whether it was kept from an earlier call (nothing was sent for it now), and when it was made."""

    value: Any
    reused: bool
    made: float  # Unix time of the call that computed it


class FirstResults:
    """Answers kept per backend (the client object), per key; see the module's docstring."""

    def __init__(self, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._kept: weakref.WeakKeyDictionary[object, OrderedDict[Hashable, tuple[Any, float]]] = (
            weakref.WeakKeyDictionary())
        self._running: weakref.WeakKeyDictionary[object, dict[Hashable, asyncio.Future]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]], max_age: float | None = None,
                  usable: Callable[[Any], bool] | None = None) -> Answer:
        """The answer kept for `key` on the live backend (no older than `max_age` seconds and `usable(value)`, if
        given: an answer that names files checks they are still there), or `compute()`'s, which is then kept. A
        failure of `compute` is raised and nothing is kept."""
        backend = shared_client()
        if (kept := self._fresh(backend, key, max_age, usable)) is not None:
            return kept
        loop = asyncio.get_running_loop()
        with self._lock:
            running = self._running.setdefault(backend, {})
            other = running.get(key)
            if other is not None and other.get_loop() is not loop:  # another event loop's (tests): not awaitable
                other = None
            mine = None
            if other is None:
                mine = running[key] = loop.create_future()
        if other is not None:
            await asyncio.wait([other])  # its failure or cancellation is not ours: we then compute our own
            if not other.cancelled() and other.exception() is None:
                return Answer(other.result()[0], True, other.result()[1])
            return await self.get(key, compute, max_age, usable)
        try:
            value = await compute()
        except BaseException:
            mine.cancel()  # whoever waits computes their own
            raise
        finally:
            with self._lock:
                if running.get(key) is mine:
                    del running[key]
        made = self._clock()
        self._keep(backend, key, value, made)
        mine.set_result((value, made))
        return Answer(value, False, made)

    def _fresh(self, backend: object, key: Hashable, max_age: float | None,
               usable: Callable[[Any], bool] | None) -> Answer | None:
        with self._lock:
            space = self._kept.get(backend)
            if space is None or key not in space:
                return None
            value, made = space[key]
            if (max_age is not None and self._clock() - made > max_age) or (usable is not None and not usable(value)):
                del space[key]
                return None
            space.move_to_end(key)
            return Answer(value, True, made)

    def _keep(self, backend: object, key: Hashable, value: Any, made: float) -> None:
        with self._lock:
            space = self._kept.setdefault(backend, OrderedDict())
            space[key] = (value, made)
            space.move_to_end(key)
            while len(space) > self.max_entries:
                space.popitem(last=False)

    def forget(self) -> None:
        """Drop every kept answer (tests, or an operator who changed a model behind the same id)."""
        with self._lock:
            self._kept.clear()


_shared: FirstResults | None = None


def first_results() -> FirstResults:
    """The app's one store of example answers, made on first use."""
    global _shared
    if _shared is None:
        _shared = FirstResults()
    return _shared

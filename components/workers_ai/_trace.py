"""What the client actually sent: one record per HTTP request, for the tabs' "How it works" panels.

A caller opens a capture (`with capture(key):`) around an action; every request the shared client sends while it is
open — retries and chunks included — is appended to it, with the answer's status and timing. The capture
travels in a ContextVar holding a list, so requests sent from tasks started inside the action (the stream
reader) land in the same list. The last capture per key is kept (bounded) for the page to show afterwards.

Never recorded: header values. The account id in URLs is replaced by `{account_id}` before anything is stored.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx

KEEP = 2_000  # captures kept for the page (the most recent keys)


@dataclass
class SentRequest:
    method: str
    url: str  # the account id replaced by {account_id}
    content_type: str
    body_bytes: int
    body_json: Any = None  # the JSON body as the object it was encoded from, when there was one (for display)
    extra_headers: tuple[str, ...] = ()  # names of auth headers sent besides Authorization (values never kept)
    status: int | None = None
    seconds: float | None = None  # until the answer's headers (a stream's first byte)
    answer_type: str = ""
    failure: str = ""  # a connection-level failure, when there was no answer


class Trace(list):
    """The requests of one action, in order, and when the action began (Unix time). A capture opened inside
    another (an answer's metered calls inside the whole answer) records into both."""

    def __init__(self, parent: Trace | None = None) -> None:
        super().__init__()
        self.began = time.time()
        self.parent = parent


_current: ContextVar[Trace | None] = ContextVar("workers_ai_trace", default=None)
_recent: OrderedDict[Any, Trace] = OrderedDict()
_lock = threading.Lock()


@contextmanager
def capture(key: Any) -> Iterator[Trace]:
    """Record the requests sent inside the block under `key` (e.g. (session, action))."""
    trace = Trace(parent=_current.get())
    token = _current.set(trace)
    with _lock:
        _recent[key] = trace
        _recent.move_to_end(key)
        while len(_recent) > KEEP:
            _recent.popitem(last=False)
    try:
        yield trace
    finally:
        try:
            _current.reset(token)
        except ValueError:  # closed from another context (an abandoned stream): just stop recording there
            _current.set(None)


def recent(key: Any) -> Trace | None:
    """The last capture recorded under `key`, if any."""
    with _lock:
        return _recent.get(key)


def record(request: httpx.Request, account_id: str | None, body_json: Any = None) -> SentRequest | None:
    """Note `request` (its JSON body as the object it was encoded from) in the open capture, if any; the
    returned entry gets the answer via `answered`."""
    trace = _current.get()
    if trace is None:
        return None
    url = str(request.url)
    if account_id:  # the path segment that is the account id, not text that merely contains it ("@local/…")
        url = re.sub(rf"(?<=/){re.escape(account_id)}(?=[/?#]|$)", "{account_id}", url)
    content = request.content if isinstance(request.stream, httpx.ByteStream) else b""
    content_type = request.headers.get("content-type", "")
    extra = tuple(name for name in ("cf-aig-authorization",) if name in request.headers)
    entry = SentRequest(request.method, url, content_type, len(content), body_json, extra)
    while trace is not None:
        trace.append(entry)
        trace = trace.parent
    return entry


def answered(entry: SentRequest | None, response: httpx.Response | None, seconds: float, failure: str = "") -> None:
    if entry is None:
        return
    entry.seconds = seconds
    if response is not None:
        entry.status = response.status_code
        entry.answer_type = response.headers.get("content-type", "").split(";")[0]
    entry.failure = failure

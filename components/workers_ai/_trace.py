"""What the client actually sent: one record per HTTP request, for the tabs' "How it works" panels.

A caller opens a capture (`with capture(key):`) around an action; every request the shared client sends while it is
open — retries and chunks included — is appended to it, with the answer's status and timing. The capture
travels in a ContextVar holding a list, so requests sent from tasks started inside the action (the stream
reader) land in the same list. The last capture per key is kept (bounded) for the page to show afterwards.

Never recorded: request header values (of the answer, only its `cf-ai-neurons` cost). The account id in URLs is
replaced by `{account_id}` before anything is stored.
"""

from __future__ import annotations

import json
import re
import shlex
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
# What is kept of a JSON body is cut down when it is recorded, so each capture stays a few kB whatever was sent
# (a 4 MB base64 recording, a thousand sentences): KEEP captures are a few MB at most.
MAX_STRING = 160  # characters of a JSON string kept before it is shortened
MAX_ITEMS = 6  # items of a JSON array kept before the rest are counted


@dataclass
class SentRequest:
    method: str
    url: str  # the account id replaced by {account_id}
    content_type: str
    body_bytes: int
    body_json: Any = None  # the JSON body, shortened (`shorten`), when there was one (for display)
    extra_headers: tuple[str, ...] = ()  # names of auth headers sent besides Authorization (values never kept)
    status: int | None = None
    seconds: float | None = None  # until the answer's headers (a stream's first byte)
    answer_type: str = ""
    failure: str = ""  # a connection-level failure, when there was no answer
    neurons: float | None = None  # what the call cost, when the answer said so in its `cf-ai-neurons` header


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
    entry = SentRequest(request.method, url, content_type, len(content), shorten(body_json), extra)
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
        entry.neurons = parse_neurons(response.headers.get("cf-ai-neurons"))
    entry.failure = failure


def parse_neurons(value: str | None) -> float | None:
    """The `cf-ai-neurons` header as a number, or None when absent or not a sensible one."""
    try:
        neurons = float(value) if value is not None else None
    except ValueError:
        return None
    return neurons if neurons is not None and 0 <= neurons < 1e9 else None


def shorten(value: Any) -> Any:
    """A JSON value with long strings and arrays cut down, so a 200 KB base64 upload reads (and is kept) as one
    line and a thousand sentences as six."""
    if isinstance(value, str):
        if len(value) <= MAX_STRING:
            return value
        return f"{value[:MAX_STRING]}… ({len(value):,} characters in all)"
    if isinstance(value, list):
        shown = [shorten(item) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            shown.append(f"… {len(value) - MAX_ITEMS:,} more")
        return shown
    if isinstance(value, dict):
        return {key: shorten(item) for key, item in value.items()}
    return value


def curl_command(entry: SentRequest, file_name: str = "input.bin") -> str:
    """The request as a curl command a developer can paste: the account id and tokens as environment variables,
    a JSON body as sent (its long values shortened, as recorded), a binary body as a reference to a file
    (`--data-binary @input.bin`), never its bytes."""
    url = entry.url.replace("{account_id}", "$CLOUDFLARE_ACCOUNT_ID")
    parts = [f'curl -X {entry.method} "{url}"', '-H "Authorization: Bearer $CLOUDFLARE_API_TOKEN"']
    parts += [f'-H "{name}: Bearer $CLOUDFLARE_AI_GATEWAY_TOKEN"' for name in entry.extra_headers]
    if entry.content_type:
        parts.append(f"-H {shlex.quote('Content-Type: ' + entry.content_type)}")
    if entry.body_json is not None:
        parts.append(f"--data {shlex.quote(json.dumps(entry.body_json, ensure_ascii=False))}")
    elif entry.body_bytes:
        parts.append(f"--data-binary @{shlex.quote(file_name)}")
    return " \\\n  ".join(parts)

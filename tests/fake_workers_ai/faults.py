"""Faults a test can queue with `FakeWorkersAI.fail(...)`: each matching request consumes one.

Stream faults (`cut_stream`, `no_done`, `malformed_sse`, `stream_error_event`) only match requests
that ask for `"stream": true`, so a queued stream fault waits for the stream it is meant to break.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar, NamedTuple


class StreamPlan(NamedTuple):
    """What actually goes on the wire for a stream: the data payloads, whether `[DONE]` follows,
    and whether the chunked body is terminated properly (False = the socket is cut)."""

    datas: list[str]
    send_done: bool = True
    clean_end: bool = True


@dataclass(frozen=True)
class Fault:
    """One queued misbehaviour. Build it with the classmethods, not the constructor."""

    kind: str
    status: int = 200
    code: int = 0
    message: str = ""
    retry_after: int | float | str | None = None
    body: bytes = b""
    content_type: str = "text/html"
    seconds: float = 0.0
    after_events: int = 0
    chunked: bool = False

    STREAM_KINDS: ClassVar[frozenset] = frozenset({"cut_stream", "no_done", "malformed_sse", "stream_error_event"})

    @classmethod
    def error(cls, status: int, code: int, message: str, retry_after=None) -> Fault:
        """An error envelope with that status (and a `Retry-After` header when given)."""
        return cls("error", status=status, code=code, message=message, retry_after=retry_after)

    @classmethod
    def raw(cls, status: int, body: bytes | str, content_type: str = "text/html", chunked: bool = False) -> Fault:
        """An arbitrary body, e.g. a proxy's 502 HTML page or invalid JSON with 200; `chunked` sends it without
        a Content-Length (an answer whose size is only known once it is read)."""
        data = body.encode() if isinstance(body, str) else bytes(body)
        return cls("raw", status=status, body=data, content_type=content_type, chunked=chunked)

    @classmethod
    def envelope_false(cls) -> Fault:
        """HTTP 200 whose envelope nevertheless says `success: false`."""
        return cls("error", status=200, code=5000, message="Internal error")

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """Wait that long, then answer normally (for client read timeouts)."""
        return cls("hang", seconds=seconds)

    @classmethod
    def cut_stream(cls, after_events: int = 3) -> Fault:
        """Send that many events, then close the socket without the terminating chunk or `[DONE]`."""
        return cls("cut_stream", after_events=after_events)

    @classmethod
    def no_done(cls) -> Fault:
        """All events including usage, a properly terminated body, but no `data: [DONE]`."""
        return cls("no_done")

    @classmethod
    def malformed_sse(cls) -> Fault:
        """An extra event after the first whose data is truncated JSON; the rest is normal."""
        return cls("malformed_sse")

    @classmethod
    def stream_error_event(cls) -> Fault:
        """Two tokens, then an `errors` event (3040, out of capacity), then the body ends without `[DONE]`."""
        return cls("stream_error_event", code=3040, message="Capacity temporarily exceeded")

    @classmethod
    def reset_connection(cls) -> Fault:
        """Close the socket (with a TCP reset) without any response."""
        return cls("reset_connection")

    @property
    def streams_only(self) -> bool:
        return self.kind in self.STREAM_KINDS

    def shape_stream(self, datas: list[str]) -> StreamPlan:
        """Apply a stream fault to the normal list of event payloads."""
        if self.kind == "cut_stream":
            return StreamPlan(datas[: self.after_events], send_done=False, clean_end=False)
        if self.kind == "no_done":
            return StreamPlan(datas, send_done=False)
        if self.kind == "malformed_sse":
            return StreamPlan([*datas[:1], '{"response": "x"', *datas[1:]])
        if self.kind == "stream_error_event":
            error = json.dumps({"errors": [{"code": self.code, "message": self.message}]})
            return StreamPlan([*datas[:2], error], send_done=False)
        return StreamPlan(datas)

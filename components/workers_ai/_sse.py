"""Server-sent events, decoded per the spec, and turned into text deltas.

Two layers:
- `SSEDecoder` turns bytes, as they arrive from the network in any split, into events. It buffers partial
  lines, accepts LF, CRLF and CR line endings (a CR at the end of one read and an LF at the start of the
  next are one line ending), decodes UTF-8 incrementally (a character can be split across reads), and
  dispatches an event at each blank line, exactly as the WHATWG EventSource algorithm says.
- `stream_deltas` reads Workers AI's events: classic `{"response": "…"}` and chat-completions
  `{"choices":[{"delta":{"content":"…"}}]}` (taking the delta when present, else `response`, never both),
  ignores `p` padding, keeps the last `usage`, and ends at `[DONE]`.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TypeVar

from ._errors import ProtocolError, error_class, user_message_for

T = TypeVar("T")  # what `coalesce` batches: Workers AI deltas, or another stream's


@dataclass
class ServerSentEvent:
    data: str
    event: str = "message"
    id: str | None = None


class SSEDecoder:
    """Incremental SSE parser: feed it bytes, get back the events those bytes completed."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._skip_lf = False  # the previous chunk ended with CR: a leading LF belongs to it
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        text = self._text.decode(chunk)
        if self._skip_lf and text.startswith("\n"):
            text = text[1:]
        if text:
            self._skip_lf = False
        self._buffer += text
        events: list[ServerSentEvent] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                break
            end, width = cut
            line = self._buffer[:end]
            if width == 1 and self._buffer[end] == "\r" and end + 1 == len(self._buffer):
                self._skip_lf = True  # CR at the very end: an LF may follow in the next read
            self._buffer = self._buffer[end + width :]
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def close(self) -> list[ServerSentEvent]:
        """End of stream. Per the spec an event without its closing blank line is discarded."""
        self._buffer += self._text.decode(b"", final=True)
        return []

    @property
    def pending(self) -> bool:
        """True when bytes of an unfinished event are buffered (the stream stopped mid-event)."""
        return bool(self._buffer.strip() or self._data)

    def _line(self, line: str) -> ServerSentEvent | None:
        if line == "":
            if not self._data:
                self._event = ""
                return None
            event = ServerSentEvent("\n".join(self._data), self._event or "message", self._id)
            self._data, self._event = [], ""
            return event
        if line.startswith(":"):
            return None  # comment / keep-alive
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None


_LINE_END = re.compile(r"\r\n|\r|\n")


def _line_end(buffer: str) -> tuple[int, int] | None:
    """Position and width of the first line ending (CRLF, LF or CR) in buffer, if any."""
    found = _LINE_END.search(buffer)
    return (found.start(), found.end() - found.start()) if found else None


@dataclass
class StreamDelta:
    """A piece of streamed text; the last one of a stream may carry `usage` (and `neurons`)."""

    text: str = ""
    usage: dict = field(default_factory=dict)
    neurons: float | None = None


def delta_from_event(payload: dict) -> StreamDelta:
    """One decoded JSON event → its text. Chat-completions delta wins over `response`: never both."""
    errors = payload.get("errors")
    if errors and isinstance(errors, list) and "response" not in payload and "choices" not in payload:
        first = errors[0] if isinstance(errors[0], dict) else {}
        code, message = first.get("code"), str(first.get("message", ""))
        cls = error_class(code, None, message)
        raise cls(user_message_for(cls, code, message, None), code=code, detail=message)
    text = None
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        delta = choices[0].get("delta") or {}
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            text = delta["content"]
    if text is None and isinstance(payload.get("response"), str):
        text = payload["response"]
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    neurons = payload.get("neurons") if isinstance(payload.get("neurons"), (int, float)) else None
    return StreamDelta(text or "", usage, neurons)


async def stream_deltas(chunks: AsyncIterator[bytes]) -> AsyncIterator[StreamDelta]:
    """Decode a Workers AI text stream. Raises ProtocolError if it ends without `[DONE]`."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            if event.data.strip() == "[DONE]":
                return
            try:
                payload = json.loads(event.data)
            except json.JSONDecodeError as exc:
                raise ProtocolError(
                    "Workers AI sent a malformed stream event: try again.", detail=event.data[:200]
                ) from exc
            if not isinstance(payload, dict):
                raise ProtocolError("Workers AI sent an unexpected stream event: try again.")
            yield delta_from_event(payload)
    decoder.close()
    raise ProtocolError("The answer stream ended before it was complete: try again.")




async def coalesce(deltas: AsyncIterator[T], min_interval: float = 0.0) -> AsyncIterator[list[T]]:
    """Hand over, at each request for more, every delta that arrived since the last one.

    A consumer that spends time per item (Gradio spends ~1 ms of CPU on every streamed update) would
    otherwise fall behind a fast stream, and fifty of them would queue behind one another. Reading on in the
    background and merging keeps the latency of the first token and sends fewer, larger updates after it.
    With `min_interval`, batches after the first are also at least that many seconds apart (the end of the
    stream is never held back): a cadence the eye cannot tell from token by token, whose cost per visitor no
    longer grows with the model's speed.
    """
    pending: list[T] = []
    finished = False
    failure: BaseException | None = None
    arrived = asyncio.Event()
    loop = asyncio.get_running_loop()
    last_batch = float("-inf")

    async def read() -> None:
        nonlocal finished, failure
        try:
            async for delta in deltas:
                pending.append(delta)
                arrived.set()
        except Exception as exc:  # re-raised to the consumer, in order, after what came before it
            failure = exc
        finally:
            finished = True
            arrived.set()

    reader = asyncio.create_task(read())
    try:
        while True:
            if not pending and not finished:
                await arrived.wait()
                arrived.clear()
            wait = last_batch + min_interval - loop.time()
            if pending and wait > 0 and not finished:
                with contextlib.suppress(asyncio.TimeoutError):  # more may arrive meanwhile; the end may too
                    await asyncio.wait_for(_until_finished(lambda: finished, arrived), wait)
            if pending:
                batch, pending[:] = pending[:], []
                last_batch = loop.time()
                yield batch
            elif finished:
                if failure is not None:
                    raise failure
                return
    finally:
        reader.cancel()  # the consumer went away: stop reading, which closes the response
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _until_finished(is_finished, arrived: asyncio.Event) -> None:
    """Wait until the stream has ended (woken by each arrival to check)."""
    while not is_finished():
        await arrived.wait()
        arrived.clear()

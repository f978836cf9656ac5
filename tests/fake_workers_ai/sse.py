"""Server-sent events over HTTP/1.1 chunked encoding, cut into writes the way a test asks.

Every write is one HTTP chunk sent straight to the socket (TCP_NODELAY, unbuffered), so how the
bytes are cut here is how a client's reads see them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

CHUNKINGS = ("event", "bytewise", "coalesced", "split")
LINE_ENDINGS = ("\n", "\r\n")
_BYTEWISE_PAUSE_EVERY = 4  # bytes between tiny sleeps, so a local client cannot read them all at once
_PAUSE = {"bytewise": 0.001, "split": 0.003}


@dataclass
class Stream:
    """A behaviour's streamed answer: the JSON payloads of its `data:` events, before `[DONE]`."""

    events: list[dict]


def encode_event(data: str, line_ending: str) -> bytes:
    return f"data: {data}{line_ending}{line_ending}".encode()


def split_points(event: bytes) -> list[int]:
    """Awkward places to cut an event: inside `data:`, inside the first multi-byte UTF-8
    character, and between the first CR and LF."""
    points = {2}
    lead = next((i for i, byte in enumerate(event) if byte >= 0xC0), None)
    if lead is not None:
        points.add(lead + 1)
    crlf = event.find(b"\r\n")
    if crlf >= 0:
        points.add(crlf + 1)
    return sorted(p for p in points if 0 < p < len(event))


def _pieces(event: bytes, chunking: str) -> list[bytes]:
    if chunking == "bytewise":
        return [event[i : i + 1] for i in range(len(event))]
    if chunking == "split":
        cuts = [0, *split_points(event), len(event)]
        return [event[a:b] for a, b in zip(cuts, cuts[1:])]
    return [event]


class ChunkedWriter:
    """Writes HTTP/1.1 chunks; `end()` sends the terminating zero-length chunk."""

    def __init__(self, wfile):
        self._wfile = wfile

    def chunk(self, data: bytes) -> None:
        self._wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self._wfile.flush()

    def end(self) -> None:
        self._wfile.write(b"0\r\n\r\n")
        self._wfile.flush()


def write_events(writer: ChunkedWriter, events: list[bytes], *, chunking: str, first_delay: float, delay: float,
                 wait: Callable[[float], bool]) -> bool:
    """Send encoded events with the configured delays; False if `wait` reports the server is closing."""
    if chunking == "coalesced":
        if not wait(first_delay):
            return False
        writer.chunk(b"".join(events))
        return True
    for index, event in enumerate(events):
        if not wait(first_delay if index == 0 else delay):
            return False
        for number, piece in enumerate(_pieces(event, chunking)):
            if number and (chunking == "split" or number % _BYTEWISE_PAUSE_EVERY == 0):
                time.sleep(_PAUSE[chunking])
            writer.chunk(piece)
    return True

"""The benchmarks' HTTP client for calling the app: HTTP/1.1 on asyncio streams, parsed by h11 (the parser that
uvicorn and httpx use themselves), keep-alive connections reused per host, no compression, nothing else.

Why not httpx: on this 2-core machine an `httpx.AsyncClient` call (the POST and the SSE GET) costs the *caller*
~2–3 ms of its own time (pool, anyio, header models) — `bench_cloud_ttft.py` keeps a row that measures it — time
the figures would otherwise charge to the app. A browser's `fetch` costs a small fraction of that. The app's own
upstream client (`WorkersAI`, which does use httpx) is not this: it is part of the app and is measured as it is,
in the bare path and inside every call through the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import h11


_requests = itertools.count()


def _next_visitor() -> str:
    """Each request comes from a visitor of its own (198.18.0.0/15, the benchmarking range), as the bench app's one
    trusted proxy hop would forward it: the app caps one visitor's queued jobs (components/core/visitors.py), and the
    benches play many visitors at once."""
    number = next(_requests) % 65_536
    return f"198.18.{number // 256}.{number % 256}"


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h11 = h11.Connection(h11.CLIENT)

    async def send(self, method: str, host: str, target: str, body: bytes | None) -> h11.Response:
        headers = [("Host", host), ("Accept", "*/*"), ("X-Forwarded-For", _next_visitor())]
        if body is not None:
            headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        data = self.h11.send(h11.Request(method=method, target=target, headers=headers))
        if body:
            data += self.h11.send(h11.Data(data=body))
        self.writer.write(data + self.h11.send(h11.EndOfMessage()))
        event = await self.next_event()
        if not isinstance(event, h11.Response):
            raise ConnectionError(f"{method} {target}: expected a response, got {event!r}")
        return event

    async def next_event(self):
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            data = await self.reader.read(65536)
            self.h11.receive_data(data)  # b"" marks the end of the stream
            if not data and self.h11.their_state is not h11.DONE:
                raise ConnectionError("the server closed the connection mid-response")

    async def body(self) -> AsyncIterator[bytes]:
        while True:
            event = await self.next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return

    def reusable(self) -> bool:
        if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
            self.h11.start_next_cycle()
            return True
        return False

    def close(self) -> None:
        self.writer.close()


class RawHTTP:
    """`post_json(url, body)` → (status, parsed JSON) and `lines(url)` → (status, async iterator of text lines).
    Idle connections are kept per host:port; concurrent calls each get their own."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._all: set[_Connection] = set()

    async def __aenter__(self) -> RawHTTP:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for connection in self._all:
            connection.close()
        self._all.clear()
        self._idle.clear()

    @contextlib.asynccontextmanager
    async def _request(self, method: str, url: str, body: bytes | None):
        parts = urlsplit(url)
        key = (parts.hostname or "127.0.0.1", parts.port or 80)
        idle = self._idle.setdefault(key, [])
        connection = idle.pop() if idle else None
        if connection is None:
            connection = _Connection(*await asyncio.open_connection(*key))
            self._all.add(connection)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            response = await connection.send(method, parts.netloc, target, body)
            yield response, connection
        except BaseException:
            connection.close()
            self._all.discard(connection)
            raise
        if connection.reusable():
            idle.append(connection)
        else:
            connection.close()
            self._all.discard(connection)

    async def post_json(self, url: str, payload) -> tuple[int, object]:
        async with self._request("POST", url, json.dumps(payload).encode()) as (response, connection):
            raw = b"".join([chunk async for chunk in connection.body()])
        return response.status_code, json.loads(raw) if raw else None

    @contextlib.asynccontextmanager
    async def lines(self, url: str):
        async with self._request("GET", url, None) as (response, connection):
            async def text_lines() -> AsyncIterator[str]:
                pending = b""
                async for chunk in connection.body():
                    pending += chunk
                    *complete, pending = pending.split(b"\n")
                    for line in complete:
                        yield line.rstrip(b"\r").decode()
                if pending:
                    yield pending.rstrip(b"\r").decode()

            yield response.status_code, text_lines()  # a caller that stops early leaves a connection that is closed


class HttpxHTTP:
    """The same two calls through `httpx.AsyncClient`, to show what that client costs (bench_cloud_ttft.py)."""

    def __init__(self) -> None:
        import httpx

        self._http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0))

    async def __aenter__(self) -> HttpxHTTP:
        return self

    async def __aexit__(self, *exc) -> None:
        await self._http.aclose()

    async def post_json(self, url: str, payload) -> tuple[int, object]:
        response = await self._http.post(url, json=payload)
        return response.status_code, response.json()

    @contextlib.asynccontextmanager
    async def lines(self, url: str):
        async with self._http.stream("GET", url) as response:
            yield response.status_code, response.aiter_lines()

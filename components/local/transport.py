"""The offline engine reached in-process, through an httpx transport.

Why a transport and not a loopback server: the request still goes through the whole shared client (URL,
auth header, envelope, typed errors, SSE decoding) exactly as it would to Cloudflare, but without a port to
pick, a second event loop, or bytes copied through sockets. The same engine is served on a port by
`python -m components.local` for everything outside this process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from .engine import LocalEngine


class _EngineStream(httpx.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk

    async def aclose(self) -> None:
        await self._chunks.aclose()  # the reader went away: the engine stops generating


class LocalTransport(httpx.AsyncBaseTransport):
    def __init__(self, engine: LocalEngine) -> None:
        self.engine = engine

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        answer = await self.engine.handle(
            request.method, request.url.path, dict(request.url.params), dict(request.headers), body
        )
        if answer.stream is not None:
            return httpx.Response(answer.status, headers=answer.headers, stream=_EngineStream(answer.stream))
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body)

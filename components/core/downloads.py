"""Files an API or MCP caller names by link, fetched with a size limit.

MCP clients hand the app a file as a URL, and Gradio fetches it before any tab's code runs: whole, into memory,
with no limit (`max_file_size` covers uploads only). A stranger's link to a 50 GB file would take the Space down.
`fetch` keeps Gradio's protection against links into private networks (safehttpx: the host must resolve to a
public address, checked again at every redirect, and the connection goes to that checked address) and adds a
limit: a declared `Content-Length` over it is refused before the body is read, and a body that grows past it is
cut off as soon as it does, so at most `limit` bytes are ever held or written.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urljoin, urlparse

import httpx
import safehttpx

MAX_REDIRECTS = 5
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Hugging Face's own hosts resolve to internal addresses from inside a Space (split DNS): Gradio allows them as is.
TRUSTED_HOSTS = ["hf.co", "huggingface.co", "*.hf.co", "*.huggingface.co"]


class DownloadRefused(ValueError):
    """The link cannot be fetched here; the message says why in one sentence."""


class _TooLarge(Exception):
    pass


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: int) -> None:
        self.inner, self.limit, self.seen = inner, limit, 0

    async def __aiter__(self):
        async for chunk in self.inner:
            self.seen += len(chunk)
            if self.seen > self.limit:
                raise _TooLarge()
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class _CappedTransport(httpx.AsyncBaseTransport):
    """A transport whose answers may not be longer than `limit` bytes, declared or delivered."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int) -> None:
        self.inner, self.limit = inner, limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await response.aclose()
            raise _TooLarge()
        response.stream = _CappedStream(response.stream, self.limit)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _transport_for(url: str, limit: int) -> httpx.AsyncBaseTransport:
    host = httpx.URL(url).host
    if not host:
        raise DownloadRefused("That link has no host name: send the file itself, or a full https:// link.")
    if safehttpx.matches_domain_whitelist(host, TRUSTED_HOSTS):
        return _CappedTransport(httpx.AsyncHTTPTransport(), limit)
    try:
        address = await safehttpx.async_validate_url(host)
    except ValueError:
        raise DownloadRefused("That link does not lead to a public address on the internet, so it is not "
                              "fetched here: send the file itself.") from None
    return _CappedTransport(safehttpx.AsyncSecureTransport(address), limit)


async def fetch(url: str, folder: str | Path, limit: int) -> str:
    """Download `url` into a fresh file under `folder` (at most `limit` bytes); returns its path.
    Raises DownloadRefused with a sentence for a private address, a failed answer or a file over the limit."""
    megabytes = f"{limit / 2**20:.0f} MB"
    for _ in range(MAX_REDIRECTS + 1):
        try:
            transport = await _transport_for(url, limit)
            async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT) as client:
                async with client.stream("GET", url, follow_redirects=False,
                                         headers={"accept-encoding": "identity"}) as response:
                    if response.has_redirect_location:
                        url = urljoin(str(response.url), response.headers["location"])
                        continue
                    if response.headers.get("content-encoding", "identity") != "identity":  # bytes counted = bytes kept
                        raise DownloadRefused("The link sent the file compressed, which is not fetched here: "
                                              "send the file itself.")
                    if response.status_code != 200:
                        raise DownloadRefused(f"The link answered HTTP {response.status_code}, not the file: "
                                              "check it, or send the file itself.")
                    return await _save(response, url, Path(folder))
        except _TooLarge:
            raise DownloadRefused(f"The file at that link is larger than {megabytes}, the most this demo fetches "
                                  "from a link: send a smaller one.") from None
        except httpx.HTTPError:
            raise DownloadRefused("The file at that link could not be fetched (the connection failed or took too "
                                  "long): check the link, or send the file itself.") from None
    raise DownloadRefused("That link redirects too many times: send the file itself.")


async def _save(response: httpx.Response, url: str, folder: Path) -> str:
    name = Path(urlparse(url).path.rstrip("/")).name
    name = "".join(c for c in name if c.isalnum() or c in "._-")[-100:].lstrip(".") or "file"
    target = folder / secrets.token_hex(16) / name  # a folder per download: two callers never share a file
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with target.open("wb") as handle:
            async for chunk in response.aiter_raw():
                handle.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return str(target)

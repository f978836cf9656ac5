"""Who is calling: one identity per visitor that no header a client writes can change, and a cap on their jobs.

A public Space is called through the page, the API and MCP. The visitor is worked out once, for every HTTP
request, by `VisitorMiddleware` (an ASGI middleware the app installs):

- Behind `DEMO_TRUSTED_PROXY_HOPS` = N proxies of our own, each appends the address it was called from to
  `X-Forwarded-For`; the client can only write entries to the *left* of theirs. So the visitor is the entry N
  from the right. N = 0 (the default off a Space) ignores the header and uses the connection's peer; on a
  Hugging Face Space (`SPACE_ID` set) the default is 1: its one proxy appends the caller's address.
- IPv6 addresses count per /64 (one home or server gets a whole /64 and can rotate inside it freely).
- The identity travels as a signed header (`x-showcase-visitor`, an HMAC with a per-process secret). The
  middleware replaces whatever a client sent, except a correctly signed value on a request from this machine:
  that is Gradio's MCP server calling the app through its loopback client with the MCP caller's headers, so an
  MCP caller is identified exactly like a page visitor, not as 127.0.0.1.
- Before a job joins Gradio's queue (`/queue/join`, `/call/<name>`), the visitor's jobs already running or
  waiting are counted; at `MAX_JOBS_PER_VISITOR` the new one is refused with a sentence (HTTP 429), so one visitor
  cannot fill the queue that everyone shares.

The ledger turns an identity into a keyed hash (components/usage.py), so no address is ever stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import Mapping

from . import settings

log = logging.getLogger("showcase")

HEADER = "x-showcase-visitor"
MAX_JOBS_PER_VISITOR = 2
# A refused join is answered after this pause: a machine retrying in a tight loop then costs the app a few cheap
# refusals a second per connection, instead of as many as it can send (bench/bench_abuse.py).
REFUSAL_DELAY = 0.5
TOO_MANY_JOBS = (f"You already have {MAX_JOBS_PER_VISITOR} requests running or waiting on this demo: "
                 "wait for one to finish, then try again.")
_SECRET = secrets.token_bytes(32)  # signs the header inside this process only; never leaves it
_LOOPBACK = ("127.0.0.1", "::1")


def trusted_proxy_hops(env: Mapping[str, str] | None = None) -> int:
    """DEMO_TRUSTED_PROXY_HOPS, by default 1 on a Hugging Face Space and 0 elsewhere. A typo stops the app: a
    public Space must not silently trust, or ignore, the wrong header."""
    raw = settings.read("DEMO_TRUSTED_PROXY_HOPS", env)
    if not raw:
        return 1 if settings.raw("SPACE_ID", env) else 0
    if not raw.isdigit() or int(raw) > 10:
        raise ValueError(f"DEMO_TRUSTED_PROXY_HOPS must be a whole number of proxies, 0-10; it is {raw!r}.")
    return int(raw)


def client_address(forwarded_for: str | None, peer: str | None, hops: int) -> str:
    """The caller's address: the entry `hops` from the right of X-Forwarded-For (`hops` 0: the peer)."""
    entries = [entry.strip() for entry in (forwarded_for or "").split(",") if entry.strip()]
    if hops <= 0 or not entries:
        address = peer or ""
    elif len(entries) >= hops:
        address = entries[-hops]
    else:  # fewer entries than our proxies: every one was written by a proxy of ours, the leftmost is the client
        address = entries[0]
    return network_of(address)


def network_of(address: str) -> str:
    """An address as the unit a visitor is counted by: IPv4 as is, IPv6 as its /64, anything else verbatim."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return address.strip()[:100]
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _sign(identity: str) -> str:
    mac = hmac.new(_SECRET, identity.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{identity}|{mac}"


def _verified(value: str | None) -> str | None:
    identity, _, mac = (value or "").rpartition("|")
    if identity and hmac.compare_digest(_sign(identity), value or ""):
        return identity
    return None


def identity_of(request) -> str:
    """The visitor behind a Gradio request: the signed identity the middleware attached, else (a request that
    did not pass through it: tests, scripts) the same rule applied to its headers and peer; else its session."""
    if request is None:
        return ""
    headers = {str(k).lower(): v for k, v in dict(getattr(request, "headers", None) or {}).items()}
    if identity := _verified(headers.get(HEADER)):
        return identity
    peer = getattr(getattr(request, "client", None), "host", None)
    address = client_address(headers.get("x-forwarded-for"), peer, trusted_proxy_hops())
    if address:
        return f"address:{address}"
    session = getattr(request, "session_hash", None)
    return f"session:{session}" if session else ""


class VisitorMiddleware:
    """Pure ASGI: attaches the signed visitor header to every HTTP request and caps each visitor's queued jobs."""

    def __init__(self, app, hops: int | None = None) -> None:
        self.app = app
        self.hops = trusted_proxy_hops() if hops is None else hops
        self._joining: dict[str, int] = {}  # joins being admitted, not yet in the queue's lists (one event loop)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != HEADER.encode()]
        sent = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == HEADER.encode()), None)
        peer = (scope.get("client") or ("", 0))[0]
        identity = _verified(sent) if peer in _LOOPBACK else None  # Gradio's own MCP loopback, forwarding
        if identity is None:
            forwarded = ",".join(v.decode("latin-1") for k, v in headers if k.lower() == b"x-forwarded-for")
            identity = f"address:{client_address(forwarded, peer, self.hops)}"
        headers.append((HEADER.encode(), _sign(identity).encode("latin-1")))
        scope = {**scope, "headers": headers}
        if not (scope["method"] == "POST" and _joins_queue(scope["path"])):
            return await self.app(scope, receive, send)
        # Counted and admitted with no await in between, so a burst of joins cannot all pass the check together.
        if jobs_of(scope.get("app"), identity) + self._joining.get(identity, 0) >= MAX_JOBS_PER_VISITOR:
            await asyncio.sleep(REFUSAL_DELAY)  # a client that retries at once is slowed to the pace of this
            return await _refuse(send, TOO_MANY_JOBS)
        self._joining[identity] = self._joining.get(identity, 0) + 1
        try:
            return await self.app(scope, receive, send)
        finally:
            self._joining[identity] -= 1
            if not self._joining[identity]:
                del self._joining[identity]


def _joins_queue(path: str) -> bool:
    return path.endswith("/queue/join") or "/gradio_api/call/" in path


def jobs_of(app, identity: str) -> int:
    """How many of `identity`'s jobs Gradio's queue holds, waiting or running. Reads the queue's own lists (the
    pinned Gradio's; another version without them counts 0 and logs once, rather than refusing everyone)."""
    queue = getattr(getattr(app, "blocks", None), "_queue", None)
    try:
        waiting = [event for line in queue.event_queue_per_concurrency_id.values() for event in line.queue]
        running = [event for batch in queue.active_jobs if batch for event in batch]
    except AttributeError:
        if not getattr(jobs_of, "warned", False):
            jobs_of.warned = True
            log.warning("this Gradio's queue has another shape: the per-visitor job cap is off")
        return 0
    signed = _sign(identity)
    return sum(1 for event in waiting + running
               if getattr(event, "request", None) is not None and event.request.headers.get(HEADER) == signed)


async def _refuse(send, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

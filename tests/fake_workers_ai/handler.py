"""The HTTP side of the fake: routing, auth, body reading, faults, and JSON or SSE answers."""

from __future__ import annotations

import json
import re
import socket
import struct
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import registry, vectorize
from .answers import Answer, header_value
from .embeddings import run_embeddings
from .errors import ApiError, envelope, error_envelope
from .faults import StreamPlan
from .images import run_detr, run_flux, run_llava, run_sdxl
from .media import run_resnet, run_whisper, run_whisper_turbo
from .sse import ChunkedWriter, Stream, encode_event, write_events
from .text import run_text
from .translate import run_m2m100
from .tts import run_aura, run_melotts

RUNNERS = {
    "classic": run_text,
    "chat": run_text,
    "resnet": run_resnet,
    "whisper": run_whisper,
    "whisper-turbo": run_whisper_turbo,
    "embeddings": run_embeddings,
    "flux": run_flux,
    "sdxl": run_sdxl,
    "melotts": run_melotts,
    "aura-2": run_aura,
    "aura-1": run_aura,
    "m2m100": run_m2m100,
    "detr": run_detr,
    "llava": run_llava,
}
_RUN = re.compile(r"/client/v4/accounts/(?P<account>[^/]+)/ai/run/(?P<model>.+)")
_GATEWAY = re.compile(r"/gateway/v1/(?P<account>[^/]+)/(?P<gateway>[^/]+)/workers-ai/(?P<model>.+)")
_CATALOGUE = re.compile(r"/client/v4/accounts/(?P<account>[^/]+)/ai/models/(?P<action>search|schema)")
_VECTORIZE = re.compile(r"/client/v4/accounts/(?P<account>[^/]+)/vectorize/v2/(?P<rest>.*)")
_BEARER = re.compile(r"Bearer \S+")
_MALFORMED_AUTH = [{"code": 6111, "message": "Invalid format for Authorization header"}]


@dataclass
class RecordedRequest:
    """One request as the fake saw it; `model` is set only for /ai/run (direct or through the gateway)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any
    model: str | None
    gateway_id: str | None
    req_id: str = field(default_factory=lambda: str(uuid.uuid4()))  # the cf-ai-req-id answered
    time: float = field(default_factory=time.monotonic)


@dataclass
class Route:
    account: str
    model: str | None = None
    gateway_id: str | None = None
    action: str | None = None  # "search" or "schema" for the catalogue
    vectorize: str | None = None  # the path after /vectorize/v2/ (tests/fake_workers_ai/vectorize.py)


def match_route(method: str, path: str) -> Route | None:
    """The model name is the rest of the path, slashes included, exactly as sent (no unquoting)."""
    if match := _VECTORIZE.fullmatch(path):  # every method: vectorize.serve routes within
        return Route(match["account"], vectorize=match["rest"])
    if method == "POST":
        for pattern in (_RUN, _GATEWAY):
            if match := pattern.fullmatch(path):
                return Route(match["account"], model=match["model"], gateway_id=match.groupdict().get("gateway"))
    elif method == "GET" and (match := _CATALOGUE.fullmatch(path)):
        return Route(match["account"], action=match["action"])
    return None


def _parse_json(body: bytes):
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small writes leave at once, so stream chunking is visible to clients
    timeout = 30  # idle keep-alive connections end by themselves
    server_version = "fake-workers-ai"

    def setup(self):
        super().setup()
        self.fake = self.server.fake
        self.fake._track(self.connection)

    def finish(self):
        self.fake._untrack(self.connection)
        super().finish()

    def handle(self):
        try:
            super().handle()
        except ConnectionError:  # the client dropped an idle keep-alive connection: nothing to answer
            self.close_connection = True

    def log_message(self, format, *args):
        if self.fake.log:
            super().log_message(format, *args)

    def do_POST(self):
        self.fake._enter()
        try:
            self._serve()
        except (OSError, ValueError):  # the client went away, or sent broken framing: drop the connection
            self.close_connection = True
        finally:
            self.fake._leave()

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST  # routing, not the method, decides what is served

    def _serve(self):
        url = urlsplit(self.path)
        self.route = match_route(self.command, url.path)
        limit = self.fake.max_body_bytes
        if self.route and self.route.vectorize is not None:
            limit = max(limit, vectorize.MAX_BODY_BYTES)  # a Vectorize write may be 100 MB
        body, size = self._read_body(limit)
        req = RecordedRequest(
            self.command, url.path, dict(parse_qsl(url.query)), {k.lower(): v for k, v in self.headers.items()},
            body, _parse_json(body), self.route and self.route.model, self.route and self.route.gateway_id)
        self.req_id = req.req_id
        self.fake._record(req)
        try:
            if size > limit:
                raise ApiError(413, 3006, "Request is too large")
            if self.route is None:
                raise ApiError(404, 7000, "No route for that URI")
            self._authorize(url.path)
            streaming = isinstance(req.json, dict) and req.json.get("stream") is True
            operation = None if self.route.vectorize is None else vectorize.operation_name(self.command,
                                                                                         self.route.vectorize)
            fault = self.fake._take_fault(self.route.model, streaming, operation)
            if fault and fault.kind == "hang":
                if not self.fake._wait(fault.seconds):
                    self.close_connection = True
                    return
            elif fault and not fault.streams_only:
                self._send_fault(fault)
                return
            self._answer(req, fault if fault and fault.streams_only else None)
        except ApiError as error:
            self._send_json(error.status, error.envelope(), error.headers)

    def _authorize(self, path: str) -> None:
        """Gateway token, then the API token (missing, malformed, wrong), then the account id."""
        fake, route = self.fake, self.route
        if route.gateway_id is not None and fake.gateway_token is not None:
            if self.headers.get("cf-aig-authorization") != f"Bearer {fake.gateway_token}":
                raise ApiError(401, 2009, "Unauthorized")
        value = self.headers.get("Authorization")
        if not value:
            raise ApiError(401, 10000, "Authentication error")
        if not _BEARER.fullmatch(value):
            raise ApiError(400, 6003, "Invalid request headers", error_chain=_MALFORMED_AUTH)
        if value != f"Bearer {fake.token}":
            raise ApiError(401, 10000, "Authentication error")
        if route.account != fake.account_id:
            raise ApiError(404, 7003, f"Could not route to {path}, perhaps your object identifier is invalid?")

    def _answer(self, req: RecordedRequest, stream_fault) -> None:
        if self.route.vectorize is not None:
            self._send_json(200, envelope(vectorize.serve(self.fake, req, self.command, self.route.vectorize)))
            return
        if self.route.action == "search":
            items, info = registry.search(req.query, self.fake.catalogue_page_cap)
            self._send_json(200, {**envelope(items), "result_info": info})
            return
        if self.route.action == "schema":
            self._send_json(200, envelope(registry.schema(req.query.get("model"))))
            return
        info = registry.resolve(self.route.model)
        result = RUNNERS[info.kind](self.fake, req, info)
        if isinstance(result, Stream):
            self._send_stream(result, stream_fault)
        elif isinstance(result, Answer):
            self._send_answer(result)
        else:
            self._send_json(200, envelope(result))

    def _send_answer(self, answer: Answer) -> None:
        """A media model's answer: the envelope, or the raw body; its cost in `cf-ai-neurons` when known."""
        headers = {}
        if answer.neurons is not None and self.fake.media_neurons and self.fake.neurons_header is None:
            headers["cf-ai-neurons"] = header_value(answer.neurons)
        if answer.data is None:
            self._send_json(200, envelope(answer.result), headers)
        else:
            self._send(200, answer.data, answer.content_type, headers)

    def _read_body(self, limit: int) -> tuple[bytes, int]:
        """Read the whole body, so the connection stays usable, but keep nothing beyond `limit` bytes."""
        kept, size = [], 0
        for piece in self._body_pieces():
            size += len(piece)
            if size <= limit:
                kept.append(piece)
        return (b"".join(kept) if size <= limit else b""), size

    def _body_pieces(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while (length := int(self.rfile.readline(1024).split(b";")[0], 16)) > 0:
                yield from self._read_exact(length)
                self.rfile.readline(1024)  # the CRLF closing each chunk
            while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                pass
        else:
            yield from self._read_exact(int(self.headers.get("Content-Length") or 0))

    def _read_exact(self, length: int):
        while length > 0:
            piece = self.rfile.read(min(length, 1 << 16))
            if not piece:
                raise ConnectionError("request body ended early")
            length -= len(piece)
            yield piece

    def _send_fault(self, fault) -> None:
        if fault.kind == "reset_connection":
            self._reset()
        elif fault.kind == "raw" and fault.chunked:
            self._send_chunked(fault.status, fault.body, fault.content_type)
        elif fault.kind == "raw":
            self._send(fault.status, fault.body, fault.content_type)
        else:
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            self._send_json(fault.status, error_envelope(fault.code, fault.message), headers)

    def _reset(self) -> None:
        """Abort with a TCP reset: linger 0, then really close (rfile holds a reference to the socket)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        self.close_connection = True

    def _headers(self, extra=None) -> None:
        self.send_header("cf-ai-req-id", self.req_id)
        if self.route and self.route.gateway_id is not None:
            self.send_header("cf-aig-cache-status", "MISS")
        if self.route and self.route.model and self.fake.neurons_header is not None:
            self.send_header("cf-ai-neurons", self.fake.neurons_header)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self._headers(headers)
        self.wfile.write(body)

    def _send_chunked(self, status: int, body: bytes, content_type: str) -> None:
        """A body without Content-Length, in 64 kB chunks: the client only learns its size by reading it."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self._headers()
        writer = ChunkedWriter(self.wfile)
        for start in range(0, len(body), 1 << 16):
            writer.chunk(body[start:start + (1 << 16)])
        writer.end()

    def _send_json(self, status: int, payload, headers=None) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json", headers)

    def _send_stream(self, stream: Stream, fault) -> None:
        """Raw SSE in a chunked body; a cut stream closes the socket before the terminating chunk."""
        fake = self.fake
        datas = [json.dumps(event, ensure_ascii=False, separators=(",", ":")) for event in stream.events]
        plan = fault.shape_stream(datas) if fault else StreamPlan(datas)
        events = [encode_event(data, fake.line_ending) for data in plan.datas]
        if plan.send_done:
            events.append(encode_event("[DONE]", fake.line_ending))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._headers()
        writer = ChunkedWriter(self.wfile)
        finished = write_events(writer, events, chunking=fake.chunking, first_delay=fake.first_token_delay,
                                delay=fake.token_delay, wait=fake._wait)
        if finished and plan.clean_end:
            writer.end()
        else:
            self.close_connection = True

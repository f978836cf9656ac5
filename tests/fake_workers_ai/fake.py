"""`FakeWorkersAI`: the server's lifecycle, its settings, recorded requests and queued faults."""

from __future__ import annotations

import socket
import threading
from http.server import ThreadingHTTPServer

from .faults import Fault
from .handler import Handler, RecordedRequest
from .sse import CHUNKINGS, LINE_ENDINGS
from .text import DEFAULT_TOKENS
from .vectorize import ACCESS as VECTORIZE_ACCESS
from .vectorize import VectorizeStore

DEFAULT_ACCOUNT_ID = "0123456789abcdef0123456789ab1a2b"
DEFAULT_TOKEN = "test-token-abc"
CATALOGUE = "catalogue"  # the `model=` key that aims faults at the catalogue instead of /ai/run
VECTORIZE = "vectorize"  # ... at Vectorize; "vectorize:query" at one of its operations (vectorize.OPERATIONS)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hanging handler never keeps the process (or close()) waiting
    request_queue_size = 256  # the default backlog of 5 refuses connections when 50 clients arrive at once

    def __init__(self, address, fake: FakeWorkersAI):
        self.fake = fake
        super().__init__(address, Handler)


class FakeWorkersAI:
    """A real HTTP server on 127.0.0.1 that speaks the Workers AI REST contract.

    Settings (reset by `reset()`): stream_tokens, token_delay, first_token_delay, chunking,
    line_ending, transcripts, max_body_bytes, catalogue_page_cap, gateway_token,
    neurons_header (when set, model runs answer with `cf-ai-neurons: <value>`, as some 2026 responses do),
    media_neurons (on by default: the media models answer with the neurons they cost, answers.py; off, no header),
    and Vectorize's: vectorize_delay, vectorize_access, vectorize_top_k_cap and the store, vectorize (emptied);
    tests/fake_workers_ai/vectorize.py says what each does.
    """

    def __init__(self, account_id: str = DEFAULT_ACCOUNT_ID, token: str = DEFAULT_TOKEN, *, port: int = 0,
                 log: bool = False):
        self.account_id = account_id
        self.token = token
        self.log = log
        self.requests: list[RecordedRequest] = []
        self.in_flight = self.max_in_flight = 0
        self._faults: list[tuple[str | None, Fault]] = []
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._set_defaults()
        self._server = _Server(("127.0.0.1", port), self)
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/client/v4"
        self.gateway_url = f"http://127.0.0.1:{self.port}/gateway/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-workers-ai:{self.port}", daemon=True)
        self._thread.start()

    def _set_defaults(self) -> None:
        self.stream_tokens = list(DEFAULT_TOKENS)
        self.token_delay = 0.0
        self.first_token_delay = 0.0
        self.chunking = "event"
        self.line_ending = "\n"
        self.transcripts: dict[str, str] = {}
        self.max_body_bytes = 8 * 1024 * 1024
        self.catalogue_page_cap = 3
        self.gateway_token: str | None = None
        self.neurons_header: str | None = None
        self.media_neurons = True
        self.vectorize = VectorizeStore()
        self.vectorize_delay = 0.05  # seconds before a Vectorize write is searchable
        self.vectorize_access = "edit"  # or "read", "none", "not_entitled"
        self.vectorize_top_k_cap = 20  # most matches with values or all metadata (the contract's safe value)

    @property
    def chunking(self) -> str:
        return self._chunking

    @chunking.setter
    def chunking(self, value: str) -> None:
        if value not in CHUNKINGS:
            raise ValueError(f"chunking must be one of {CHUNKINGS}")
        self._chunking = value

    @property
    def line_ending(self) -> str:
        return self._line_ending

    @line_ending.setter
    def line_ending(self, value: str) -> None:
        if value not in LINE_ENDINGS:
            raise ValueError(f"line_ending must be one of {LINE_ENDINGS!r}")
        self._line_ending = value

    @property
    def vectorize_access(self) -> str:
        return self._vectorize_access

    @vectorize_access.setter
    def vectorize_access(self, value: str) -> None:
        if value not in VECTORIZE_ACCESS:
            raise ValueError(f"vectorize_access must be one of {VECTORIZE_ACCESS}")
        self._vectorize_access = value

    def count(self, model: str | None = None) -> int:
        """How many /ai/run requests arrived (for one model, if given)."""
        with self._lock:
            return sum(1 for r in self.requests if r.model is not None and model in (None, r.model))

    def fail(self, *faults: Fault, model: str | None = None) -> None:
        """Queue faults; each later matching request consumes one, in order. `model=None` matches
        any /ai/run request, `model="catalogue"` the catalogue routes, `model="vectorize"` any Vectorize
        request and `model="vectorize:query"` (or another operation) one kind; stream faults wait for a
        request with `"stream": true`."""
        if not all(isinstance(f, Fault) for f in faults):
            raise TypeError("fail() takes Fault instances")
        with self._lock:
            self._faults.extend((model, f) for f in faults)

    def reset(self) -> None:
        """Forget requests and queued faults, and restore every setting."""
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self.max_in_flight = self.in_flight
            self._set_defaults()

    def close(self) -> None:
        """Stop serving and wake every handler; none is waited for longer than about a second."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=1)

    def __enter__(self) -> FakeWorkersAI:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Used by the request handler threads.

    def _enter(self) -> None:
        """A request starts being served: `max_in_flight` is how many were ever served at once."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _take_fault(self, model: str | None, streaming: bool, vectorize: str | None = None) -> Fault | None:
        """Pop the first queued fault aimed at this request (`model` None means the catalogue, unless
        `vectorize` names the Vectorize operation it is)."""
        targets = {VECTORIZE, f"{VECTORIZE}:{vectorize}"} if vectorize else {model or CATALOGUE}
        with self._lock:
            for index, (wanted, fault) in enumerate(self._faults):
                aimed = wanted in targets or (wanted is None and model is not None)
                if aimed and (streaming or not fault.streams_only):
                    del self._faults[index]
                    return fault
        return None

    def _wait(self, seconds: float) -> bool:
        """Sleep, but wake when the server closes; True if the handler should carry on."""
        return seconds <= 0 or not self._closing.wait(seconds)

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

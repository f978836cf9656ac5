"""`FakeAnthropic`: checks what Anthropic checks (x-api-key, anthropic-version, the body), answers with SSE events
as the Messages API streams them, and misbehaves on request (queued `AnthropicFault`s)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_TOKENS = ("Escalated", " answer", " from", " Claude", ":", " step", " one", ",", " step", " two", ".")


@dataclass(frozen=True)
class AnthropicFault:
    """One queued misbehaviour; each request consumes the first queued fault."""

    kind: str  # "error" (HTTP error body), "stream_error" (an `error` event mid-stream), "cut" (socket cut)
    status: int = 200
    error_type: str = ""
    message: str = ""
    retry_after: str | None = None
    after_tokens: int = 0

    @classmethod
    def error(cls, status: int, error_type: str, message: str, retry_after: str | None = None) -> AnthropicFault:
        return cls("error", status, error_type, message, retry_after)

    @classmethod
    def stream_error(cls, after_tokens: int = 2, error_type: str = "overloaded_error",
                     message: str = "Overloaded") -> AnthropicFault:
        return cls("stream_error", 200, error_type, message, after_tokens=after_tokens)

    @classmethod
    def cut(cls, after_tokens: int = 2) -> AnthropicFault:
        return cls("cut", after_tokens=after_tokens)


@dataclass
class Recorded:
    headers: dict[str, str]
    json: dict = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args) -> None:  # quiet
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client went away (it stops reading at message_stop, or after an error event)

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        fake._record(Recorded({k.lower(): v for k, v in self.headers.items()}, body))
        if self.path != "/v1/messages":
            return self._error(404, "not_found_error", f"Not found: {self.path}")
        if self.headers.get("x-api-key") != fake.api_key:
            return self._error(401, "authentication_error", "invalid x-api-key")
        if self.headers.get("anthropic-version") != "2023-06-01":
            return self._error(400, "invalid_request_error", "anthropic-version header is required")
        problem = _invalid(body)
        if problem:
            return self._error(400, "invalid_request_error", problem)
        fault = fake._take_fault()
        if fault and fault.kind == "error":
            return self._error(fault.status, fault.error_type, fault.message, fault.retry_after)
        tokens = list(fake.tokens)[: int(body["max_tokens"])]
        input_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"]) + len(
            str(body.get("system", "")).split())
        if body.get("stream") is not True:
            return self._json(200, _message(body["model"], "".join(tokens), input_tokens, len(tokens)))
        self._stream(body["model"], tokens, input_tokens, fault)

    # ── answers ─────────────────────────────────────────────────────────────────────────────

    def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:12]}")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, error_type: str, message: str, retry_after: str | None = None) -> None:
        headers = {"retry-after": retry_after} if retry_after is not None else {}
        self._json(status, {"type": "error", "error": {"type": error_type, "message": message}}, headers)

    def _stream(self, model: str, tokens: list[str], input_tokens: int, fault: AnthropicFault | None) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:12]}")
        self.end_headers()
        start = _message(model, "", input_tokens, 1)
        start["content"], start["stop_reason"] = [], None
        self._event("message_start", {"type": "message_start", "message": start})
        self._event("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "text", "text": ""}})
        self._event("ping", {"type": "ping"})
        for index, token in enumerate(tokens):
            if fault and index == fault.after_tokens:
                if fault.kind == "cut":
                    self.wfile.flush()
                    self.close_connection = True
                    return  # no terminating chunk: the client sees the connection drop
                self._event("error", {"type": "error", "error": {"type": fault.error_type, "message": fault.message}})
                return self._end()
            time.sleep(self.server.fake.token_delay)
            self._event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta", "text": token}})
        self._event("content_block_stop", {"type": "content_block_stop", "index": 0})
        self._event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                                          "stop_sequence": None},
                                      "usage": {"output_tokens": len(tokens)}})
        self._event("message_stop", {"type": "message_stop"})
        self._end()

    def _event(self, name: str, payload: dict) -> None:
        data = f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _invalid(body: dict) -> str:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    if messages[0].get("role") != "user":
        return "messages: first message must use the \"user\" role"
    for a, b in zip(messages, messages[1:]):
        if a.get("role") == b.get("role"):
            return "messages: roles must alternate between \"user\" and \"assistant\""
    if any(m.get("role") not in ("user", "assistant") for m in messages):
        return "messages: Unexpected role; use the top-level system parameter for system prompts"
    temperature = body.get("temperature", 1.0)
    if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 1:
        return "temperature: must be between 0 and 1"
    return ""


def _message(model: str, text: str, input_tokens: int, output_tokens: int) -> dict:
    return {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeAnthropic):
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class FakeAnthropic:
    """A real HTTP server on 127.0.0.1 speaking the Messages API. `tokens`, `token_delay` and the fault queue
    are reset by `reset()`; `requests` records what arrived (headers lower-cased, the JSON body)."""

    def __init__(self, api_key: str = "sk-ant-test-key") -> None:
        self.api_key = api_key
        self.requests: list[Recorded] = []
        self._faults: list[AnthropicFault] = []
        self._lock = threading.Lock()
        self.reset()
        self._server = _Server(self)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-anthropic", daemon=True)
        self._thread.start()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self.tokens = list(DEFAULT_TOKENS)
            self.token_delay = 0.0

    def fail(self, *faults: AnthropicFault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def _take_fault(self) -> AnthropicFault | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=1)

    def __enter__(self) -> FakeAnthropic:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

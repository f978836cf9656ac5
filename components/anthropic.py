"""A small streaming client for Anthropic's Messages API, on httpx: the escalation target when
ANTHROPIC_API_KEY is set.

    client = Anthropic(AnthropicSettings.from_env())
    async for delta in client.stream(messages, system="…", max_tokens=512, temperature=0.6): ...

- `POST {ANTHROPIC_BASE_URL}/v1/messages` with `x-api-key`, `anthropic-version: 2023-06-01` and `"stream": true`.
  ANTHROPIC_BASE_URL (default https://api.anthropic.com) lets tests point it at a fake on loopback;
  ANTHROPIC_MODEL picks the model (default claude-sonnet-4-5).
- The stream is server-sent events: `message_start` (input tokens), `content_block_delta` (text),
  `message_delta` (output tokens, stop reason), `message_stop` (the end), `ping`, and `error` (e.g. overloaded in
  the middle of an answer). Decoded with the app's spec-correct SSEDecoder.
- HTTP errors carry `{"type":"error","error":{"type":…,"message":…}}`. 408, 409, 429, 5xx and 529 (overloaded)
  are retried twice with jittered backoff, honouring `retry-after` up to 10 s; the rest fail at once.
- Failures are `AnthropicError`s whose `user_message` is one sentence safe to show. The key lives only in the
  settings (kept out of `repr`), goes only into the request header, and is scrubbed from every message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .workers_ai import SSEDecoder, retry_delay

log = logging.getLogger("routing")

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_MODEL = "claude-sonnet-4-5"
API_VERSION = "2023-06-01"
TIMEOUT = httpx.Timeout(60.0, connect=5.0)
MAX_RETRIES = 2
MAX_RETRY_AFTER = 10.0  # an escalation that must wait longer falls back to the edge answer instead
RETRYABLE = {408, 409, 429, 529}
_PRICES = json.loads(Path(__file__).with_name("anthropic_prices.json").read_text())["models"]

_MESSAGES = {
    "authentication_error": "The Anthropic API key was rejected: check ANTHROPIC_API_KEY.",
    "permission_error": "The Anthropic API key is not allowed to use this model or feature.",
    "not_found_error": "Anthropic does not know the model {model}: check ANTHROPIC_MODEL.",
    "request_too_large": "The conversation is too large for Anthropic's API: start a new one.",
    "rate_limit_error": "Anthropic's rate limit for this key was reached: try again in a minute.",
    "overloaded_error": "Anthropic's API is overloaded right now: try again shortly.",
    "api_error": "Anthropic's API had an internal error: try again shortly.",
    "timeout_error": "Anthropic's API took too long to answer: try again.",
}


@dataclass(frozen=True)
class AnthropicSettings:
    api_key: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AnthropicSettings:
        env = os.environ if env is None else env
        return cls(
            api_key=(env.get("ANTHROPIC_API_KEY") or "").strip() or None,
            base_url=((env.get("ANTHROPIC_BASE_URL") or "").strip() or DEFAULT_BASE_URL).rstrip("/"),
            model=(env.get("ANTHROPIC_MODEL") or "").strip() or DEFAULT_MODEL,
        )

    @property
    def configured(self) -> bool:
        return bool(self.api_key)


class AnthropicError(Exception):
    """An Anthropic call failed; `user_message` is safe to show to anyone."""

    def __init__(self, user_message: str, *, status: int | None = None, error_type: str | None = None,
                 request_id: str | None = None, retry_after: float | None = None) -> None:
        self.user_message = user_message
        self.status, self.error_type, self.request_id, self.retry_after = status, error_type, request_id, retry_after
        super().__init__(user_message)

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in RETRYABLE or self.status >= 500


@dataclass
class AnthropicDelta:
    """A piece of the answer; `input_tokens`/`output_tokens` when the stream reports them."""

    text: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    stop_reason: str | None = None


def price_usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """List price of a call in dollars; None for a model without a known price. Dated model ids
    (claude-sonnet-4-5-20250929) take the price of their alias."""
    matches = [name for name in _PRICES if model == name or model.startswith(name + "-")]
    if not matches:
        return None
    rates = _PRICES[max(matches, key=len)]
    return (input_tokens * rates["usd_per_m_input_tokens"] + output_tokens * rates["usd_per_m_output_tokens"]) / 1e6


def to_anthropic(messages: list[dict]) -> tuple[str, list[dict]]:
    """Workers AI style messages → (system, messages): system turns go to `system`, turns alternate starting
    with the user (consecutive turns of one role are joined), as the Messages API requires."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system" and m["content"].strip())
    turns: list[dict] = []
    for message in messages:
        if message["role"] not in ("user", "assistant") or not message["content"].strip():
            continue
        if turns and turns[-1]["role"] == message["role"]:
            turns[-1]["content"] += "\n\n" + message["content"]
        else:
            turns.append({"role": message["role"], "content": message["content"]})
    while turns and turns[0]["role"] != "user":
        turns.pop(0)
    return system, turns


class Anthropic:
    """Streams Messages API answers; the transport is a parameter (tests). Escalations are the rare case, so
    each answer opens its own short-lived httpx client instead of keeping a pool per event loop."""

    def __init__(self, settings: AnthropicSettings | None = None, *, transport: httpx.AsyncBaseTransport | None = None,
                 max_retries: int = MAX_RETRIES, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.settings = settings if settings is not None else AnthropicSettings.from_env()
        self.max_retries = max_retries
        self._transport = transport
        self._sleep = sleep

    async def stream(self, messages: list[dict], *, max_tokens: int = 512, temperature: float = 0.6,
                     model: str | None = None) -> AsyncIterator[AnthropicDelta]:
        """Stream the answer to Workers AI style `messages` (a system turn included, if any)."""
        if not self.settings.configured:
            raise AnthropicError("No Anthropic API key is configured: set ANTHROPIC_API_KEY to escalate to Claude.")
        system, turns = to_anthropic(messages)
        body: dict[str, Any] = {"model": model or self.settings.model, "max_tokens": int(max_tokens),
                                "messages": turns, "stream": True,
                                "temperature": min(1.0, max(0.0, float(temperature)))}  # Anthropic allows 0–1
        if system:
            body["system"] = system
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, transport=self._transport) as http:
                response = await self._open(http, body)
                try:
                    async for delta in self._events(response, body["model"]):
                        yield delta
                finally:
                    await response.aclose()
        except AnthropicError as exc:
            raise self._scrub(exc) from None

    # ── plumbing ────────────────────────────────────────────────────────────────────────────

    async def _open(self, http: httpx.AsyncClient, body: dict) -> httpx.Response:
        """Send, retrying what is worth retrying; returns a 200 streaming response."""
        headers = {"x-api-key": self.settings.api_key or "", "anthropic-version": API_VERSION,
                   "content-type": "application/json", "accept": "text/event-stream"}
        attempt = 0
        while True:
            try:
                request = http.build_request("POST", f"{self.settings.base_url}/v1/messages", headers=headers, json=body)
                response = await http.send(request, stream=True)
                if response.status_code < 400:
                    return response
                await response.aread()
                await response.aclose()
                error = self._http_error(response, body["model"])
            except httpx.TimeoutException:
                error = AnthropicError(_MESSAGES["timeout_error"], error_type="timeout_error")
            except httpx.TransportError as exc:
                error = AnthropicError(f"Could not reach Anthropic's API ({type(exc).__name__}): check the network.")
            delay = self._retry_delay(error, attempt)
            if delay is None:
                raise error
            log.warning("retrying Anthropic in %.2f s after %s", delay, error.error_type or error.status)
            await self._sleep(delay)
            attempt += 1

    def _retry_delay(self, error: AnthropicError, attempt: int) -> float | None:
        return retry_delay(error.retryable, error.retry_after, attempt, self.max_retries, MAX_RETRY_AFTER)

    def _http_error(self, response: httpx.Response, model: str) -> AnthropicError:
        error_type, message = _error_body(response.text)
        status = response.status_code
        if error_type is None:
            error_type = {401: "authentication_error", 403: "permission_error", 404: "not_found_error",
                          413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}.get(
                status, "api_error" if status >= 500 else "invalid_request_error")
        retry_after = None
        try:
            retry_after = max(0.0, float(response.headers.get("retry-after", "")))
        except ValueError:
            pass
        return AnthropicError(_sentence(error_type, message, model), status=status, error_type=error_type,
                              request_id=response.headers.get("request-id"), retry_after=retry_after)

    async def _events(self, response: httpx.Response, model: str) -> AsyncIterator[AnthropicDelta]:
        decoder = SSEDecoder()
        request_id = response.headers.get("request-id")
        try:
            async for chunk in response.aiter_bytes():
                for event in decoder.feed(chunk):
                    try:
                        data = json.loads(event.data)
                    except json.JSONDecodeError:
                        raise AnthropicError("Anthropic sent a malformed stream event: try again.",
                                             request_id=request_id) from None
                    kind = data.get("type", event.event) if isinstance(data, dict) else event.event
                    if kind == "message_start":
                        usage = (data.get("message") or {}).get("usage") or {}
                        yield AnthropicDelta(input_tokens=usage.get("input_tokens"),
                                             output_tokens=usage.get("output_tokens"))
                    elif kind == "content_block_delta":
                        delta = data.get("delta") or {}
                        if delta.get("type") == "text_delta" and delta.get("text"):
                            yield AnthropicDelta(text=delta["text"])
                    elif kind == "message_delta":
                        usage = data.get("usage") or {}
                        yield AnthropicDelta(output_tokens=usage.get("output_tokens"),
                                             stop_reason=(data.get("delta") or {}).get("stop_reason"))
                    elif kind == "message_stop":
                        return
                    elif kind == "error":
                        error = data.get("error") or {}
                        error_type = error.get("type") or "api_error"
                        raise AnthropicError(_sentence(error_type, str(error.get("message", "")), model),
                                             status=529 if error_type == "overloaded_error" else None,
                                             error_type=error_type, request_id=request_id)
        except httpx.TimeoutException:
            raise AnthropicError("Anthropic's answer stopped arriving (timed out mid-stream).",
                                 error_type="timeout_error", request_id=request_id) from None
        except httpx.TransportError:
            raise AnthropicError("The connection to Anthropic dropped in the middle of the answer.",
                                 request_id=request_id) from None
        raise AnthropicError("Anthropic's answer stream ended before it was complete.", request_id=request_id)

    def _scrub(self, error: AnthropicError) -> AnthropicError:
        """Belt and braces: the key never survives into a message, whatever upstream echoed."""
        if self.settings.api_key:
            error.user_message = error.user_message.replace(self.settings.api_key, "[redacted]")
            error.args = (error.user_message,)
        return error


def _error_body(text: str) -> tuple[str | None, str]:
    try:
        body = json.loads(text)
    except ValueError:
        return None, ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, ""
    return (str(error["type"]) if error.get("type") else None), str(error.get("message", ""))[:300]


def _sentence(error_type: str, message: str, model: str) -> str:
    if error_type in _MESSAGES:
        return _MESSAGES[error_type].format(model=model)
    detail = f": {message}" if message else ""
    return f"Anthropic refused the request{detail}."

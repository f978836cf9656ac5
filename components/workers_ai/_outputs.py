"""Reading model results whatever shape they come in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelOutput:
    """What one `/ai/run` call answered (`WorkersAI.invoke`).

    - a JSON envelope: `result` is its `result` (any JSON value), `data` is None;
    - a raw body (a PNG, an MP3: image/*, audio/*, video/*, application/octet-stream, or a stream's
      text/event-stream): `data` is its bytes and `result` None.
    `content_type` is the answer's media type, without parameters ("application/json", "image/png"; a body sent
    as application/octet-stream or with none is named by its first bytes when they are a known format);
    `neurons` is the call's cost from the `cf-ai-neurons` header, None when the answer did not say.
    """

    result: Any = None
    data: bytes | None = None
    content_type: str | None = None
    neurons: float | None = None


# Leading bytes of the formats a model answers with, for bodies labelled only application/octet-stream.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"ID3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
)


def sniff(data: bytes, declared: str = "") -> str:
    """`declared` (without parameters) unless it says nothing specific; then the format the bytes start with."""
    declared = declared.split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return declared
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] in (b"WAVE", b"WEBP"):
        return "audio/wav" if data[8:12] == b"WAVE" else "image/webp"
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0 and data[1] & 0x06:  # an MPEG audio frame
        return "audio/mpeg"
    return declared or "application/octet-stream"


def generated_text(result: Any) -> str:
    """Text of a text-generation result: classic `{"response"}` or chat-completions `{"choices"}`."""
    if not isinstance(result, dict):
        return result if isinstance(result, str) else ""
    choices = result.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message") or {}
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            return message["content"]
    response = result.get("response")
    if isinstance(response, str):
        return response
    if response is not None:  # JSON mode answers an object
        return json.dumps(response, ensure_ascii=False, indent=2)
    return ""


def usage_of(result: Any) -> dict:
    usage = result.get("usage") if isinstance(result, dict) else None
    return usage if isinstance(usage, dict) else {}

"""Reading model results whatever shape they come in."""

from __future__ import annotations

import json
from typing import Any


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

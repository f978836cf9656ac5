"""What a model id looks like, checked before one goes anywhere near a URL.

A model id is the tail of `…/ai/run/{model}`, sent unencoded as Cloudflare expects, so an id such as
`../../../../user/tokens/verify` (or one with `?`, `#` or `%2e`) would carry the owner's token to another
Cloudflare endpoint. Only ids of the catalogue's shape pass:

    @cf/<author>/<name>    @hf/<author>/<name>    @local/<name>

each segment ASCII letters, digits and `. - _ :`, never `.` alone, no `..` anywhere, at most 128 characters.
"""

from __future__ import annotations

import re

from ._errors import InvalidModelIdError

MAX_LENGTH = 128
_SEGMENT = r"(?!\.(?:/|$))[A-Za-z0-9._:-]+"  # `.` alone is the only all-dots segment once `..` is banned
PATTERN = rf"^(?!.*\.\.)@(?:(?:cf|hf)/{_SEGMENT}/{_SEGMENT}|local/{_SEGMENT})$"  # also a JSON-schema pattern
_MODEL_ID = re.compile(PATTERN)
EXAMPLE = "@cf/meta/llama-3.1-8b-instruct-fast"


def is_model_id(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_LENGTH and _MODEL_ID.fullmatch(value) is not None


def check_model_id(value: object) -> str:
    """`value` itself when it is a model id; otherwise InvalidModelIdError, which quotes a short, escaped copy."""
    if is_model_id(value):
        return value
    raise InvalidModelIdError(
        f"{_quoted(value)} is not a model id: use one such as {EXAMPLE} (@cf/ or @hf/ then author/name, "
        "or @local/name; letters, digits and . - _ : only)."
    )


def _quoted(value: object) -> str:
    """The first 40 characters, every control or non-ASCII character escaped: safe in a message or a log line."""
    if not isinstance(value, str):
        return "That"
    return ascii(value[:40]) + ("…" if len(value) > 40 else "")

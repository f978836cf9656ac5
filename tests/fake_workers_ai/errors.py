"""The Workers AI envelope, for successes and errors, and the input checks every model shares.

Every behaviour reports a failure by raising `ApiError`; the HTTP layer turns it into the
`{"errors": [...], "success": false, "result": {}, "messages": []}` envelope with the right status.
"""

from __future__ import annotations


def envelope(result) -> dict:
    """Wrap a successful result the way the REST API does."""
    return {"result": result, "success": True, "errors": [], "messages": []}


def error_envelope(code: int, message: str, error_chain: list[dict] | None = None) -> dict:
    """An error envelope; `error_chain` is only present where Cloudflare nests causes (e.g. 6003/6111)."""
    error: dict = {"code": code, "message": message}
    if error_chain:
        error["error_chain"] = error_chain
    return {"errors": [error], "success": False, "result": {}, "messages": []}


class ApiError(Exception):
    """A contract error: HTTP status, Cloudflare code and message, plus optional extra headers."""

    def __init__(self, status: int, code: int, message: str, *, error_chain=None, headers=None):
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.error_chain = error_chain
        self.headers = dict(headers or {})

    def envelope(self) -> dict:
        return error_envelope(self.code, self.message, self.error_chain)


def bad_input(detail: str) -> ApiError:
    """400/5006, worded like the runtime's schema validator ("AiError: Bad input: Error: ...")."""
    return ApiError(400, 5006, f"AiError: Bad input: Error: {detail}")


def request_object(req) -> dict:
    """The parsed body of a JSON-only model, or the 5006 a non-object body gets."""
    if not isinstance(req.json, dict):
        raise bad_input("the request body must be a JSON object")
    return req.json


def json_type(value) -> str:
    """JSON Schema's name for a value's type, as quoted in "Type mismatch" messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "unknown")

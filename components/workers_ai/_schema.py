"""One model's input and output JSON Schemas (`GET …/ai/models/schema?model=…`), cached per model.

    schema = await client.schema("@cf/black-forest-labs/flux-1-schnell")   # ModelSchema, or None
    schema.input["properties"]["prompt"]["maxLength"]                      # 2048

Some models publish no schema. Cloudflare's answer for that is not documented; the fake server (and so the tests)
answer `HTTP 404 {"code": 5020, "message": "AiError: No schema found for model …"}`, and `schema()` returns None
for that code, or for any 404 whose message speaks of a schema. An unknown model (5007), a deprecated one (5028)
and every other failure raise the client's typed errors.

`Schemas` keeps each answer for `ttl` seconds (None included: a model without a schema stays without one), fetches
each model once however many callers ask at the same moment, and keeps a failure only `retry_after_failure`
seconds, so a storm of visitors does not hammer a failing API and a recovered one is asked again soon.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from ._errors import ModelNotFoundError, ProtocolError, WorkersAIError
from ._model_id import check_model_id

NO_SCHEMA_CODE = 5020
MAX_CACHED = 1_000  # models whose answer is kept (the catalogue has a few hundred)


@dataclass(frozen=True)
class ModelSchema:
    """A model's JSON Schemas: `input` (what a body may hold), `output` (what comes back, with `contentType`)."""

    input: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)

    @classmethod
    def from_result(cls, result: Any) -> ModelSchema:
        if not isinstance(result, dict) or not isinstance(result.get("input", {}), dict) or not isinstance(
                result.get("output", {}), dict):
            raise ProtocolError("Workers AI answered a schema request with something that is not a schema: try again.")
        return cls(result.get("input") or {}, result.get("output") or {})


def means_no_schema(error: WorkersAIError) -> bool:
    """The answer a model without a published schema gets (see the module docstring)."""
    if not isinstance(error, ModelNotFoundError) or error.status != 404:
        return False
    return error.code == NO_SCHEMA_CODE or "schema" in (error.detail or "").lower()


class Schemas:
    """Schemas per model from `client.fetch_schema`, cached; see the module docstring."""

    def __init__(self, client, ttl: float = 3600.0, retry_after_failure: float = 15.0) -> None:
        self._client = client
        self._ttl = ttl
        self._retry_after_failure = retry_after_failure
        self._cache: dict[str, tuple[float, ModelSchema | None | WorkersAIError]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def _cached(self, model: str) -> tuple[bool, ModelSchema | None]:
        entry = self._cache.get(model)
        if entry is None or entry[0] <= time.monotonic():
            return False, None
        if isinstance(entry[1], WorkersAIError):
            raise entry[1].with_traceback(None)  # raised again for each caller: keep its traceback from growing
        return True, entry[1]

    async def get(self, model: str) -> ModelSchema | None:
        check_model_id(model)
        found, schema = self._cached(model)
        if found:
            return schema
        lock = self._locks.setdefault(model, asyncio.Lock())
        async with lock:  # one request per model, however many visitors pick it at once
            found, schema = self._cached(model)
            if found:
                return schema
            try:
                answer, ttl = await self._client.fetch_schema(model), self._ttl
            except WorkersAIError as exc:
                answer, ttl = exc, self._retry_after_failure
            self._store(model, answer, ttl)
        self._locks.pop(model, None)
        if isinstance(answer, WorkersAIError):
            raise answer.with_traceback(None)
        return answer

    def _store(self, model: str, answer: ModelSchema | None | WorkersAIError, ttl: float) -> None:
        if len(self._cache) >= MAX_CACHED:  # ids are checked, but there are many: forget the oldest first
            self._cache.pop(next(iter(self._cache)))
        self._cache[model] = (time.monotonic() + ttl, answer)

    def forget(self) -> None:
        self._cache.clear()

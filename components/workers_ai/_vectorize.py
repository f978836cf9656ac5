"""A Vectorize REST v2 client for one index, over the Workers AI client's machinery: its pooled connections, its
retries (one here: enough for Vectorize's intermittent 5xx), its envelope parsing and request tracing (so the "How it
works" panel shows Vectorize requests too), and typed errors with Vectorize sentences. Never the token in a message.

    index = Vectorize(settings, "docs", client=shared_client)
    await index.create_index(768)                                # an index of that name already there is answered
    await index.create_metadata_index("collection", "string")    # before the first write: filters see later writes only
    mutation = await index.upsert([{"id": "doc1#0", "values": [...], "metadata": {...}, "namespace": "c_ab12"}])
    await index.wait_until_processed(mutation)                   # writes become queryable after a few seconds
    matches = await index.query(vector, 5, namespace="c_ab12", filter={"collection": "c_ab12"})

The contract is shared/docs/vectorize-contract.md §1: `{base}/accounts/{account_id}/vectorize/v2/indexes/{name}/…`,
writes as NDJSON, `returnMetadata` a string, topK at most 20 when metadata or values come back.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from ._client import WorkersAI
from ._config import Settings
from ._errors import (
    IndexExistsError,
    IndexNotFoundError,
    NotConfiguredError,
    ProtocolError,
    VectorizeError,
    WorkersAIError,
)
from ._vectorize_wire import (
    BATCH,
    BATCH_BYTES,  # noqa: F401  (re-exported)
    MAX_TOP_K_WITH_METADATA,
    _batches,
    _floats,
    _http_date,
    _iso_time,
    vectorize_error,
)

NDJSON = "application/x-ndjson"
METRICS = ("cosine", "euclidean", "dot-product")
RETURN_METADATA = ("none", "indexed", "all")
INDEX_TYPES = ("string", "number", "boolean")
RETRIES = 1  # one retry is enough for Vectorize's intermittent 5xx ("VECTOR_QUERY_ERROR")
ID_BATCH = 1_000  # ids per delete_by_ids request
MAX_TOP_K = 100
MAX_LIST = 1_000
FIRST_POLL = 0.05  # seconds before the second look at `info`; doubled each time up to `poll`
KEEP_WRITES = 1_000  # mutation ids remembered per index, to tell that a later one's processing covers an earlier one
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # also what keeps the name a single path segment

NOT_CONFIGURED = (
    "No Cloudflare account is configured for Vectorize: set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (a token "
    "with the Vectorize Edit permission) and restart the app."
)

# The mutation ids written per (base URL, account, index), oldest first, with the server's time of each write
# (its `Date` header): `wait_until_processed` reads `processedUpToMutation` against them.
_writes: dict[tuple[str, str, str], OrderedDict[str, datetime | None]] = {}


class Vectorize:
    """One Vectorize index. Every call is a coroutine; errors are WorkersAIError subclasses (VectorizeError for the
    answers only Vectorize gives), each with a sentence that is safe to show."""

    BATCH = BATCH
    MAX_TOP_K = MAX_TOP_K
    MAX_TOP_K_WITH_METADATA = MAX_TOP_K_WITH_METADATA

    def __init__(self, settings: Settings, index: str, *, client: WorkersAI | None = None,
                 sleep: Callable[[float], Awaitable[Any]] | None = None) -> None:
        """`client` shares its connection pool, retries and tracing (it must use the same account and token);
        `sleep` (default asyncio.sleep, not the client's retry sleep: a poll that does not wait is never what is
        meant unless the test also controls the clock) is what `wait_until_processed` waits with between polls."""
        if not isinstance(index, str) or not _NAME.fullmatch(index):
            raise VectorizeError(
                f"{str(index)[:80]!r} is not a Vectorize index name: use at most 64 letters, digits and dashes.")
        if client is None:
            client = WorkersAI(settings)
        elif _identity(client.settings) != _identity(settings):
            raise ValueError("Vectorize(client=…) must be a client of the same account, token and base URL")
        self.settings = settings
        self.index = index
        self.client = client
        self._sleep = sleep or asyncio.sleep

    @property
    def indexes_url(self) -> str:
        return f"{self.settings.base_url}/accounts/{self.settings.account_id}/vectorize/v2/indexes"

    @property
    def url(self) -> str:
        return f"{self.indexes_url}/{self.index}"

    # ── the index ───────────────────────────────────────────────────────────────────────────

    async def get_index(self) -> dict | None:
        """The index (`name, description, config: {dimensions, metric}, created_on, modified_on`), or None."""
        try:
            _, result = await self._call("GET", "", op="get index")
        except IndexNotFoundError:
            return None
        return _dict(result, "the index")

    async def create_index(self, dimensions: int, metric: str = "cosine", description: str = "") -> dict:
        """Create the index; when one of that name exists already (3002) it is answered as it is, so check its
        `config.dimensions` against the embedding model's output."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}")
        body: dict[str, Any] = {"name": self.index, "config": {"dimensions": int(dimensions), "metric": metric}}
        if description:
            body["description"] = description
        try:
            _, result = await self._call("POST", None, op="create index", write=True, json=body)
        except IndexExistsError:
            found = await self.get_index()
            if found is None:  # deleted in between: say what happened rather than guess
                raise
            return found
        return _dict(result, "the new index")

    async def delete_index(self) -> None:
        """Delete the index and every vector in it (an index that is not there is not an error)."""
        try:
            await self._call("DELETE", "", op="delete index", write=True)
        except IndexNotFoundError:
            pass
        _writes.pop(self._key(), None)

    async def info(self) -> dict:
        """`{dimensions, vectorCount, processedUpToDatetime, processedUpToMutation}`."""
        _, result = await self._call("GET", "/info", op="info")
        return _dict(result, "the index's info")

    # ── metadata indexes: create them before the first write ────────────────────────────────

    async def metadata_indexes(self) -> list[dict]:
        """`[{propertyName, indexType}]`: the properties a filter can see (in vectors written after each)."""
        _, result = await self._call("GET", "/metadata_index/list", op="list metadata indexes")
        found = result.get("metadataIndexes") if isinstance(result, dict) else result
        if not isinstance(found, list):
            raise _protocol("the metadata indexes")
        return found

    async def create_metadata_index(self, property_name: str, index_type: str) -> str:
        """Make `property_name` filterable ("string", "number" or "boolean"): only vectors written afterwards are
        seen by a filter on it. Returns the mutation id."""
        if index_type not in INDEX_TYPES:
            raise ValueError(f"index_type must be one of {INDEX_TYPES}")
        response, result = await self._call("POST", "/metadata_index/create", op="create metadata index",
                                            write=True, json={"propertyName": property_name, "indexType": index_type})
        return self._mutation(response, result)

    async def delete_metadata_index(self, property_name: str) -> str:
        """Stop indexing `property_name` (40005, a MetadataIndexError, when it was not). Returns the mutation id."""
        response, result = await self._call("POST", "/metadata_index/delete", op="delete metadata index",
                                            write=True, json={"propertyName": property_name})
        return self._mutation(response, result)

    # ── vectors ─────────────────────────────────────────────────────────────────────────────

    async def upsert(self, vectors: Sequence[dict]) -> str:
        """Write vectors (`{id, values, metadata?, namespace?}`; an existing id is replaced whole, metadata
        included) as NDJSON, in requests of at most 1,000. Returns the last mutation id ("" when there was
        nothing to write): pass it to `wait_until_processed` before telling anyone the vectors are searchable."""
        return await self._write("upsert", vectors)

    async def insert(self, vectors: Sequence[dict]) -> str:
        """Like `upsert`, but an id already in the index keeps its first vector."""
        return await self._write("insert", vectors)

    async def query(self, vector: Sequence[float], top_k: int, *, namespace: str | None = None,
                    filter: dict | None = None, return_metadata: str = "all",
                    return_values: bool = False) -> list[dict]:
        """The closest vectors, best first: `[{id, score, metadata?, values?, namespace?}]`. `top_k` is clamped to
        20 when metadata or values come back (100 otherwise); the namespace and the filter apply before it."""
        if return_metadata not in RETURN_METADATA:
            raise ValueError(f"return_metadata must be one of {RETURN_METADATA}")
        cap = MAX_TOP_K_WITH_METADATA if return_values or return_metadata != "none" else MAX_TOP_K
        body: dict[str, Any] = {"vector": _floats(vector), "topK": max(1, min(int(top_k), cap)),
                                "returnValues": bool(return_values), "returnMetadata": return_metadata}
        if namespace is not None:
            body["namespace"] = namespace
        if filter:
            body["filter"] = filter
        _, result = await self._call("POST", "/query", op="query", json=body)
        matches = result.get("matches") if isinstance(result, dict) else None
        if not isinstance(matches, list):
            raise _protocol("a query")
        return matches

    async def get_by_ids(self, ids: Iterable[str]) -> list[dict]:
        """The vectors of those ids that are searchable now (a write still being processed is not there yet)."""
        ids = list(ids)
        if not ids:
            return []
        _, result = await self._call("POST", "/get_by_ids", op="get by ids", json={"ids": ids})
        if not isinstance(result, list):
            raise _protocol("get_by_ids")
        return result

    async def delete_by_ids(self, ids: Iterable[str]) -> str:
        """Delete vectors by id, 1,000 per request. Returns the last mutation id ("" when there were none)."""
        ids, mutation = list(ids), ""
        for start in range(0, len(ids), ID_BATCH):
            response, result = await self._call("POST", "/delete_by_ids", op="delete by ids", write=True,
                                                json={"ids": ids[start:start + ID_BATCH]})
            mutation = self._mutation(response, result)
        return mutation

    async def list_ids(self, cursor: str | None = None, count: int = MAX_LIST) -> dict:
        """One page of the index's ids: `{count, totalCount, isTruncated, nextCursor, vectors: [{id}]}`."""
        params: dict[str, Any] = {"count": max(1, min(int(count), MAX_LIST))}
        if cursor:
            params["cursor"] = cursor
        _, result = await self._call("GET", "/list", op="list ids", params=params)
        return _dict(result, "the list of ids")

    async def wait_until_processed(self, mutation_id: str, *, timeout: float = 60, poll: float = 1.0,
                                   on_progress: Callable[[dict, float], Any] | None = None) -> bool:
        """Poll `info` until the write `mutation_id` (one this process wrote) is processed, i.e. searchable: True,
        or False after `timeout` seconds. The pauses start at 0.05 s and double up to `poll`. `on_progress(info,
        seconds_waited)` (a function or a coroutine function) hears of every poll."""
        if not mutation_id:
            return True
        if poll <= 0:
            raise ValueError("poll must be positive")
        started, slept, polls = time.monotonic(), 0.0, 0
        while True:
            info = await self.info()
            done = self._processed(mutation_id, info)
            waited = max(slept, time.monotonic() - started)  # what was slept counts even if the sleep is a stand-in
            if on_progress is not None:
                outcome = on_progress(info, waited)
                if inspect.isawaitable(outcome):
                    await outcome
            if done:
                return True
            if waited >= timeout:
                return False
            pause = min(poll, FIRST_POLL * 2 ** polls, timeout - waited)
            polls += 1
            await self._sleep(pause)
            slept += pause

    # ── plumbing ────────────────────────────────────────────────────────────────────────────

    async def _call(self, method: str, path: str | None, *, op: str, write: bool = False,
                    **kwargs) -> tuple[httpx.Response, Any]:
        """One request to the index (`path` under it) or, with `path` None, to the list of indexes."""
        if not self.settings.configured:
            raise NotConfiguredError(NOT_CONFIGURED)
        url = self.indexes_url if path is None else self.url + path
        return await self.client._send(
            method, url, model=None, label=f"vectorize {self.index} {op}", max_retries=RETRIES,
            reword=lambda error: vectorize_error(error, self.index, write=write), **kwargs)

    async def _write(self, action: str, vectors: Sequence[dict]) -> str:
        mutation = ""
        for lines, shown in _batches(vectors):
            response, result = await self._call(
                "POST", f"/{action}", op=action, write=True, content=b"".join(lines),
                headers={"content-type": NDJSON}, trace_json=shown)
            mutation = self._mutation(response, result)
        return mutation

    def _key(self) -> tuple[str, str, str]:
        return self.settings.base_url, self.settings.account_id or "", self.index

    def _mutation(self, response: httpx.Response, result: Any) -> str:
        """The write's mutation id, remembered with the server's time of the write."""
        mutation = result.get("mutationId") if isinstance(result, dict) else None
        if not isinstance(mutation, str) or not mutation:
            raise ProtocolError("Vectorize answered a write without its mutation id: try again.",
                                status=response.status_code)
        written = _writes.setdefault(self._key(), OrderedDict())
        written[mutation] = _http_date(response.headers.get("date"))
        written.move_to_end(mutation)
        while len(written) > KEEP_WRITES:
            written.popitem(last=False)
        return mutation

    def _processed(self, mutation_id: str, info: dict) -> bool:
        """Is `mutation_id` processed? Yes when `processedUpToMutation` is it or a later write of ours; when it is
        one we did not write (another writer), when `processedUpToDatetime` is past the second of our write."""
        processed = info.get("processedUpToMutation")
        if not processed:
            return False
        if processed == mutation_id:
            return True
        order = list(_writes.get(self._key(), {}))
        if processed in order:
            return mutation_id in order and order.index(processed) > order.index(mutation_id)
        written = _writes.get(self._key(), {}).get(mutation_id)
        upto = _iso_time(info.get("processedUpToDatetime"))
        return written is not None and upto is not None and upto >= written + timedelta(seconds=1)


def _identity(settings: Settings) -> tuple:
    return settings.account_id, settings.api_token, settings.base_url


def _dict(result: Any, what: str) -> dict:
    if not isinstance(result, dict):
        raise _protocol(what)
    return result


def _protocol(what: str) -> ProtocolError:
    return ProtocolError(f"Vectorize answered the request for {what} with something else: try again.")

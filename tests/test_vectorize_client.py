"""The Vectorize client against the fake's Vectorize routes over real HTTP (shared/docs/vectorize-contract.md §1):
indexes, metadata indexes before writes, NDJSON writes in batches, asynchronous visibility and queries.
Errors, retries, permissions and the token in no message are in tests/test_vectorize_errors.py."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest

from components.workers_ai import (
    DimensionMismatchError,
    IndexNotFoundError,
    MetadataIndexError,
    TopKTooLargeError,
    Vectorize,
    WorkersAI,
)
from tests.conftest import ACCOUNT_ID, TOKEN, make_settings

DIMS = 8
NDJSON = "application/x-ndjson"


def run(coro):
    return asyncio.run(coro)


def unit(seed: int, dims: int = DIMS) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=dims)
    return (vector / np.linalg.norm(vector)).tolist()


def cosine(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def index(fake, sleeps):
    """An unopened Vectorize index "docs" on the fake; its sleeps (retries, polls) are recorded and kept short."""
    async def sleep(seconds):
        sleeps.append(seconds)
        await asyncio.sleep(min(seconds, 0.02))

    return Vectorize(make_settings(fake), "docs", client=WorkersAI(make_settings(fake), sleep=sleep), sleep=sleep)


def process_now(fake) -> None:
    """Let every pending write of the fake's Vectorize be processed (at its next request). With vectorize_delay set
    far beyond any test, this is the only way a write gets processed: what a test sees before it cannot depend on
    how fast a busy machine runs the test."""
    with fake.vectorize.lock:
        for stored in fake.vectorize.indexes.values():
            for mutation in stored.pending:
                mutation.ready_at = 0.0


def vectorize_requests(fake, operation: str = "") -> list:
    return [r for r in fake.requests if "/vectorize/v2/" in r.path and r.path.endswith(operation)]


async def ready(index: Vectorize, vectors: list[dict], metadata: dict[str, str] | None = None) -> str:
    """Create the index, its metadata indexes, write the vectors and wait until they are searchable."""
    await index.create_index(DIMS)
    for name, kind in (metadata or {}).items():
        await index.create_metadata_index(name, kind)
    mutation = await index.upsert(vectors)
    assert await index.wait_until_processed(mutation, poll=0.01, timeout=5)
    return mutation


# ── the index ───────────────────────────────────────────────────────────────────────────────────

def test_create_index_and_a_duplicate_name_is_the_existing_index(index, fake):
    async def scenario():
        made = await index.create_index(DIMS, description="the documents")
        again = await index.create_index(384)  # 3002: answered with the index that is there
        return made, again, await index.get_index(), await index.info()

    made, again, got, info = run(scenario())
    assert made["name"] == "docs" and made["config"] == {"dimensions": DIMS, "metric": "cosine"}
    assert made["description"] == "the documents" and made["created_on"]
    assert again == made == got
    assert info == {"dimensions": DIMS, "vectorCount": 0, "processedUpToDatetime": None,
                    "processedUpToMutation": None}
    create = vectorize_requests(fake, "/indexes")
    assert [r.method for r in create] == ["POST", "POST"]
    assert create[0].path == f"/client/v4/accounts/{ACCOUNT_ID}/vectorize/v2/indexes"
    assert create[0].json == {"name": "docs", "description": "the documents",
                              "config": {"dimensions": DIMS, "metric": "cosine"}}
    assert create[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_a_missing_index_is_none_then_a_sentence(index, fake):
    assert run(index.get_index()) is None
    with pytest.raises(IndexNotFoundError) as caught:
        run(index.info())
    assert caught.value.code == 3000 and caught.value.status == 404
    assert "The Vectorize index “docs” does not exist" in caught.value.user_message
    assert len(vectorize_requests(fake)) == 2  # not retried


def test_delete_index(index, fake):
    async def scenario():
        await index.create_index(DIMS)
        await index.delete_index()
        await index.delete_index()  # already gone: not an error
        return await index.get_index()

    assert run(scenario()) is None
    assert "docs" not in fake.vectorize.indexes


# ── writes ──────────────────────────────────────────────────────────────────────────────────────

def test_upsert_sends_ndjson_in_requests_of_at_most_1000(index, fake):
    vectors = [{"id": f"doc#{n}", "values": np.asarray(unit(n), dtype=np.float32), "metadata": {"n": n}}
               for n in range(2_500)]

    async def scenario():
        await index.create_index(DIMS)
        mutation = await index.upsert(vectors)
        assert await index.wait_until_processed(mutation, poll=0.01, timeout=5)
        return mutation, await index.info()

    mutation, info = run(scenario())
    writes = vectorize_requests(fake, "/upsert")
    assert [r.headers["content-type"] for r in writes] == [NDJSON] * 3
    lines = [r.body.decode().splitlines() for r in writes]
    assert [len(batch) for batch in lines] == [1_000, 1_000, 500]
    first = json.loads(lines[0][0])
    assert first["id"] == "doc#0" and first["metadata"] == {"n": 0} and len(first["values"]) == DIMS
    assert [json.loads(line)["id"] for line in lines[2]][-1] == "doc#2499"
    assert info["vectorCount"] == 2_500 and info["processedUpToMutation"] == mutation
    assert run(index.upsert([])) == ""  # nothing to write, nothing sent
    assert len(vectorize_requests(fake, "/upsert")) == 3


def test_insert_keeps_the_first_and_upsert_replaces_the_whole_vector(index, fake):
    async def scenario():
        await ready(index, [{"id": "a", "values": unit(1), "metadata": {"v": 1, "keep": True}}])
        await index.wait_until_processed(await index.insert([{"id": "a", "values": unit(2), "metadata": {"v": 2}}]),
                                         poll=0.01)
        kept = await index.get_by_ids(["a"])
        await index.wait_until_processed(await index.upsert([{"id": "a", "values": unit(3), "metadata": {"v": 3}}]),
                                         poll=0.01)
        return kept, await index.get_by_ids(["a"])

    kept, replaced = run(scenario())
    assert kept[0]["metadata"] == {"v": 1, "keep": True}
    assert replaced == [{"id": "a", "values": unit(3), "metadata": {"v": 3}}]


def test_writes_are_searchable_only_once_processed_and_the_wait_reports_progress(index, fake, sleeps):
    fake.vectorize_delay = 3600  # processed when the second poll has seen it pending (process_now), never by the clock
    progress = []

    async def on_progress(info, waited):  # a coroutine function is awaited
        progress.append((info["processedUpToMutation"], info["vectorCount"], waited))
        if len(progress) == 2:
            process_now(fake)

    async def scenario():
        await index.create_index(DIMS)
        mutation = await index.upsert([{"id": f"v{n}", "values": unit(n)} for n in range(3)])
        before = await index.query(unit(0), 3)
        done = await index.wait_until_processed(mutation, poll=0.05, timeout=10, on_progress=on_progress)
        return mutation, before, done, await index.query(unit(0), 3)

    mutation, before, done, after = run(scenario())
    assert before == [] and done is True
    assert [m["id"] for m in after][0] == "v0" and len(after) == 3
    assert [p[:2] for p in progress] == [(None, 0), (None, 0), (mutation, 3)]  # polled until processed, then stopped
    assert [waited for *_, waited in progress] == sorted(waited for *_, waited in progress)
    assert sleeps == [0.05, 0.05]  # the pauses start at 0.05 s and never pass `poll`


def test_the_wait_is_bounded(index, fake, sleeps):
    fake.vectorize_delay = 30
    calls = []

    async def scenario():
        await index.create_index(DIMS)
        mutation = await index.upsert([{"id": "v", "values": unit(1)}])
        return await index.wait_until_processed(mutation, timeout=3, poll=1,
                                                on_progress=lambda info, waited: calls.append(waited))

    assert run(scenario()) is False
    # pauses of 0.05, 0.1, 0.2, 0.4, 0.8, 1 and the 0.45 s left: bounded however fast the sleep is
    assert sleeps == pytest.approx([0.05, 0.1, 0.2, 0.4, 0.8, 1, 0.45]) and len(calls) == 8


def test_the_wait_really_waits_with_the_shared_client_whose_retries_do_not_sleep(client, fake):
    """The client's `sleep` (its retries') is a no-op here; the wait between polls must still be real time."""
    fake.vectorize_delay = 3600  # processed after the fourth poll (process_now), never by the clock
    index = Vectorize(client.settings, "docs", client=client)
    polled: list[float] = []

    def on_progress(info, waited):
        polled.append(time.monotonic())
        if len(polled) == 4:
            process_now(fake)

    async def scenario():
        await index.create_index(DIMS)
        mutation = await index.upsert([{"id": "v", "values": unit(1)}])
        return await index.wait_until_processed(mutation, timeout=60, on_progress=on_progress)

    assert run(scenario()) is True
    gaps = [later - earlier for earlier, later in zip(polled, polled[1:])]
    # Real pauses of 0.05, 0.1, 0.2 and 0.4 s between the polls (a busy machine only makes them longer): not a spin.
    assert len(gaps) == 4 and all(gap >= pause - 0.002 for gap, pause in zip(gaps, (0.05, 0.1, 0.2, 0.4))), gaps
    assert len(vectorize_requests(fake, "/info")) == 5


def test_a_later_write_of_ours_being_processed_covers_an_earlier_one(index, fake):
    async def scenario():
        await index.create_index(DIMS)
        first = await index.upsert([{"id": "a", "values": unit(1)}])
        second = await index.upsert([{"id": "b", "values": unit(2)}])
        assert await index.wait_until_processed(second, poll=0.01)
        return first, await index.info(), await index.wait_until_processed(first, poll=0.01, timeout=0)

    first, info, done = run(scenario())
    assert info["processedUpToMutation"] != first and done is True


# ── queries ─────────────────────────────────────────────────────────────────────────────────────

def test_query_scores_are_exact_cosines_best_first(index, fake):
    vectors = [{"id": f"v{n}", "values": unit(n), "metadata": {"text": f"passage {n}"}} for n in range(12)]
    query = unit(99)

    async def scenario():
        await ready(index, vectors)
        return await index.query(query, 5)

    matches = run(scenario())
    expected = sorted(((cosine(query, v["values"]), v["id"]) for v in vectors), reverse=True)[:5]
    assert [m["id"] for m in matches] == [name for _, name in expected]
    assert [m["score"] for m in matches] == pytest.approx([score for score, _ in expected], abs=1e-12)
    assert matches[0]["metadata"] == {"text": f"passage {matches[0]['id'][1:]}"} and "values" not in matches[0]
    sent = vectorize_requests(fake, "/query")[-1].json
    assert sent["returnMetadata"] == "all" and sent["returnValues"] is False and sent["topK"] == 5


def test_query_by_namespace_and_metadata_filter(index, fake):
    vectors = [{"id": f"{ns}-{n}", "values": unit(n), "namespace": ns,
                "metadata": {"collection": ns, "page": n, "draft": n == 2}}
               for ns in ("c_one", "c_two") for n in range(5)]

    async def scenario():
        await ready(index, vectors, {"collection": "string", "page": "number", "draft": "boolean"})
        query = unit(0)
        return (
            await index.query(query, 20, namespace="c_one"),
            await index.query(query, 20, filter={"collection": "c_two", "page": {"$gte": 3}}),
            await index.query(query, 20, namespace="c_one", filter={"collection": "c_one"}),
            await index.query(query, 20, filter={"page": {"$in": [1, 4]}, "draft": {"$ne": True}}),
            await index.query(query, 20, filter={"collection": {"$nin": ["c_one"]}, "page": {"$lt": 1}}),
            await index.query(query, 20, namespace="c_nobody"),
        )

    by_namespace, filtered, both, listed, excluded, nobody = run(scenario())
    assert {m["id"] for m in by_namespace} == {f"c_one-{n}" for n in range(5)}
    assert all(m["namespace"] == "c_one" for m in by_namespace)
    assert {m["id"] for m in filtered} == {"c_two-3", "c_two-4"}
    assert {m["id"] for m in both} == {f"c_one-{n}" for n in range(5)}
    assert {m["id"] for m in listed} == {"c_one-1", "c_one-4", "c_two-1", "c_two-4"}
    assert {m["id"] for m in excluded} == {"c_two-0"}
    assert nobody == []
    sent = vectorize_requests(fake, "/query")[1].json
    assert sent["filter"] == {"collection": "c_two", "page": {"$gte": 3}} and "namespace" not in sent


def test_filters_only_see_properties_indexed_before_the_write(index, fake):
    async def scenario():
        await ready(index, [{"id": "early", "values": unit(1), "metadata": {"collection": "c", "page": 1}}],
                    {"collection": "string"})
        await index.create_metadata_index("page", "number")  # after "early" was written
        mutation = await index.upsert([{"id": "late", "values": unit(2), "metadata": {"collection": "c", "page": 1}}])
        await index.wait_until_processed(mutation, poll=0.01)
        return (await index.metadata_indexes(), await index.query(unit(1), 5, filter={"collection": "c"}),
                await index.query(unit(1), 5, filter={"page": 1}), await index.query(unit(1), 5))

    indexes, by_collection, by_page, everything = run(scenario())
    assert indexes == [{"propertyName": "collection", "indexType": "string"},
                       {"propertyName": "page", "indexType": "number"}]
    assert {m["id"] for m in by_collection} == {"early", "late"}
    assert [m["id"] for m in by_page] == ["late"]  # "early" is invisible to a filter on page
    assert {m["id"] for m in everything} == {"early", "late"}


def test_a_filter_on_a_property_without_metadata_index_is_a_sentence(index, fake):
    async def scenario():
        await ready(index, [{"id": "a", "values": unit(1), "metadata": {"collection": "c"}}])
        await index.query(unit(1), 5, filter={"collection": "c"})

    with pytest.raises(MetadataIndexError) as caught:
        run(scenario())
    assert caught.value.code == 40005 and "create it before the vectors are written" in caught.value.user_message
    with pytest.raises(MetadataIndexError):
        run(index.delete_metadata_index("collection"))


def test_top_k_is_clamped_to_20_when_metadata_or_values_come_back(index, fake):
    vectors = [{"id": f"v{n:03}", "values": unit(n), "metadata": {"n": n}} for n in range(150)]

    async def scenario():
        await ready(index, vectors)
        return (await index.query(unit(0), 50), await index.query(unit(0), 50, return_metadata="indexed"),
                await index.query(unit(0), 50, return_metadata="none", return_values=True),
                await index.query(unit(0), 50, return_metadata="none"),
                await index.query(unit(0), 500, return_metadata="none"), await index.query(unit(0), 0))

    with_metadata, indexed, with_values, bare, most, least = run(scenario())
    assert [r.json["topK"] for r in vectorize_requests(fake, "/query")] == [20, 20, 20, 50, 100, 1]
    assert len(with_metadata) == len(indexed) == len(with_values) == 20
    assert len(bare) == 50 and len(most) == 100 and len(least) == 1
    assert "metadata" not in bare[0] and "values" not in bare[0] and len(with_values[0]["values"]) == DIMS
    with pytest.raises(ValueError):
        run(index.query(unit(0), 5, return_metadata=True))


def test_a_smaller_top_k_cap_is_a_sentence(index, fake):
    async def scenario():
        await ready(index, [{"id": "a", "values": unit(1)}])
        fake.vectorize_top_k_cap = 10
        await index.query(unit(0), 15)

    with pytest.raises(TopKTooLargeError) as caught:
        run(scenario())
    assert caught.value.code == 40025 and "at most 10 matches" in caught.value.user_message


def test_dimension_mismatch_says_the_index_was_built_for_another_model(index, fake):
    run(index.create_index(DIMS))
    for call in (index.query(unit(1, 384), 5), index.upsert([{"id": "a", "values": unit(1, 384)}])):
        with pytest.raises(DimensionMismatchError) as caught:
            run(call)
        error = caught.value
        assert (error.code, error.status, error.expected, error.got) == (40006, 400, DIMS, 384)
        assert error.user_message == (
            f"The Vectorize index “docs” was built for another embedding model, one with {DIMS} dimensions, and this "
            "vector has 384: use the embedding model the index was made with, or delete the index and create it "
            "again for this model.")
    assert len(vectorize_requests(fake, "/query")) == 1  # never retried


def test_delete_by_ids_get_by_ids_and_list_ids(index, fake):
    vectors = [{"id": f"v{n}", "values": unit(n)} for n in range(5)]

    async def scenario():
        await ready(index, vectors)
        fake.vectorize_delay = 3600  # the delete stays pending until process_now, however slow the machine
        mutation = await index.delete_by_ids(["v1", "v3", "nobody"])
        before = await index.list_ids()
        process_now(fake)
        await index.wait_until_processed(mutation, poll=0.01)
        first = await index.list_ids(count=2)
        second = await index.list_ids(cursor=first["nextCursor"], count=2)
        return (before, await index.list_ids(), first, second, await index.get_by_ids(["v0", "v1", "v4"]),
                await index.delete_by_ids([]))

    before, after, first, second, got, nothing = run(scenario())
    assert before["totalCount"] == 5  # a delete too is processed later
    assert [v["id"] for v in after["vectors"]] == ["v0", "v2", "v4"] and after["isTruncated"] is False
    assert first["count"] == 2 and first["isTruncated"] is True and first["totalCount"] == 3
    assert [v["id"] for v in first["vectors"] + second["vectors"]] == ["v0", "v2", "v4"]
    assert [v["id"] for v in got] == ["v0", "v4"] and got[0]["values"] == unit(0)
    assert nothing == ""
    assert vectorize_requests(fake, "/delete_by_ids")[0].json == {"ids": ["v1", "v3", "nobody"]}
    assert [r.query for r in vectorize_requests(fake, "/list")] == [
        {"count": "1000"}, {"count": "2"}, {"count": "2", "cursor": first["nextCursor"]}, {"count": "1000"}]

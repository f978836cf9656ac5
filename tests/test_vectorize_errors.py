"""The Vectorize client against the fake's Vectorize routes over real HTTP (shared/docs/vectorize-contract.md §1):
errors with sentences, one retry, permissions, the token in no message, trace or log line, and the fake's own
contract checks. Indexes, writes and queries are in tests/test_vectorize_client.py."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from components.workers_ai import (
    AuthenticationError,
    NotConfiguredError,
    PermissionDeniedError,
    ServerError,
    Settings,
    Vectorize,
    VectorizeError,
    VectorizePermissionError,
    WorkersAI,
    capture,
)
from tests.conftest import ACCOUNT_ID, TOKEN, make_settings
from tests.fake_workers_ai import Fault
from tests.test_vectorize_client import NDJSON, index, ready, run, sleeps, unit, vectorize_requests

# ── errors, retries, permissions ────────────────────────────────────────────────────────────────

def test_a_server_error_is_retried_once(index, fake, sleeps):
    run(ready(index, [{"id": "a", "values": unit(1)}]))
    sleeps.clear()
    fake.fail(Fault.error(503, 1011, "VECTOR_QUERY_ERROR: internal error"), model="vectorize:query")
    assert [m["id"] for m in run(index.query(unit(1), 3))] == ["a"]
    assert len(vectorize_requests(fake, "/query")) == 2 and len(sleeps) == 1

    fake.fail(*[Fault.error(503, 1011, "VECTOR_QUERY_ERROR: internal error")] * 3, model="vectorize:query")
    with pytest.raises(ServerError) as caught:
        run(index.query(unit(1), 3))
    assert "Vectorize is having trouble right now" in caught.value.user_message
    assert len(vectorize_requests(fake, "/query")) == 4  # one try and one retry, never a third
    fake.reset()

    fake.fail(Fault.reset_connection(), model="vectorize")
    assert run(index.get_index()) is None  # a dropped connection is retried too (fake.reset emptied the store)


def test_a_token_without_vectorize_edit_or_read_gets_a_sentence_naming_it(index, fake):
    run(ready(index, [{"id": "a", "values": unit(1)}]))
    fake.vectorize_access = "read"
    assert run(index.query(unit(1), 3))  # Read is enough to search
    with pytest.raises(VectorizePermissionError) as caught:
        run(index.upsert([{"id": "b", "values": unit(2)}]))
    assert isinstance(caught.value, PermissionDeniedError) and caught.value.permission == "Vectorize Edit"
    assert (caught.value.code, caught.value.status) == (10000, 403)
    assert caught.value.user_message.startswith("The API token lacks the Vectorize Edit permission")
    assert len(vectorize_requests(fake, "/upsert")) == 2  # ready's and the refused one: never retried

    fake.vectorize_access = "none"
    with pytest.raises(VectorizePermissionError) as caught:
        run(index.query(unit(1), 3))
    assert caught.value.permission == "Vectorize Read" and "lacks the Vectorize Read permission" in str(caught.value)

    fake.vectorize_access = "not_entitled"
    with pytest.raises(VectorizePermissionError) as caught:
        run(index.info())
    assert caught.value.code == 1005 and "not entitled to use Vectorize" in caught.value.user_message

    fake.vectorize_access = "edit"
    fake.fail(Fault.error(403, 100158, "vectorize.not_entitled"), model="vectorize")
    with pytest.raises(VectorizePermissionError, match="not entitled"):
        run(index.info())


def test_a_rejected_token_is_an_authentication_error_without_the_token(fake):
    index = Vectorize(make_settings(fake, api_token="wrong-token-XYZ"), "docs")
    with pytest.raises(AuthenticationError) as caught:
        run(index.get_index())
    assert "Vectorize Edit" in caught.value.user_message and "wrong-token-XYZ" not in str(caught.value)


def test_the_token_is_in_no_error_trace_or_log_line(index, fake, caplog):
    caplog.set_level(logging.DEBUG)
    with capture("vectorize-test") as trace:
        run(ready(index, [{"id": f"v{n}", "values": unit(n), "metadata": {"text": "x" * 500}} for n in range(10)]))
        fake.fail(Fault.error(400, 40026, f"bad request from Bearer {TOKEN}"), model="vectorize")
        with pytest.raises(VectorizeError) as caught:
            run(index.query(unit(1), 3))
        fake.fail(Fault.error(503, 1011, f"VECTOR_QUERY_ERROR {TOKEN}"), Fault.error(503, 1011, TOKEN),
                  model="vectorize")
        with pytest.raises(ServerError) as failed:
            run(index.query(unit(1), 3))
    for error in (caught.value, failed.value):
        assert TOKEN not in f"{error} {error.user_message} {error.detail} {error.args}"
    assert "[redacted]" in caught.value.user_message
    assert TOKEN not in repr(list(trace)) and TOKEN not in caplog.text
    assert ACCOUNT_ID not in repr(list(trace))
    upsert = next(entry for entry in trace if entry.url.endswith("/upsert"))
    assert upsert.url == "http://127.0.0.1:{}/client/v4/accounts/{{account_id}}/vectorize/v2/indexes/docs/upsert" \
        .format(fake.port)
    assert upsert.content_type == NDJSON and upsert.status == 200 and upsert.body_bytes > 5_000
    assert len(upsert.body_json) == 7 and upsert.body_json[0]["id"] == "v0"  # six vectors shown, the rest counted
    assert upsert.body_json[0]["metadata"]["text"].endswith("(500 characters in all)")
    assert any("vectorize docs query" in message for message in caplog.messages)


def test_not_configured_bad_names_and_a_foreign_client_are_refused_before_sending(fake):
    with pytest.raises(NotConfiguredError, match="Vectorize Edit"):
        run(Vectorize(Settings(), "docs").info())
    for name in ("../../user/tokens/verify", "a/b", "", "x" * 65, "docs?x=1"):
        with pytest.raises(VectorizeError, match="is not a Vectorize index name"):
            Vectorize(make_settings(fake), name)
    with pytest.raises(ValueError):
        Vectorize(make_settings(fake), "docs", client=WorkersAI(make_settings(fake, api_token="another")))
    assert fake.requests == []


# ── the fake speaks the contract where the client would not go ────────────────────────────────────

@pytest.fixture
def http(fake):
    with httpx.Client(base_url=f"{fake.base_url}/accounts/{fake.account_id}/vectorize/v2",
                      headers={"Authorization": f"Bearer {fake.token}"}, timeout=10) as client:
        assert client.post("/indexes", json={"name": "docs", "config": {"dimensions": 3, "metric": "cosine"}}) \
            .status_code == 200
        yield client


def write(http, *lines, kind="upsert"):
    body = "\n".join(json.dumps(line) for line in lines)
    return http.post(f"/indexes/docs/{kind}", content=body, headers={"content-type": NDJSON})


def error_of(response) -> tuple[int, int]:
    body = response.json()
    assert body["success"] is False and body["result"] == {} and body["messages"] == []
    return response.status_code, body["errors"][0]["code"]


def test_fake_refuses_what_vectorize_refuses(http, fake):
    duplicate = http.post("/indexes", json={"name": "docs", "config": {"dimensions": 3, "metric": "cosine"}})
    assert error_of(duplicate) == (400, 3002)
    assert error_of(http.post("/indexes/docs/upsert", json=[{"id": "a", "values": [1, 2, 3]}])) == (400, 40026)
    query = {"vector": [1, 0, 0], "topK": 3}
    assert error_of(http.post("/indexes/docs/query", json={**query, "returnMetadata": True})) == (400, 40026)
    assert error_of(http.post("/indexes/docs/query", json={**query, "topK": 21, "returnMetadata": "all"})) \
        == (400, 40025)
    assert error_of(http.post("/indexes/docs/query", json={**query, "topK": 21, "returnValues": True})) == (400, 40025)
    assert http.post("/indexes/docs/query", json={**query, "topK": 100}).status_code == 200
    assert error_of(http.post("/indexes/docs/query", json={**query, "topK": 101})) == (400, 40025)
    assert "max top K is 20" in http.post("/indexes/docs/query", json={**query, "topK": 21, "returnMetadata": "all"}) \
        .json()["errors"][0]["message"]
    assert error_of(write(http, {"id": "a", "values": [1, 2]})) == (400, 40006)
    assert error_of(write(http, {"id": "x" * 65, "values": [1, 2, 3]}))[0] == 400
    assert write(http, {"id": "x" * 64, "values": [1, 2, 3]}).status_code == 200
    assert error_of(write(http, {"id": "a", "values": [1, 2, 3], "metadata": {"t": "x" * 10_240}}))[0] == 400
    assert error_of(write(http, {"id": "a", "values": [1, 2, 3], "namespace": "n" * 65}))[0] == 400
    assert error_of(write(http, *[{"id": f"v{n}", "values": [1, 2, 3]} for n in range(5_001)]))[0] == 400
    assert error_of(http.post("/indexes/docs/query", json={**query, "filter": {"$or": []}}))[0] == 400
    assert error_of(http.get("/indexes/nope/info")) == (404, 3000)
    assert error_of(http.get("/indexes/docs/list", params={"count": 1_001}))[0] == 400
    assert error_of(http.post("/indexes/docs/nowhere", json={})) == (404, 7000)
    assert http.delete("/indexes/docs").json()["result"] is None
    assert error_of(http.get("/indexes/docs")) == (404, 3000)


def test_fake_state_and_knobs_are_reset_per_test(fake_server):
    fake_server.vectorize_delay, fake_server.vectorize_access, fake_server.vectorize_top_k_cap = 9, "none", 50
    fake_server.vectorize.indexes["x"] = object()
    fake_server.reset()
    assert (fake_server.vectorize_delay, fake_server.vectorize_access, fake_server.vectorize_top_k_cap) \
        == (0.05, "edit", 20)
    assert fake_server.vectorize.indexes == {}
    with pytest.raises(ValueError):
        fake_server.vectorize_access = "admin"

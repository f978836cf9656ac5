"""Issue 12's attacks on the owner's bill, performed for real: escalations outside the budget, visitors made up
with forged headers, work that ran but was not charged, a state file that fails, and one visitor filling the queue.
"""

import asyncio
import multiprocessing
import os
import sqlite3
from datetime import datetime, timedelta, timezone

import gradio as gr
import httpx
import pytest

from components.tabs import chat, embeddings
from components.core import conversation, ledger_store, usage, visitors
from components.core import embeddings as core_embeddings
from components.core.usage import Budgets, Ledger
from components.workers_ai import CHAT, EMBEDDINGS, estimate
from tests.fake_workers_ai import Fault
from tests.test_load import call

FAST = "@cf/meta/llama-3.1-8b-instruct-fast"
BGE = "@cf/baai/bge-small-en-v1.5"
EVENING = datetime(2026, 11, 26, 20, 48, tzinfo=timezone.utc)


def drain(generator):
    async def run():
        return [item async for item in generator]

    return asyncio.run(run())


def refused(coroutine_or_generator) -> str:
    """The sentence a refused call shows."""
    with pytest.raises(gr.Error) as caught:
        if hasattr(coroutine_or_generator, "__anext__"):
            drain(coroutine_or_generator)
        else:
            asyncio.run(coroutine_or_generator)
    return caught.value.message


# ── 2. a visitor is who the connection says, not who the client says ────────────────────────────


def test_the_visitor_is_counted_from_the_right_of_x_forwarded_for():
    forged = "1.1.1.1, 2.2.2.2, 203.0.113.7"  # the client wrote the first two; our one proxy appended the last
    assert visitors.client_address(forged, "10.0.0.2", hops=1) == "203.0.113.7"
    assert visitors.client_address(forged, "10.0.0.2", hops=2) == "2.2.2.2"
    assert visitors.client_address(forged, "10.0.0.2", hops=0) == "10.0.0.2", "0: the header is ignored"
    assert visitors.client_address("", "10.0.0.2", hops=1) == "10.0.0.2"


def test_ipv6_visitors_count_per_slash_64():
    one = visitors.network_of("2001:db8:1:2:aaaa::1")
    assert one == visitors.network_of("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert one != visitors.network_of("2001:db8:1:3::1")
    assert visitors.network_of("::ffff:203.0.113.7") == "203.0.113.7"


def test_the_proxy_hops_default_to_one_on_a_space_and_a_typo_stops_the_app():
    assert visitors.trusted_proxy_hops({}) == 0
    assert visitors.trusted_proxy_hops({"SPACE_ID": "someone/showcase"}) == 1
    assert visitors.trusted_proxy_hops({"SPACE_ID": "x", "DEMO_TRUSTED_PROXY_HOPS": "0"}) == 0
    for typo in ("one", "-1", "1.5", "99"):
        with pytest.raises(ValueError, match="DEMO_TRUSTED_PROXY_HOPS"):
            visitors.trusted_proxy_hops({"DEMO_TRUSTED_PROXY_HOPS": typo})


def asgi_identity(headers: dict, peer: str, hops: int = 1) -> str:
    """What VisitorMiddleware tells the app about a request with these headers from this peer."""
    seen = {}

    async def app(scope, receive, send):
        seen.update({k.decode(): v.decode() for k, v in scope["headers"]})

    scope = {"type": "http", "method": "GET", "path": "/", "client": (peer, 5000),
             "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(visitors.VisitorMiddleware(app, hops=hops)(scope, None, None))
    return visitors._verified(seen[visitors.HEADER])


def test_a_signed_identity_is_only_kept_from_gradio_s_own_loopback_and_a_forged_one_never():
    mcp_caller = asgi_identity({"x-forwarded-for": "203.0.113.7"}, peer="10.0.0.2")
    assert mcp_caller == "address:203.0.113.7"
    signed = visitors._sign(mcp_caller)
    # Gradio's MCP server calls the app through a loopback client, forwarding the MCP request's headers.
    assert asgi_identity({visitors.HEADER: signed}, peer="127.0.0.1") == mcp_caller
    # The same header from anywhere else is replaced; a made-up one too.
    assert asgi_identity({visitors.HEADER: signed}, peer="198.51.100.9") == "address:198.51.100.9"
    forged = "address:192.0.2.1|" + "0" * 32
    assert asgi_identity({visitors.HEADER: forged}, peer="127.0.0.1") == "address:127.0.0.1"


def test_rotating_forged_headers_through_the_app_stay_one_visitor(served, fake, budget, monkeypatch):
    """The launched app trusts one proxy hop: whatever the client writes to the left is ignored."""
    ledger = budget(per_visitor=3 * estimate(FAST, input_tokens=40, output_tokens=16).neurons)

    async def attack():
        async with httpx.AsyncClient(timeout=30) as http:
            results = []
            for number in range(8):  # one machine, a new made-up address each time, our proxy's entry last
                forwarded = f"10.{number}.{number}.{number}, 198.51.100.77"
                results.append(await call(http, served, "chat", ["Hi", FAST, "", 16, 0.6, ""], forwarded))
            return results

    results = asyncio.run(attack())
    assert 1 <= [event for event, _ in results].count("complete") < 8
    snapshot = ledger.snapshot(ledger.visitor("address:198.51.100.77"))
    assert 0 < snapshot.visitor <= ledger.budgets.per_visitor + 1e-9


def test_the_state_file_holds_keyed_hashes_that_cannot_be_turned_back_into_addresses(tmp_path):
    import hashlib

    ledger = Ledger(state_dir=tmp_path, now=lambda: EVENING)
    visitor = ledger.visitor("address:203.0.113.7")
    ledger.settle(ledger.reserve(visitor, "s", "chat", CHAT, estimate(FAST, input_tokens=9)), None)
    ledger.settle(ledger.reserve(visitor, "s", "chat", CHAT, estimate(FAST, input_tokens=9)),
                  estimate(FAST, input_tokens=9))
    raw = (tmp_path / "usage-cloudflare.sqlite3").read_bytes()
    assert b"203.0.113.7" not in raw
    assert hashlib.sha256(b"address:203.0.113.7").hexdigest()[:16].encode() not in raw
    assert (tmp_path / "visitor-key").stat().st_mode & 0o077 == 0, "the key is readable by the owner only"
    assert Ledger(state_dir=tmp_path).visitor("address:203.0.113.7") == visitor, "the key survives a restart"
    assert Ledger().visitor("address:203.0.113.7") != visitor, "another state dir, another key"


# ── 1. escalations are inside the budgets ───────────────────────────────────────────────────────


def test_a_system_prompt_has_a_length_limit(client, fake):
    message = refused(chat.chat("Hello", FAST, "x" * (conversation.MAX_SYSTEM_PROMPT_CHARS + 1), 64, 0.6))
    assert "system prompt" in message and f"{conversation.MAX_SYSTEM_PROMPT_CHARS:,}" in message
    assert fake.count() == 0


# ── 7. what ran is what is charged ──────────────────────────────────────────────────────────────


def test_a_chat_stopped_after_its_request_was_sent_is_charged_its_bound(budget, fake):
    ledger = budget(total=1000)
    fake.token_delay = 0.2

    async def stop_after_first_token():
        answer = chat.chat("Hello", FAST, "", 64, 0.6)
        await answer.__anext__()
        await answer.__anext__()  # the first words arrived: the visitor presses stop
        await answer.aclose()

    asyncio.run(stop_after_first_token())
    assert fake.count() == 1
    upper = estimate(FAST, input_tokens=conversation.prompt_bound([{"role": "user", "content": "Hello"}]), output_tokens=64)
    assert ledger.snapshot().total == pytest.approx(upper.neurons)


def test_a_search_whose_last_batch_failed_is_charged(budget, fake):
    ledger = budget(total=1000)
    documents = "\n".join(f"Document number {i}." for i in range(150))  # 151 texts: two batches
    # The first batch to arrive is held at Workers AI while the second is refused: the call fails with one request
    # answered later (or still running), which Cloudflare bills all the same.
    fake.fail(Fault.hang(0.3), Fault.error(400, 5006, "Bad input"), model=BGE)
    refused(embeddings.search("which document?", documents, 3, BGE))
    assert fake.count() >= 2
    sent = ["which document?", *documents.split("\n")]
    assert ledger.snapshot().total == pytest.approx(core_embeddings.cost_of(sent, BGE).neurons)


def test_the_cf_ai_neurons_header_is_the_cost(budget, fake):
    ledger = budget(total=1000)
    fake.neurons_header = "12.5"
    asyncio.run(embeddings.similarity("A cat.\nA dog.", BGE))
    assert ledger.snapshot().total == pytest.approx(12.5)
    assert "reported by Cloudflare" in ledger.last(usage.LOCAL_KEY, "similarity").basis


def test_chinese_text_is_reserved_at_a_bound_that_holds(budget, fake):
    """The old 4-characters rule counted 8 CJK characters as 2 tokens; each is one WordPiece token or more."""
    text = "东京是日本的首都" * 50
    assert core_embeddings.cost_of([text], "@cf/baai/bge-m3").neurons >= estimate(
        "@cf/baai/bge-m3", input_tokens=len(text)).neurons


# ── 8. fail closed ──────────────────────────────────────────────────────────────────────────────


def test_a_corrupt_state_file_refuses_metered_calls_instead_of_starting_at_zero(tmp_path, caplog):
    (tmp_path / "usage-cloudflare.sqlite3").write_bytes(b"this is not a database" * 100)
    ledger = Ledger(budgets=Budgets(total=100), state_dir=tmp_path)
    with pytest.raises(usage.BudgetExceeded, match="cannot read or write its usage ledger"):
        ledger.reserve("v", "s", "chat", CHAT, estimate(FAST, input_tokens=1))
    assert "usage ledger unavailable" in caplog.text


def test_a_state_dir_that_cannot_be_made_does_not_crash_the_app_and_refuses_metered_calls(tmp_path, budget, fake):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    ledger = budget(total=100, state_dir=blocker / "state")  # a folder inside a file: never creatable
    message = refused(embeddings.similarity("A cat.\nA dog.", BGE))
    assert "cannot read or write its usage ledger" in message and fake.count() == 0
    assert ledger.snapshot().total == 0  # the meter still renders


def test_without_a_budget_a_broken_state_dir_keeps_counting_in_memory(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    ledger = Ledger(state_dir=blocker / "state")
    cost = estimate(FAST, input_tokens=10)
    ledger.settle(ledger.reserve("v", "s", "chat", CHAT, cost), cost)
    assert ledger.snapshot().total == pytest.approx(cost.neurons) and "kept in memory" in caplog.text


def test_visitor_rows_end_with_their_day(tmp_path):
    clock = [EVENING]
    ledger = Ledger(state_dir=tmp_path, now=lambda: clock[0])
    cost = estimate(FAST, input_tokens=10)
    for number in range(20):
        ledger.settle(ledger.reserve(f"v{number}", "s", "chat", CHAT, cost), cost)
    clock[0] = EVENING + timedelta(days=1)
    ledger.settle(ledger.reserve("tomorrow", "s", "chat", CHAT, cost), cost)
    rows = sqlite3.connect(tmp_path / "usage-cloudflare.sqlite3").execute(
        "SELECT day, count(*) FROM spend WHERE kind='visitor' GROUP BY day").fetchall()
    assert rows == [("2026-11-27", 1)]


def test_a_reservation_left_by_a_dead_process_does_not_hold_the_budget(tmp_path):
    ledger = Ledger(budgets=Budgets(total=1), state_dir=tmp_path)
    db = sqlite3.connect(tmp_path / "usage-cloudflare.sqlite3")
    with db:
        db.execute("INSERT INTO reservations (day, visitor, neurons, pid, created) VALUES (?, 'x', 1, ?, ?)",
                   (ledger._today(), 2**22 + 12345, 0.0 + __import__("time").time()))
    ledger.reserve("v", "s", "chat", CHAT, estimate(FAST, input_tokens=10))  # does not raise


def _race(state_dir: str, results, count: int) -> None:
    ledger = Ledger(budgets=Budgets(total=1.0), state_dir=state_dir)
    cost = estimate(FAST, input_tokens=1000)  # 27.17 neurons per 1M input tokens: 0.0272 per call
    granted = 0
    for _ in range(count):
        try:
            reservation = ledger.reserve("same", "s", "chat", CHAT, cost)
        except usage.BudgetExceeded:
            continue
        ledger.settle(reservation, cost)
        granted += 1
    results.put(granted)


def test_two_processes_sharing_a_state_dir_never_overspend_together(tmp_path):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_race, args=(str(tmp_path), results, 40)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    granted = results.get(timeout=5) + results.get(timeout=5)
    per_call = estimate(FAST, input_tokens=1000).neurons
    assert granted == int(1.0 / per_call)  # exactly as many as fit, whichever process got them
    assert Ledger(state_dir=tmp_path).snapshot().total <= 1.0 + 1e-9


def test_ledger_writes_run_off_the_event_loop(tmp_path, budget, fake, monkeypatch):
    budget(total=1000, state_dir=tmp_path)
    threads = []
    original = ledger_store.Store.transaction

    def spy(self):
        threads.append(__import__("threading").current_thread().name)
        return original(self)

    monkeypatch.setattr(ledger_store.Store, "transaction", spy)
    asyncio.run(embeddings.similarity("A cat.\nA dog.", BGE))
    assert len(threads) == 2 and all(name != "MainThread" for name in threads)


# ── 9. one visitor cannot fill the queue ────────────────────────────────────────────────────────


def test_one_visitor_gets_a_few_jobs_at_most_while_another_is_served(served, fake):
    fake.token_delay = 0.1  # 13 tokens: each chat holds its place for ~1.3 s

    async def scenario():
        async with httpx.AsyncClient(timeout=60) as http:
            abuser = [call(http, served, "chat", [f"Spam {i}", FAST, "", 16, 0.6, ""], f"10.0.0.{i}, 198.51.100.66") for i in range(10)]
            honest = call(http, served, "chat", ["Hello", FAST, "", 16, 0.6, ""], "198.51.100.5")
            return await asyncio.gather(*abuser), await honest

    async def refused_joins():
        async with httpx.AsyncClient(timeout=60) as http:
            posted = [http.post(f"{served}gradio_api/call/chat", json={"data": ["x", FAST, "", 16, 0.6, ""]},
                                headers={"x-forwarded-for": "198.51.100.67"}) for _ in range(8)]
            answers = await asyncio.gather(*posted)
            for answer in answers:  # the admitted jobs run to their end here, not into the next test
                if answer.status_code == 200:
                    await http.get(f"{served}gradio_api/call/chat/{answer.json()['event_id']}")
            return answers

    abuser, honest = asyncio.run(scenario())
    assert honest[0] == "complete"
    assert [event for event, _ in abuser].count("complete") >= visitors.MAX_JOBS_PER_VISITOR
    answers = asyncio.run(refused_joins())
    too_many = [a for a in answers if a.status_code == 429]
    assert len(too_many) >= 8 - visitors.MAX_JOBS_PER_VISITOR
    assert too_many[0].json()["detail"] == visitors.TOO_MANY_JOBS

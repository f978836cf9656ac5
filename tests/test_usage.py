"""The ledger and its budgets: totals, refusals before any request, the UTC day, races, persistence, visitors."""

import asyncio
import threading
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import gradio as gr
import soundfile
import pytest

from components.tabs import chat, embeddings, speech, vision
from components.core import usage
from components.core.usage import Budgets, Ledger, visitor_key
from components.workers_ai import CHAT, EMBEDDINGS, SPEECH, VISION, estimate
from tests.conftest import ASSETS
from tests.fake_workers_ai import Fault

FAST = "@cf/meta/llama-3.1-8b-instruct-fast"
RESNET = "@cf/microsoft/resnet-50"
IMAGE = estimate(RESNET, images=1)  # 0.228055 neurons
EVENING = datetime(2026, 11, 26, 20, 48, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def spend(ledger: Ledger, cost, visitor="ada", session="s1", action="classify", task=VISION):
    ledger.settle(ledger.reserve(visitor, session, action, task, cost), cost)


# ── totals ──────────────────────────────────────────────────────────────────────────────────


def test_totals_per_day_visitor_model_and_task():
    ledger = Ledger(now=Clock(EVENING))
    spend(ledger, IMAGE, visitor="ada", session="s1")
    spend(ledger, IMAGE, visitor="ada", session="s2")
    spend(ledger, estimate(FAST, input_tokens=1000, output_tokens=500), visitor="bob", session="s3",
          action="chat", task=CHAT)

    ada = ledger.snapshot("ada", "s1")
    assert ada.day == "2026-11-26" and ada.calls == 3
    assert ada.total == pytest.approx(2 * 0.228055 + 21.553)
    assert ada.visitor == pytest.approx(2 * 0.228055)
    assert ada.today == pytest.approx({(VISION, RESNET): 2 * 0.228055, (CHAT, FAST): 21.553})
    assert ada.session == pytest.approx({(VISION, RESNET): 0.228055})
    assert ledger.snapshot("bob", "s3").visitor == pytest.approx(21.553)
    assert ledger.last("s3", "chat").neurons == pytest.approx(21.553)


def test_a_call_that_never_ran_costs_nothing_and_frees_its_reservation():
    ledger = Ledger(budgets=Budgets(total=0.3), now=Clock(EVENING))
    reservation = ledger.reserve("ada", "s1", "classify", VISION, IMAGE)
    with pytest.raises(usage.BudgetExceeded):  # the first call holds 0.228 of 0.3
        ledger.reserve("bob", "s2", "classify", VISION, IMAGE)
    ledger.settle(reservation, None)
    assert ledger.snapshot().total == 0 and ledger.last("s1", "classify") is None
    spend(ledger, IMAGE, visitor="bob")  # released: the next call fits


def test_an_unpriced_model_is_counted_as_a_call_but_not_as_neurons():
    ledger = Ledger(now=Clock(EVENING))
    unknown = estimate("@cf/someone/new-model", images=1)
    spend(ledger, unknown)
    assert ledger.snapshot().calls == 1 and ledger.snapshot().total == 0
    assert ledger.last("s1", "classify").describe() == "price unknown for new-model"


# ── refusals before any request ─────────────────────────────────────────────────────────────


def classify():
    return asyncio.run(vision.classify(str(ASSETS / "cat-chelsea.png"), RESNET))


async def drain(generator):
    async for _ in generator:
        pass


CALLS = {
    "classify": classify,
    "chat": lambda: asyncio.run(drain(chat.chat("Hello", FAST, "", 64, 0.6))),
    "transcribe": lambda: asyncio.run(speech.transcribe(str(ASSETS / "speech-fox.wav"), "@cf/openai/whisper")),
    "similarity": lambda: asyncio.run(embeddings.similarity("A cat.\nA dog.", "@cf/baai/bge-small-en-v1.5")),
    "search": lambda: asyncio.run(embeddings.search("cat", "A cat.\nA dog.", 1, "@cf/baai/bge-small-en-v1.5")),
}


@pytest.mark.parametrize("name", CALLS)
def test_a_used_up_budget_refuses_before_any_request(budget, fake, name):
    budget(total=0)
    with pytest.raises(gr.Error) as refused:
        CALLS[name]()
    assert fake.count() == 0
    assert "This demo's daily budget of 0 neurons is used up; it resets at 00:00 UTC (in " in refused.value.message


def test_the_refusal_says_when_the_budget_resets(budget, fake):
    ledger = budget(per_visitor=0.3, now=Clock(EVENING))
    classify()
    with pytest.raises(gr.Error) as refused:
        classify()
    assert fake.count() == 1
    assert refused.value.message == (
        "Your daily budget on this demo of 0.3 neurons has 0.0719 left, and this request could need up to 0.228; "
        "it resets at 00:00 UTC (in 3 h 12 min)."
    )
    assert ledger.snapshot(usage.LOCAL_KEY).visitor == pytest.approx(0.228055)


def test_chat_reserves_its_max_tokens_and_is_charged_its_usage(budget, fake):
    ledger = budget(total=10)
    with pytest.raises(gr.Error, match="could need up to 143.*A lower Max tokens needs less"):
        asyncio.run(drain(chat.chat("Hello", FAST, "", 4096, 0.6)))  # 4,096 × 34,868 / 1e6 ≈ 142.8 neurons
    assert fake.count() == 0
    asyncio.run(drain(chat.chat("Hello", FAST, "", 64, 0.6)))
    usage_reported = estimate(FAST, input_tokens=1, output_tokens=len(fake.stream_tokens))  # the fake counts words
    assert ledger.snapshot().total == pytest.approx(usage_reported.neurons)


def test_a_model_without_a_price_is_refused_while_a_budget_is_set(budget, fake):
    budget(total=1000)
    with pytest.raises(gr.Error, match="has no known price"):
        asyncio.run(vision.classify(str(ASSETS / "cat-chelsea.png"), "@cf/someone/new-classifier"))
    assert fake.count() == 0


def test_a_failed_call_is_not_charged(budget, fake):
    ledger = budget(total=1000)
    fake.fail(Fault.error(400, 5006, "AiError: Bad input: image could not be decoded"))
    with pytest.raises(gr.Error, match="rejected the input"):
        classify()
    assert ledger.snapshot().total == 0 and ledger.snapshot().calls == 0


def test_budgets_come_from_the_environment_and_bound_workers_ai_only(monkeypatch, tmp_path):
    monkeypatch.setenv("DEMO_NEURON_BUDGET_PER_VISITOR", "500")
    monkeypatch.setenv("DEMO_NEURON_BUDGET_TOTAL", "5,000")
    monkeypatch.setenv("DEMO_STATE_DIR", str(tmp_path))
    cloud = Ledger.from_env("cloudflare")
    assert cloud.budgets == Budgets(per_visitor=500, total=5000) and cloud.state_dir == tmp_path
    assert not Ledger.from_env("local").budgets.active  # offline calls cost nothing: nothing to refuse
    assert not Budgets.from_env({}).active


@pytest.mark.parametrize("value", ["lots", "-5", "nan"])
def test_a_mistyped_budget_stops_the_app_instead_of_leaving_it_unbounded(value):
    with pytest.raises(ValueError, match="DEMO_NEURON_BUDGET_TOTAL must be a number of neurons"):
        Budgets.from_env({"DEMO_NEURON_BUDGET_TOTAL": value})


# ── the UTC day ─────────────────────────────────────────────────────────────────────────────


def test_the_budget_comes_back_at_midnight_utc():
    clock = Clock(datetime(2026, 11, 26, 23, 59, 10, tzinfo=timezone.utc))
    ledger = Ledger(budgets=Budgets(total=0.3), now=clock)
    spend(ledger, IMAGE)
    with pytest.raises(usage.BudgetExceeded, match=r"resets at 00:00 UTC \(in 1 min\)"):
        ledger.reserve("ada", "s1", "classify", VISION, IMAGE)

    clock.now += timedelta(minutes=1)  # 00:00:10 on the 27th
    assert ledger.snapshot("ada").total == 0 and ledger.snapshot("ada").day == "2026-11-27"
    spend(ledger, IMAGE)
    assert ledger.snapshot("ada").visitor == pytest.approx(0.228055)


def test_a_call_that_crosses_midnight_is_charged_to_the_new_day():
    clock = Clock(datetime(2026, 11, 26, 23, 59, 59, tzinfo=timezone.utc))
    ledger = Ledger(budgets=Budgets(total=0.3), now=clock)
    reservation = ledger.reserve("ada", "s1", "classify", VISION, IMAGE)
    clock.now += timedelta(seconds=2)
    ledger.settle(reservation, IMAGE)
    assert ledger.snapshot("ada").day == "2026-11-27"
    assert ledger.snapshot("ada").total == pytest.approx(0.228055)
    with pytest.raises(usage.BudgetExceeded):  # charged today, and yesterday's hold did not leak into today
        ledger.reserve("bob", "s2", "classify", VISION, IMAGE)


# ── races ───────────────────────────────────────────────────────────────────────────────────


def test_threads_racing_for_the_last_neurons_never_overshoot():
    ledger = Ledger(budgets=Budgets(total=5 * 0.228055), now=Clock(EVENING))
    start, granted, refused = threading.Barrier(20), [], []

    def call(number: int):
        start.wait()
        try:
            reservation = ledger.reserve(f"visitor-{number}", f"s{number}", "classify", VISION, IMAGE)
        except usage.BudgetExceeded:
            refused.append(number)
            return
        granted.append(number)
        ledger.settle(reservation, IMAGE)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 5 and len(refused) == 15
    assert ledger.snapshot().total == pytest.approx(5 * 0.228055)


def test_twenty_concurrent_chats_cannot_overshoot_the_budget_by_more_than_one_call(budget, fake):
    fake.token_delay = 0.02  # 13 tokens: each stream takes ~0.3 s, so all twenty overlap
    ledger = budget(total=3)
    one_call = estimate(FAST, input_tokens=2, output_tokens=16).neurons  # the bound reserved for each call

    async def one(number: int) -> str:
        try:
            await drain(chat.chat(f"Hello {number}", FAST, "", 16, 0.6))
            return "answered"
        except gr.Error as error:
            return error.message

    async def all_at_once():
        return await asyncio.gather(*(one(n) for n in range(20)))

    results = asyncio.run(all_at_once())
    answered = results.count("answered")
    assert fake.max_in_flight >= 2, "the calls did not overlap"
    assert 1 <= answered == fake.count() < 20
    assert all(r.startswith("This demo's daily budget of 3 neurons") for r in results if r != "answered")
    assert ledger.snapshot().total <= 3 + one_call


# ── persistence ─────────────────────────────────────────────────────────────────────────────


def test_the_day_survives_a_restart_through_the_state_dir(tmp_path):
    clock = Clock(EVENING)
    first = Ledger(state_dir=tmp_path, now=clock)
    spend(first, IMAGE, visitor="ada")
    spend(first, estimate(FAST, input_tokens=1000, output_tokens=500), visitor="bob", action="chat", task=CHAT)

    assert (tmp_path / "usage-cloudflare.sqlite3").exists() and (tmp_path / "visitor-key").exists()
    restarted = Ledger(budgets=Budgets(per_visitor=0.5), state_dir=tmp_path, now=clock)
    snapshot = restarted.snapshot("ada")
    assert snapshot.total == pytest.approx(21.781055) and snapshot.calls == 2
    assert snapshot.visitor == pytest.approx(0.228055)
    assert snapshot.today == pytest.approx({(VISION, RESNET): 0.228055, (CHAT, FAST): 21.553})
    spend(restarted, IMAGE, visitor="ada")
    with pytest.raises(usage.BudgetExceeded):  # 3 × 0.228 > 0.5: the restart did not forget Ada's first call
        spend(restarted, IMAGE, visitor="ada")

    clock.now += timedelta(days=1)
    assert Ledger(state_dir=tmp_path, now=clock).snapshot().total == 0  # another day starts from zero


def test_offline_and_workers_ai_keep_separate_files(tmp_path):
    spend(Ledger("local", state_dir=tmp_path, now=Clock(EVENING)), IMAGE)
    assert Ledger("cloudflare", state_dir=tmp_path, now=Clock(EVENING)).snapshot().total == 0


# ── who is a visitor ────────────────────────────────────────────────────────────────────────


def request(headers=None, host=None, session="session-1"):
    return gr.Request(headers=headers or {}, client={"host": host, "port": 1234}, session_hash=session)


def test_a_visitor_is_the_peer_whatever_the_session_and_never_an_address_in_clear(monkeypatch):
    monkeypatch.setenv("DEMO_TRUSTED_PROXY_HOPS", "0")  # the default off a Space: the header is ignored
    forged = request({"x-forwarded-for": "198.51.100.9"}, host="203.0.113.7", session="first-load")
    direct = request(host="203.0.113.7", session="after-a-reload")
    assert visitor_key(forged) == visitor_key(direct), "same peer, same visitor: a forged header changes nothing"
    assert visitor_key(request(host="198.51.100.1")) != visitor_key(direct)
    assert visitor_key(request(session="a")) != visitor_key(request(session="b")), "no address: the session"
    assert visitor_key(SimpleNamespace(session_hash="a")) == visitor_key(request(session="a"))
    assert visitor_key(None) == usage.LOCAL_KEY
    assert "203.0.113.7" not in visitor_key(direct)


def test_reloading_the_page_keeps_the_visitor_s_count():
    ledger = Ledger(budgets=Budgets(per_visitor=0.3), now=Clock(EVENING))
    first, reloaded = request(host="203.0.113.7", session="first"), request(host="203.0.113.7", session="second")
    spend(ledger, IMAGE, visitor=visitor_key(first), session="first")
    with pytest.raises(usage.BudgetExceeded, match="Your daily budget"):
        ledger.reserve(visitor_key(reloaded), "second", "classify", VISION, IMAGE)


def test_the_per_session_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(usage, "MAX_SESSIONS", 3)
    ledger = Ledger(now=Clock(EVENING))
    for number in range(10):
        spend(ledger, IMAGE, session=f"s{number}")
    assert ledger.snapshot(session="s9").session and not ledger.snapshot(session="s0").session
    assert ledger.snapshot().total == pytest.approx(10 * 0.228055), "the day's totals keep every call"


# ── offline ─────────────────────────────────────────────────────────────────────────────────


def test_offline_answers_show_what_they_would_cost_on_workers_ai(offline_served):
    asyncio.run(vision.classify(str(ASSETS / "coffee-cup.png"), "@local/efficientnet-lite0"))
    cost = usage.shared_ledger().last(usage.LOCAL_KEY, "classify")
    assert usage.shared_ledger().backend == "local"
    assert cost.priced_as == RESNET and cost.neurons == pytest.approx(0.228055)
    assert cost.describe(offline=True).startswith("Workers AI would charge est. 0.228 neurons")


def test_speech_and_embeddings_are_charged_what_they_used(budget, fake):
    ledger = budget(total=1000)
    CALLS["transcribe"]()
    CALLS["search"]()
    spent = ledger.snapshot().today
    # speech-fox.wav lasts 2.6 s; the search embeds "cat", "A cat." and "A dog.": 3 + 5 + 5 WordPiece tokens with
    # [CLS] and [SEP] (or, without the tokenizer installed, their UTF-8 bytes + 2 each: a bound that holds)
    from components.core.tokens import embedding_tokens

    seconds = soundfile.info(str(ASSETS / "speech-fox.wav")).duration  # a plain WAV: its header is its length
    assert spent[(SPEECH, "@cf/openai/whisper")] == pytest.approx(seconds / 60 * 41.14, rel=1e-4)
    tokens = embedding_tokens(["cat", "A cat.", "A dog."], "@cf/baai/bge-small-en-v1.5")
    assert tokens in (13, 3 + 6 + 6 + 6)
    assert spent[(EMBEDDINGS, "@cf/baai/bge-small-en-v1.5")] == pytest.approx(tokens * 1841 / 1e6)

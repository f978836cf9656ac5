"""core/first_results.py and core/model_loading.py, without a page: examples' answers kept per backend and model
(computed once, reused, never across backends, never a failure), and the offline models' loading notes."""

import asyncio

import pytest

from components import workers_ai
from components.core import backend
from components.core.first_results import FirstResults
from components.core.model_loading import LOADS, load_ahead, loading_note, must_load
from components.local.models import LocalModel
from components.workers_ai import VISION


class Calls:
    """An answer's computation that counts how often it really ran."""

    def __init__(self, value="answer", fail: Exception | None = None, delay: float = 0.0):
        self.value, self.fail, self.delay, self.count = value, fail, delay, 0

    async def __call__(self):
        self.count += 1
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return f"{self.value} {self.count}"


@pytest.fixture
def two_backends():
    """Two clients, the first installed as the shared one; the app's default comes back afterwards."""
    first, second = workers_ai.WorkersAI(workers_ai.Settings()), workers_ai.WorkersAI(workers_ai.Settings())
    backend.use_client(first)
    yield first, second
    backend.use_client(workers_ai.WorkersAI(workers_ai.Settings()))


def test_an_answer_is_computed_once_then_reused(two_backends):
    store, compute = FirstResults(clock=lambda: 1000.0), Calls()
    first = asyncio.run(store.get(("classify", "m", "cat"), compute))
    again = asyncio.run(store.get(("classify", "m", "cat"), compute))
    other = asyncio.run(store.get(("classify", "other-model", "cat"), compute))
    assert (first.value, first.reused, first.made) == ("answer 1", False, 1000.0)
    assert (again.value, again.reused) == ("answer 1", True)
    assert (other.value, other.reused) == ("answer 2", False)  # another model is another answer
    assert compute.count == 2


def test_answers_belong_to_the_backend_that_computed_them(two_backends):
    first, second = two_backends
    store, compute = FirstResults(), Calls()
    asyncio.run(store.get("cat", compute))
    backend.use_client(second)  # e.g. the offline engine instead of Cloudflare
    on_second = asyncio.run(store.get("cat", compute))
    assert (on_second.value, on_second.reused) == ("answer 2", False)
    backend.use_client(first)
    assert asyncio.run(store.get("cat", compute)).value == "answer 1"
    assert compute.count == 2


def test_a_failure_is_raised_and_never_kept(two_backends):
    store = FirstResults()
    with pytest.raises(RuntimeError, match="budget"):
        asyncio.run(store.get("cat", Calls(fail=RuntimeError("budget used up"))))
    compute = Calls()
    assert asyncio.run(store.get("cat", compute)).reused is False and compute.count == 1


def test_a_visitor_clicking_while_the_same_answer_runs_waits_for_it_instead_of_sending_again(two_backends):
    store, compute = FirstResults(), Calls(delay=0.05)

    async def both():
        return await asyncio.gather(store.get("cat", compute), store.get("cat", compute))

    first, second = asyncio.run(both())
    assert compute.count == 1
    assert (first.reused, second.reused) == (False, True) and first.value == second.value


def test_when_the_running_answer_fails_the_waiting_visitor_computes_their_own(two_backends):
    """A refusal (that visitor's budget) is not the other visitor's: they get their own try."""
    store = FirstResults()
    failing, working = Calls(fail=RuntimeError("your budget"), delay=0.05), Calls()

    async def both():
        return await asyncio.gather(store.get("cat", failing), store.get("cat", working), return_exceptions=True)

    refused, answered = asyncio.run(both())
    assert isinstance(refused, RuntimeError)
    assert (answered.value, answered.reused) == ("answer 1", False) and working.count == 1


def test_old_or_unusable_answers_are_computed_again(two_backends):
    now = [0.0]
    store, compute = FirstResults(clock=lambda: now[0]), Calls()
    asyncio.run(store.get("cat", compute, max_age=60))
    now[0] = 59.0
    assert asyncio.run(store.get("cat", compute, max_age=60)).reused
    now[0] = 61.0
    assert not asyncio.run(store.get("cat", compute, max_age=60)).reused
    assert not asyncio.run(store.get("cat", compute, usable=lambda value: False)).reused
    assert compute.count == 3


def test_the_store_is_bounded_least_recently_used_first(two_backends):
    store, compute = FirstResults(max_entries=2), Calls()
    for key in ("a", "b", "a", "c"):  # "a" used again, so "b" is the one to go
        asyncio.run(store.get(key, compute))
    assert asyncio.run(store.get("a", compute)).reused and asyncio.run(store.get("c", compute)).reused
    assert not asyncio.run(store.get("b", compute)).reused


def test_a_workers_ai_model_never_loads():
    assert not must_load("@cf/microsoft/resnet-50") and loading_note("@cf/microsoft/resnet-50") == ""
    assert asyncio.run(load_ahead("@cf/microsoft/resnet-50")) is False
    assert loading_note("") == "" and loading_note("@local/not-a-model") == ""


def test_an_offline_model_says_how_long_its_first_load_takes_and_loads_ahead():
    """A fresh entry of the real EfficientNet-Lite0 (the engine's own is shared by the whole test run)."""
    name = "@local/efficientnet-lite0"
    models = {name: LocalModel(name, VISION, "EfficientNet-Lite0", ".image_model:ImageClassifier")}
    assert must_load(name, models)
    assert loading_note(name, models) == "Loading EfficientNet-Lite0 (under a second, first time only)…"
    assert asyncio.run(load_ahead(name, models)) is True
    assert models[name].loaded and loading_note(name, models) == ""
    assert asyncio.run(load_ahead(name, models)) is False  # once per process


def test_every_offline_model_has_a_measured_load_time():
    from components.local import MODELS

    assert set(LOADS) == set(MODELS)
    whisper = {"@local/whisper-tiny-en": LocalModel("@local/whisper-tiny-en", "x", "", "")}
    assert loading_note("@local/whisper-tiny-en", whisper) == "Loading Whisper tiny.en (about 1 s, first time only)…"

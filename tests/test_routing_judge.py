"""The routing judges on the labelled set: the set itself, the scoring maths, and each judge's behaviour."""

import numpy as np
import pytest

from components.core.embeddings import embed
from components.core.routing import COMPLEX, SIMPLE, EmbeddingJudge, KeywordJudge, LLMJudge, labelled_set
from components.core.routing import judge as j
from tests.routing_fixtures import *  # noqa: F403
from tests.routing_fixtures import COMPLEX_PROMPT, EMBED_MODEL, SIMPLE_PROMPT


def accuracy(scores, labels):
    return sum((s >= j.THRESHOLD) == (label == COMPLEX) for s, label in zip(scores, labels)) / len(labels)


def test_the_labelled_set_is_large_balanced_and_distinct():
    examples = labelled_set()
    labels = [label for _, label in examples]
    assert len(examples) >= 60
    assert labels.count(SIMPLE) == labels.count(COMPLEX)
    assert set(labels) == {SIMPLE, COMPLEX}
    assert len({text for text, _ in examples}) == len(examples), "no prompt twice"
    assert all(len(text) > 5 for text, _ in examples)


def test_centroid_and_knn_leave_the_scored_exemplar_out():
    # Two clusters; exemplar 0 sits among the complex ones but is labelled simple. Scored with itself left
    # out, it must come out complex: it is never its own evidence.
    vectors = j.normalise(np.array([[1.0, 0.05], [1.0, 0.0], [0.98, 0.1], [0.0, 1.0], [0.1, 1.0]]))
    labels = [SIMPLE, COMPLEX, COMPLEX, SIMPLE, SIMPLE]
    assert j.centroid_score(vectors[0], vectors, labels, exclude=0)[0] > 0.5
    assert j.knn_score(vectors[0], vectors, labels, k=2, exclude=0)[0] > 0.5
    assert j.centroid_score(vectors[3], vectors, labels, exclude=3)[0] < 0.5


def test_keyword_judge_on_the_labelled_set():
    judge = KeywordJudge()
    examples = labelled_set()
    scores = [judge.score(text)[0] for text, _ in examples]
    assert accuracy(scores, [label for _, label in examples]) >= 0.85
    verdict = collect_one(judge.judge(COMPLEX_PROMPT))
    assert verdict.complex and verdict.cost is None and "words" in verdict.reason


def collect_one(coroutine):
    import asyncio

    return asyncio.run(coroutine)


def test_embedding_judge_leave_one_out_with_the_real_offline_model(offline_engine_client):
    """MiniLM, the offline engine's real embedding model: each prompt judged against the others only."""
    from components.core import backend
    from components import workers_ai

    backend.use_client(offline_engine_client)
    try:
        examples = labelled_set()
        texts, labels = [t for t, _ in examples], [label for _, label in examples]
        vectors = collect_one(embed(texts, j.EMBEDDING_MODELS["local"]))
        scores = [j.centroid_score(vectors[i], vectors, labels, exclude=i)[0] for i in range(len(texts))]
        assert accuracy(scores, labels) >= 0.9  # measured 96% (bench/bench_judge.py)
        verdict = collect_one(EmbeddingJudge().judge("Design a sharded job queue and compare its failure modes."))
        assert verdict.complex and verdict.judge == "embedding · all-minilm-l6-v2"
        assert verdict.cost.priced_as == EMBED_MODEL  # offline: what Workers AI would charge
    finally:
        backend.use_client(workers_ai.WorkersAI(workers_ai.Settings()))


def test_embedding_judge_embeds_its_examples_once_and_meters_each_message(client, fake, budget):
    ledger = budget()
    judge = EmbeddingJudge()
    first = collect_one(judge.judge(SIMPLE_PROMPT))
    second = collect_one(judge.judge(COMPLEX_PROMPT))
    bodies = [r.json for r in fake.requests if r.model == EMBED_MODEL]
    assert [len(b["text"]) for b in bodies] == [len(labelled_set()), 1, 1], "examples once, then one text each"
    assert first.label == SIMPLE and second.label == COMPLEX
    # Each verdict costs its own message only; the examples' one-off embedding is metered, not billed to it.
    assert first.cost.neurons == pytest.approx(1841 * j.embedding_tokens([SIMPLE_PROMPT], EMBED_MODEL) / 1e6)
    assert second.cost.neurons == pytest.approx(1841 * j.embedding_tokens([COMPLEX_PROMPT], EMBED_MODEL) / 1e6)
    examples = j.embedding_tokens([text for text, _ in labelled_set()], EMBED_MODEL)
    charged = ledger.snapshot().today[("Text Embeddings", EMBED_MODEL)]
    assert charged == pytest.approx(first.cost.neurons + second.cost.neurons + 1841 * examples / 1e6)
    assert 0 <= first.score < 0.5 <= second.score <= 1


def test_embedding_judge_refuses_an_unusable_answer_so_the_router_can_fall_back(client, fake, budget):
    """The judge embeds through core.embeddings.embed: a reply that is not one vector per text is a ProtocolError."""
    import json

    from components.workers_ai import ProtocolError
    from tests.fake_workers_ai import Fault

    body = {"result": {"shape": [1, 3], "data": [[0.1, 0.2, 0.3]]}, "success": True, "errors": [], "messages": []}
    fake.fail(Fault.raw(200, json.dumps(body), content_type="application/json"), model=EMBED_MODEL)
    with pytest.raises(ProtocolError, match="returned unusable embeddings"):
        collect_one(EmbeddingJudge().judge(SIMPLE_PROMPT))


@pytest.mark.parametrize(("said", "label", "score"), [("COMPLEX", COMPLEX, 1.0), ("Simple.", SIMPLE, 0.0),
                                                      ("Maybe", COMPLEX, 0.5)])
def test_llm_judge_reads_one_word(client, fake, said, label, score):
    fake.stream_tokens = [said]
    verdict = collect_one(LLMJudge().judge(COMPLEX_PROMPT))
    assert (verdict.label, verdict.score) == (label, score)
    sent = fake.requests[-1]
    assert sent.model == "@cf/meta/llama-3.2-1b-instruct" and sent.json["max_tokens"] == 4
    assert verdict.cost.known


def test_the_default_judge_is_the_embedding_judge():
    from components.core.routing import default_judge

    assert isinstance(default_judge(), EmbeddingJudge) and default_judge().method == "centroid"

"""Embeddings against the fake Workers AI server (bag-of-words bge vectors: shared words = closer): the one `embed`
and the tools' sums (components/core/embeddings.py), and the tab's endpoints and pictures."""

import asyncio
import json

import gradio as gr
import httpx
import numpy as np
import plotly.graph_objects as go
import pytest

from components import workers_ai
from components.core import backend
from components.core import embeddings as core
from components.core.embeddings import MAX_CORPUS, embed
from components.tabs import embeddings
from components.tabs.embeddings import search, similarity
from components.ui.embedding_plots import heatmap_figure, map_figure, pca_2d, short_labels
from tests.fake_workers_ai import Fault
from tests.fake_workers_ai.embeddings import embed as fake_vector

BASE = "@cf/baai/bge-base-en-v1.5"
SMALL = "@cf/baai/bge-small-en-v1.5"


def run(coro):
    return asyncio.run(coro)


def sent_texts(fake) -> list[str]:
    """Every text that went upstream, over all recorded /ai/run requests."""
    texts = []
    for request in fake.requests:
        texts.extend(request.json["text"])
    return texts


def envelope(result) -> Fault:
    """A 200 answer with a well-formed envelope around whatever `result` the test wants."""
    body = {"result": result, "success": True, "errors": [], "messages": []}
    return Fault.raw(200, json.dumps(body), content_type="application/json")


# ── embed ───────────────────────────────────────────────────────────────────────────────────


def test_250_texts_go_out_in_three_requests_of_at_most_100(client, fake):
    texts = [f"document number {i} about topic {i % 7}" for i in range(250)]
    vectors = run(embed(texts, BASE))

    assert fake.count(BASE) == 3
    assert sorted(len(r.json["text"]) for r in fake.requests) == [50, 100, 100]
    assert sorted(sent_texts(fake)) == sorted(texts)
    assert vectors.shape == (250, 768)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    for i in (0, 99, 100, 249):  # rows come back in the order given, whatever order the batches finished in
        expected = np.asarray(fake_vector(texts[i], 768, "mean"))
        assert np.allclose(vectors[i], expected / np.linalg.norm(expected), atol=1e-5)


def test_identical_texts_are_embedded_once_and_mapped_back(client, fake):
    texts = ["red apples", "green pears", "red apples", "red apples", "green pears", "blue sky"]
    vectors = run(embed(texts, BASE))

    assert fake.count() == 1
    assert sent_texts(fake) == ["red apples", "green pears", "blue sky"]
    assert vectors.shape == (6, 768)
    assert np.array_equal(vectors[0], vectors[2]) and np.array_equal(vectors[0], vectors[3])
    assert np.array_equal(vectors[1], vectors[4])
    assert not np.allclose(vectors[0], vectors[5])


def test_the_chosen_model_reaches_the_request_path(client, fake):
    vectors = run(embed(["hello world", "goodbye world"], SMALL))

    assert fake.count(SMALL) == 1 and fake.count(BASE) == 0
    assert fake.requests[0].path.endswith(f"/ai/run/{SMALL}")
    assert vectors.shape == (2, 384)  # bge-small is 384 wide


def test_batches_run_concurrently_but_bounded():
    """1,000 texts are ten requests: they overlap, yet never more than PARALLEL_BATCHES at once."""
    active = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.02)
        active -= 1
        texts = json.loads(request.content)["text"]
        data = [[float(len(t)), 1.0, 0.0] for t in texts]
        return httpx.Response(200, json={"result": {"shape": [len(texts), 3], "data": data}, "success": True})

    settings = workers_ai.Settings(account_id="acct", api_token="token")
    backend.use_client(workers_ai.WorkersAI(settings, transport=httpx.MockTransport(handler)))
    try:
        vectors = run(embed([f"text {i}" for i in range(1000)], BASE))
    finally:
        backend.use_client(workers_ai.WorkersAI(workers_ai.Settings()))
    assert vectors.shape == (1000, 3)
    assert 1 < peak <= core.PARALLEL_BATCHES


def test_the_core_needs_no_page_and_returns_plain_data(client, fake):
    """core.embeddings imports no gradio, plotly or pandas; its tools answer with texts, arrays and rows."""
    import subprocess
    import sys

    probe = ("import sys, components.core.embeddings, components.core.costs; "
             "print(sorted(m for m in ('gradio', 'plotly', 'pandas') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "[]\n"

    compared = run(core.compare(core.sentences_to_compare("red apples\n\n  green pears \nred apples"), BASE))
    assert compared.texts == ["red apples", "green pears", "red apples"]
    assert compared.vectors.shape == (3, 768) and compared.matrix.shape == (3, 3)
    assert np.allclose(compared.matrix, compared.vectors @ compared.vectors.T) and compared.matrix[0, 2] == 1.0
    rows = run(core.rank(*core.search_inputs(" green pears ", "red apples\ngreen pears\nblue sky"), 2, BASE))
    assert [(rank, text) for rank, _, text in rows] == [(1, "green pears"), (2, "red apples")]
    assert rows[0][1] == 1.0 and all(type(score) is float for _, score, _ in rows)


def test_a_blank_model_is_the_live_backends_default_chosen_at_call_time(client, fake):
    import inspect

    for endpoint in (similarity, search):
        assert inspect.signature(endpoint).parameters["model"].default == "", endpoint.__name__
    run(similarity("the cat sat\nthe dog ran"))
    run(search("cat", "the cat sat\nthe dog ran", 1, "  "))
    assert fake.count(BASE) == 2


# ── similarity ──────────────────────────────────────────────────────────────────────────────

SENTENCES = """
  the cat sat on the mat
the cat sat on a mat today

quarterly revenue growth beat analyst forecasts
"""


def test_similarity_matrix_is_symmetric_with_ones_on_the_diagonal(client, fake):
    heatmap, sentence_map, table = run(similarity(SENTENCES, BASE))

    assert fake.count(BASE) == 1
    assert list(table.columns) == ["sentence", *table["sentence"]]
    matrix = table.set_index("sentence").to_numpy(dtype=float)
    assert matrix.shape == (3, 3)
    assert np.allclose(matrix, matrix.T)
    assert np.allclose(np.diag(matrix), 1.0)
    assert matrix[0, 1] > matrix[0, 2] and matrix[0, 1] > matrix[1, 2]  # the paraphrase pair wins
    assert (table.iloc[:, 1:].round(3) == table.iloc[:, 1:]).all().all()

    assert isinstance(heatmap, go.Figure) and heatmap.data[0].type == "heatmap"
    assert list(heatmap.data[0].x) == ["the cat sat on the mat", "the cat sat on a mat today",
                                       "quarterly revenue growth be…"]
    assert "quarterly revenue growth beat analyst forecasts" in heatmap.data[0].text[2][0]  # hover: full text
    assert isinstance(sentence_map, go.Figure) and len(sentence_map.data[0].x) == 3


def test_two_sentences_work_and_duplicate_lines_get_unique_labels(client, fake):
    heatmap, sentence_map, table = run(similarity("same words here\nsame words here", BASE))

    assert sent_texts(fake) == ["same words here"]
    assert list(table["sentence"]) == ["same words here", "same words here (2)"]
    assert table.iloc[0, 2] == 1.0
    assert np.isfinite(sentence_map.data[0].x).all() and np.isfinite(sentence_map.data[0].y).all()


def test_one_sentence_is_refused_with_a_clear_sentence(client, fake):
    with pytest.raises(gr.Error) as caught:
        run(similarity("   only this one   \n\n   \n", BASE))
    assert caught.value.message == "Enter at least two sentences, one per line, to compare."
    assert fake.count() == 0


def test_ten_thousand_lines_are_refused_before_any_request(client, fake):
    lines = "\n".join(f"sentence {i}" for i in range(10_000))
    with pytest.raises(gr.Error) as caught:
        run(similarity(lines, BASE))
    assert "at most 100 sentences" in caught.value.message and "10,000" in caught.value.message
    assert fake.count() == 0


def test_an_upstream_error_becomes_a_clear_message(client, fake):
    fake.fail(Fault.error(400, 5006, "AiError: Bad input: Error: too many tokens"))
    with pytest.raises(gr.Error) as caught:
        run(similarity("first line\nsecond line", BASE))
    assert caught.value.message.startswith("Workers AI rejected the input: Bad input")
    assert fake.count() == 1  # bad input is not retried


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"shape": [1, 3], "data": [[0.1, 0.2, 0.3]]}, "expected 2 vectors, got an array of shape [1, 3]"),
        ({"shape": [2, 4], "data": [[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]]}, "labelled [2, 4]"),
        ({"shape": [2, 3], "data": [[0.1, 0.2, 0.3], [0.1, 0.2]]}, "rows of different lengths"),
        ({"response": "I am a chat model"}, "did not return embeddings"),
    ],
)
def test_a_wrong_shaped_answer_is_a_clear_error(client, fake, result, expected):
    fake.fail(envelope(result))
    with pytest.raises(gr.Error) as caught:
        run(similarity("first line\nsecond line", BASE))
    assert expected in caught.value.message
    assert caught.value.message.startswith(f"The model {BASE}")


# ── search ──────────────────────────────────────────────────────────────────────────────────

CORPUS = """
The Eiffel Tower stands in Paris and is 330 metres tall.
Bread needs flour, water, salt and yeast.

Coral reefs grow in warm shallow seas.
"""


def test_search_ranks_the_matching_document_first(client, fake):
    table = run(search("how tall is the eiffel tower in paris", CORPUS, 3, BASE))

    assert list(table.columns) == ["rank", "score", "text"]
    assert list(table["rank"]) == [1, 2, 3]
    assert table["text"][0] == "The Eiffel Tower stands in Paris and is 330 metres tall."
    assert list(table["score"]) == sorted(table["score"], reverse=True)
    assert (table["score"].round(3) == table["score"]).all()
    assert fake.count(BASE) == 1  # query and corpus in one request


@pytest.mark.parametrize(("top_k", "rows"), [(50, 3), (0, 1), (2, 2)])
def test_search_clamps_top_k_to_the_corpus(client, fake, top_k, rows):
    assert len(run(search("bread", CORPUS, top_k, BASE))) == rows


def test_search_sends_a_query_that_is_also_a_document_once(client, fake):
    run(search("Coral reefs grow in warm shallow seas.", CORPUS, 5, BASE))
    assert len(sent_texts(fake)) == 3


@pytest.mark.parametrize(
    ("query", "corpus", "message"),
    [
        ("   ", CORPUS, "Enter a query to search for."),
        ("bread", "\n  \n", "Enter at least one document to search, one per line."),
        ("bread", "\n".join(f"doc {i}" for i in range(MAX_CORPUS + 1)), "the corpus has 1,001 lines"),
    ],
)
def test_search_refuses_bad_input_before_any_request(client, fake, query, corpus, message):
    with pytest.raises(gr.Error) as caught:
        run(search(query, corpus, 3, BASE))
    assert message in caught.value.message
    assert fake.count() == 0


# ── plots and the tab ───────────────────────────────────────────────────────────────────────


def test_labels_are_short_unique_and_avoid_reserved_names():
    long = "a sentence that is far too long to fit on an axis"
    labels = short_labels([long, long, "sentence", "x"], reserved=("sentence",))
    assert labels[0].endswith("…") and len(labels[0]) <= 28
    assert len(set(labels)) == 4 and "sentence" not in labels


def test_pca_handles_two_points_and_identical_points():
    two = np.eye(3)[:2]
    coords, explained = pca_2d(two)
    assert np.allclose(coords[:, 1], 0.0) and explained[1] == 0.0 and explained[0] == pytest.approx(1.0)
    assert coords[0, 0] == pytest.approx(-coords[1, 0])

    same = np.tile([0.6, 0.8], (3, 1))
    coords, explained = pca_2d(same)
    assert np.array_equal(coords, np.zeros((3, 2))) and np.array_equal(explained, [0.0, 0.0])
    figure = map_figure(same, ["a", "a", "a"], ["a", "a (2)", "a (3)"])
    assert all(np.isfinite(figure.layout.xaxis.range)) and all(np.isfinite(figure.layout.yaxis.range))


def test_heatmap_colour_scale_is_fixed():
    positive = heatmap_figure(np.array([[1.0, 0.2], [0.2, 1.0]]), ["a", "b"], ["a", "b"]).data[0]
    signed = heatmap_figure(np.array([[1.0, -0.2], [-0.2, 1.0]]), ["a", "b"], ["a", "b"]).data[0]
    assert (positive.zmin, positive.zmax) == (0.0, 1.0)
    assert (signed.zmin, signed.zmax) == (-1.0, 1.0)
    assert "<" not in heatmap_figure(np.eye(2), ["<b>x</b>", "y"], ["<b>x</b>", "y"]).data[0].x[0]


def test_render_builds_the_tab_with_stable_api_names(client):
    with gr.Blocks() as demo:
        dropdowns = embeddings.render()
    assert [task for task, _ in dropdowns] == [workers_ai.EMBEDDINGS]
    assert isinstance(dropdowns[0][1], gr.Dropdown)
    assert dropdowns[0][1].value == BASE
    api_names = {fn.api_name for fn in demo.fns.values()}
    assert {"similarity", "search"} <= api_names

"""One click, one result, against the fake Workers AI server: each tab's example handler answers at once, metered for
the visitor who really computed it and reused (nothing sent) afterwards on the same backend; the Embeddings tab's
first result; the header's "start here"; and the wiring keeps every such event private."""

import asyncio
import re
import shutil
from pathlib import Path

import gradio as gr
import pytest

from components.core.first_results import first_results
from components.core.usage import shared_ledger
from components.tabs import embeddings, speech, vision
from components.ui import first_click
from components.ui.header import START_HERE, header_html, start_here_html
from components.workers_ai import Settings
from tests.conftest import ASSETS
from tests.test_subtitles import assert_valid_vtt

RESNET = "@cf/microsoft/resnet-50"


def runs(fake, part: str = "") -> list:
    return [r for r in fake.requests if r.model is not None and part in r.model]


def clicked(name: str, index: int = 0) -> tuple[int, list]:
    """What the examples' dataset hands the handler when an example is clicked: its index and its row."""
    return index, [str(ASSETS / name)]


@pytest.fixture
def cat():
    return clicked("cat-chelsea.png")


def test_an_example_picture_is_classified_once_per_backend_and_model(client, fake, budget, cat):
    budget()
    labels, cost, requests = asyncio.run(vision._example(cat, RESNET))
    assert labels and len(runs(fake, "resnet")) == 1
    assert "neurons" in cost and "application/octet-stream" in requests  # what was sent, as after the button
    assert shared_ledger().snapshot().calls == 1  # metered like any call

    again, cost, requests = asyncio.run(vision._example(cat, RESNET))
    assert again == labels and len(runs(fake, "resnet")) == 1, "nothing sent the second time"
    assert "reused: nothing sent, no neurons spent" in cost and "Press **Classify**" in requests
    assert shared_ledger().snapshot().calls == 1

    with pytest.raises(gr.Error, match="does not know the model"):  # another model is another answer: sent
        asyncio.run(vision._example(cat, "@cf/google/vit-base-patch16-224"))
    assert len(runs(fake, "vit-base")) == 1


def test_an_example_handler_takes_only_the_examples_own_files(client, fake):
    with pytest.raises(gr.Error, match="Click one of the examples"):
        asyncio.run(vision._example(None, RESNET))
    assert first_click.example_file((1, ["/srv/app/assets/coffee-cup.png"])) == "/srv/app/assets/coffee-cup.png"
    assert runs(fake) == []


def test_a_refused_example_sends_nothing_and_keeps_nothing(client, fake, budget, cat):
    budget(per_visitor=0.0001)
    with pytest.raises(gr.Error, match="budget"):
        asyncio.run(vision._example(cat, RESNET))
    assert runs(fake) == []
    budget()  # the next visitor, with budget left, gets a real answer rather than a kept refusal
    _, cost, _ = asyncio.run(vision._example(cat, RESNET))
    assert "reused" not in cost and len(runs(fake, "resnet")) == 1


def test_an_example_recording_is_transcribed_once_and_its_subtitles_stay_valid(client, fake):
    fox = clicked("speech-fox.wav")
    text, vtt, srt, player, cost, _ = asyncio.run(speech._example(fox, "", "", "transcribe"))
    assert "fox" in text.lower() and "neurons" in cost and len(runs(fake, "whisper")) == 1
    assert isinstance(player, gr.Audio)
    again = asyncio.run(speech._example(fox, "", "", "transcribe"))
    assert again[:3] == (text, vtt, srt) and "reused" in again[4] and len(runs(fake, "whisper")) == 1
    assert_valid_vtt(Path(again[1]).read_text(encoding="utf-8"))

    shutil.rmtree(Path(vtt).parent)  # the subtitle files were cleaned up: the answer is made again, files and all
    text3, vtt3, *_ = asyncio.run(speech._example(fox, "", "", "transcribe"))
    assert text3 == text and Path(vtt3).is_file() and len(runs(fake, "whisper")) == 2


def test_speech_options_are_part_of_the_example(client, fake):
    fox = clicked("speech-fox.wav")
    turbo = "@cf/openai/whisper-large-v3-turbo"
    asyncio.run(speech._example(fox, turbo, "en", "transcribe"))
    asyncio.run(speech._example(fox, turbo, "en", "translate"))
    assert len(runs(fake, "turbo")) == 2
    with pytest.raises(gr.Error, match="not a language code"):
        asyncio.run(speech._example(fox, turbo, "english!", "transcribe"))


def test_the_embeddings_tab_shows_its_first_result_once_per_backend_and_model(client, fake, budget):
    budget()
    shown, heatmap, sentence_map, table, cost, rows, search_cost, requests = asyncio.run(
        embeddings._first_result(False, ""))
    assert shown is True and len(heatmap.data) == 1 and len(sentence_map.data) >= 1
    assert list(table.columns)[0] == "sentence" and len(table) == 5
    assert len(rows) == embeddings.FIRST_TOP_K and "neurons" in cost and "neurons" in search_cost
    assert len(runs(fake)) == 2 and shared_ledger().snapshot().calls == 2  # compared, and searched: metered

    second = asyncio.run(embeddings._first_result(False, ""))  # another visitor opens the tab
    assert "reused" in second[4] and "reused" in second[6] and len(runs(fake)) == 2
    assert second[6] and second[5].equals(rows)
    assert all(value == gr.skip() for value in asyncio.run(embeddings._first_result(True, "")))


def test_the_first_result_of_a_refused_visitor_is_a_sentence_not_a_dialog(client, fake, budget):
    budget(per_visitor=0.0001)
    shown, *_, cost, _rows, _search_cost, _requests = asyncio.run(embeddings._first_result(False, ""))
    assert shown is False and "budget" in cost and runs(fake) == []


def test_example_sentences_and_queries_are_kept_but_edited_ones_are_not(client, fake):
    pair = embeddings.EXAMPLE_SENTENCES
    snake = embeddings.MORE_SENTENCES["Python: language or snake?"]
    for sentences in (pair, pair, snake, snake, "one\ntwo", "one\ntwo"):
        asyncio.run(embeddings._compare_example(sentences, ""))
    assert len(runs(fake)) == 4  # each example once, the edited text every time
    query = embeddings.EXAMPLE_QUERIES[1]
    rows, cost, _ = asyncio.run(embeddings._search_example(query, embeddings.EXAMPLE_CORPUS, 3, ""))
    asyncio.run(embeddings._search_example(query, embeddings.EXAMPLE_CORPUS, 3, ""))
    asyncio.run(embeddings._search_example(query, "a different corpus", 3, ""))
    assert len(runs(fake)) == 6 and len(rows) == 3 and "neurons" in cost


def test_answers_are_kept_per_backend_never_shared_with_another(client, fake, cat):
    """Another client (the offline engine, another account: here a second client of the same server) computes its
    own answer: a kept one is never shown as another backend's."""
    from components import workers_ai
    from components.core import backend
    from tests.conftest import make_settings

    asyncio.run(vision._example(cat, RESNET))
    backend.use_client(workers_ai.WorkersAI(make_settings(fake)))
    _, cost, _ = asyncio.run(vision._example(cat, RESNET))
    assert "reused" not in cost and len(runs(fake, "resnet")) == 2
    backend.use_client(client)
    assert "reused" in asyncio.run(vision._example(cat, RESNET))[1]


def test_the_header_says_where_to_start_and_names_every_tab():
    line = start_here_html()
    assert line.startswith('<p class="start-here"') and "Start here" in line
    for tab, shows in START_HERE:
        assert f'<b>{tab}</b><span class="shows"> {shows}</span>' in line.replace("&#x27;", "'")
    assert line in header_html(Settings())
    assert "&lt;b&gt;" in start_here_html([("<b>", "x")]), "escaped"


def test_the_note_says_how_long_an_offline_model_takes_to_load(offline_engine_client):
    from components.local import MODELS

    entry = MODELS["@local/whisper-tiny-en"]
    shown = first_click._show_note("@local/whisper-tiny-en")
    if entry.loaded:
        assert shown["visible"] is False
    else:
        assert shown["value"] == "*Loading Whisper tiny.en (about 1 s, first time only)…*" and shown["visible"]
    assert asyncio.run(first_click._load("@local/whisper-tiny-en"))["visible"] is False and entry.loaded
    assert first_click._show_note("@local/whisper-tiny-en")["visible"] is False
    assert first_click._show_note("@cf/openai/whisper")["visible"] is False  # Workers AI: nothing to load


def test_example_events_are_private_and_queued_like_the_buttons(client):
    with gr.Blocks() as demo:
        with gr.Tab("Vision"):
            vision.render()
        with gr.Tab("Speech"):
            speech.render()
        with gr.Tab("Embeddings"):
            embeddings.render()
    handlers = {vision._example, speech._example, embeddings._compare_example, embeddings._search_example}
    ran = [fn for fn in demo.fns.values() if fn.fn in handlers]
    assert len(ran) == 4
    assert all(fn.api_visibility == "private" and fn.queue is not False for fn in ran)
    selects = [fn for fn in demo.fns.values() if any(t[1] == "select" for t in fn.targets)]
    assert len(selects) == 3 and all(fn.queue is False and fn.api_visibility == "private" for fn in selects)
    first = [fn for fn in demo.fns.values() if fn.fn is embeddings._first_result]
    assert len(first) == 1 and first[0].queue is False and first[0].api_visibility == "private"
    public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert public == {"classify", "transcribe", "similarity", "search"}


@pytest.fixture(autouse=True)
def _fresh_answers():
    """Each test starts with no kept answers (they are per client, and each test's client is new anyway)."""
    first_results().forget()
    yield
    first_results().forget()


def test_reused_lines_name_the_backend_and_time(client):
    from components.core.first_results import Answer

    kept = Answer("x", True, 0.0)
    assert first_click.reused_cost(kept) == ("Example answered at 00:00 UTC on Workers AI and reused: nothing sent, "
                                             "no neurons spent.")
    assert re.search(r"at 00:00:00 UTC.*Press \*\*Compare\*\*", first_click.reused_requests(kept, "Compare"))

"""The whole app driven through headless Chromium, the way a person uses it: every tab, its errors, the mic.

The API tests (test_app_api.py) prove what the endpoints return; these prove the page wires them up: events
fire, replies stream visibly, files download, toasts say something useful. Selectors were read off the DOM
that Gradio 6.31 renders (see shared/docs/gradio6-notes.md) and prefer data-testid, roles and labels.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import soundfile
from playwright.sync_api import expect

from tests.browser import (
    assert_valid_webvtt, block, normalised, open_app, open_tab, send_chat, toast, transcript, wait_until,
)
from tests.conftest import ASSETS, TOKEN
from tests.fake_workers_ai import Fault

pytestmark = pytest.mark.browser

# ── fixtures ───────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def page(browser, served, fake):
    with open_app(browser, served) as tab:
        yield tab


def ai_runs(fake) -> list:
    """The /ai/run requests the fake received (the catalogue's are left out)."""
    return [request for request in fake.requests if request.model]


# ── header ─────────────────────────────────────────────────────────────────────────────────────


def test_header_shows_the_backend_and_never_the_token(page):
    expect(page.locator('[data-testid="backend-badge"]')).to_contain_text("Cloudflare Workers AI · account …1a2b")
    assert TOKEN not in page.content()


# ── chat ───────────────────────────────────────────────────────────────────────────────────────

# Records every distinct text of the last bot bubble as the DOM changes, so no intermediate state is missed.
RECORD_BOT_TEXTS = """() => {
    window.__botTexts = [];
    new MutationObserver(() => {
        const bubbles = document.querySelectorAll('[data-testid="bot"]');
        const text = bubbles.length ? bubbles[bubbles.length - 1].innerText.trim() : "";
        if (text && window.__botTexts[window.__botTexts.length - 1] !== text) window.__botTexts.push(text);
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def wait_for_answer(page, fake):
    """Wait until the last bot bubble holds the whole reply and the statistics line is final."""
    expect(page.locator('[data-testid="bot"]').last).to_have_text(
        re.compile(re.escape(normalised("".join(fake.stream_tokens))))
    )
    stats = page.locator("div.block.answer-stats")
    expect(stats).to_contain_text("tokens/s")
    return stats


def test_chat_streams_token_by_token_and_shows_statistics(page, fake):
    """A streamed reply must be seen growing on the page, not appear in one piece at the end."""
    fake.token_delay = 0.15  # 13 tokens: ~2 s of streaming
    page.evaluate(RECORD_BOT_TEXTS)
    send_chat(page, "Hello there")
    stats = wait_for_answer(page, fake)

    final = normalised("".join(fake.stream_tokens))
    seen = [normalised(text) for text in page.evaluate("window.__botTexts")]
    assert seen[-1] == final
    growing = [text for text in seen[:-1] if final.startswith(text)]
    assert len(growing) >= 3, f"the reply did not stream visibly: {seen}"
    assert [len(text) for text in growing] == sorted(len(text) for text in growing)
    assert re.search(r"\d+ tokens\b", stats.inner_text()) and re.search(r"[\d.]+ tokens/s", stats.inner_text())


def test_chat_parameters_reach_the_request(page, fake):
    """The accordion's inputs are additional inputs of the chat: what is set there must be what is sent."""
    # Match the accordion by its content, in case an empty one with the same label is ever rendered too.
    accordion = page.locator(".gr-accordion").filter(has=page.get_by_text("Max tokens"))
    page.locator("button.label-wrap", has_text="Parameters").last.click()
    system_prompt = accordion.get_by_label("System prompt")
    expect(system_prompt).to_be_editable()  # the accordion's contents mount on opening: type only after that
    system_prompt.fill("Answer like a pirate.")
    system_prompt.press("Tab")
    expect(system_prompt).to_have_value("Answer like a pirate.")
    max_tokens = accordion.get_by_label("number input for Max tokens")
    max_tokens.fill("64")
    max_tokens.press("Tab")  # the slider takes the number on change
    send_chat(page, "Hello")
    wait_for_answer(page, fake)

    sent = ai_runs(fake)[-1].json
    assert sent["max_tokens"] == 64
    assert sent["messages"][0] == {"role": "system", "content": "Answer like a pirate."}
    assert sent["messages"][-1] == {"role": "user", "content": "Hello"}


def test_chat_sends_the_conversation_so_far(page, fake):
    """The second message goes to the model with the first and its answer (Gradio 6's page history holds lists
    of text parts, not strings)."""
    send_chat(page, "My name is Ada.")
    wait_for_answer(page, fake)
    send_chat(page, "What is my name?")
    wait_until(page, lambda: len(ai_runs(fake)) == 2, "the second message never reached the model")
    wait_for_answer(page, fake)
    sent = ai_runs(fake)[-1].json["messages"]
    turns = [(m["role"], normalised(m["content"])) for m in sent if m["role"] != "system"]
    assert turns == [("user", "My name is Ada."), ("assistant", normalised("".join(fake.stream_tokens))),
                     ("user", "What is my name?")]


def test_chat_error_is_a_sentence_and_the_visitor_can_go_on(page, fake):
    """An upstream failure becomes one clear sentence in the conversation (never the token), and the same
    page takes the next message at once (Gradio's ChatInterface would stay disabled after a raised error)."""
    fake.fail(Fault.error(401, 10000, "Authentication error"))
    send_chat(page, "Hello")
    expect(page.locator('[data-testid="bot"]').last).to_contain_text("token was rejected")
    assert TOKEN not in page.content() and "Traceback" not in page.content()
    expect(page.locator("#chat-input textarea")).to_be_editable(timeout=5_000)
    send_chat(page, "Hello again")
    wait_for_answer(page, fake)
    assert len(ai_runs(fake)) == 2
    sent = [m["content"] for m in ai_runs(fake)[-1].json["messages"]]
    assert not any("token was rejected" in m for m in sent), "error notices are not sent to the model"


# ── vision ─────────────────────────────────────────────────────────────────────────────────────


def top_labels(page) -> tuple[str, list[tuple[str, float]]]:
    """The headline label and the (label, probability) of every bar, once five bars are drawn."""
    bars = page.locator('[data-testid="label"] meter.bar')
    expect(bars).to_have_count(5)
    headline = page.locator('[data-testid="label-output-value"]').inner_text()
    return headline, [(bar.get_attribute("aria-label"), float(bar.get_attribute("value"))) for bar in bars.all()]


def test_vision_upload_classifies_with_readable_labels(page, fake):
    """Uploading classifies at once (image.upload); the Classify button runs it again with the same result."""
    panel = open_tab(page, "Vision")
    panel.locator("input[type=file]").set_input_files(ASSETS / "cat-chelsea.png")
    headline, bars = top_labels(page)

    assert headline == bars[0][0]
    assert not headline.isupper() and headline[0].isupper(), f"label not made readable: {headline!r}"
    scores = [score for _, score in bars]
    assert all(0 <= score <= 1 for score in scores) and scores == sorted(scores, reverse=True)
    assert len(ai_runs(fake)) == 1  # the upload alone triggered exactly one classification

    panel.get_by_role("button", name="Classify").click()
    wait_until(page, lambda: len(ai_runs(fake)) == 2, "the Classify button sent no request")
    assert top_labels(page)[0] == headline


def test_vision_rejects_a_file_that_is_not_an_image_with_a_sentence(page, fake, tmp_path):
    bogus = tmp_path / "notes.png"
    bogus.write_text("these are notes, not pixels\n")
    panel = open_tab(page, "Vision")
    panel.locator("input[type=file]").set_input_files(bogus)

    expect(toast(page).first).to_contain_text("not an image")
    assert "Traceback" not in page.locator("body").inner_text()
    assert ai_runs(fake) == []  # refused before any request


# ── speech ─────────────────────────────────────────────────────────────────────────────────────

def test_speech_upload_transcribes_and_offers_captions(page, fake):
    """Upload → transcript, a downloadable WebVTT file, and a player that shows the captions while playing."""
    panel = open_tab(page, "Speech")
    panel.get_by_role("button", name="Upload file").click()  # the recorder is shown first
    panel.locator("input[type=file]").set_input_files(ASSETS / "speech-fox.wav")
    panel.get_by_role("button", name="Transcribe").click()
    expect(transcript(panel)).to_have_value(re.compile("quick brown fox"))

    with page.expect_download() as download:
        panel.locator('a[data-testid="download-link"][download$=".vtt"]').click()
    assert download.value.suggested_filename == "speech-fox.vtt"
    assert_valid_webvtt(Path(download.value.path()).read_text(encoding="utf-8"))

    # Gradio 6.31 draws captions itself (no <track>): a CC toggle and a caption line under the waveform.
    player = block(page, panel, "Captioned playback")
    expect(player.locator('[data-testid="subtitles-toggle"]')).to_be_visible()
    player.get_by_role("button", name="Play", exact=True).click()
    expect(player.locator('[data-testid="subtitle-display"]')).to_contain_text("quick brown fox")


def test_speech_microphone_recording_is_transcribed(page, fake):
    """Record from Chromium's fake microphone (speech-fox.wav), transcribe, and check a real WAV was sent."""
    panel = open_tab(page, "Speech")
    panel.locator("button.record-button").click()
    stop = panel.locator("button.stop-button")
    stop.wait_for()
    page.wait_for_timeout(2500)  # the recording's length: the one wait no condition can replace
    stop.click()
    # The recording is usable once uploaded: until then Transcribe gets no audio ("Record or upload … first").
    uploaded = block(page, panel, "Recording").locator('a[data-testid="download-link"][href*="/gradio_api/file="]')
    expect(uploaded).to_have_count(1)
    panel.get_by_role("button", name="Transcribe").click()
    expect(transcript(panel)).to_have_value("the quick brown fox jumps over the lazy dog")

    body = ai_runs(fake)[-1].body
    assert body[:4] == b"RIFF" and body[8:12] == b"WAVE"
    samples, rate = soundfile.read(io.BytesIO(body))
    assert len(samples) / rate >= 2, "the recording is shorter than the time spent recording"
    assert abs(samples).max() > 0.05, "the recording is silent: the fake microphone file was not used"


# ── embeddings ─────────────────────────────────────────────────────────────────────────────────


def test_embeddings_compare_and_search(page, fake):
    """Compare draws the heatmap and fills the matrix (1 on the diagonal); Search fills the results table."""
    panel = open_tab(page, "Embeddings")
    # Opening the tab shows its first result (tests/test_browser_first_click.py): Compare then sends once more.
    expect(panel.locator("div.block.answer-cost").first).to_contain_text("neurons")
    opened = len(ai_runs(fake))
    panel.get_by_role("button", name="Compare").click()
    expect(panel.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    expect(panel.locator(".js-plotly-plot .heatmaplayer")).to_have_count(1)

    matrix = panel.locator('[role="grid"][aria-label^="Similarity matrix"]')
    sentences = 5  # the prefilled example
    for i in range(sentences):  # column 0 names the row; the cosine of a sentence with itself sits at i + 1
        expect(matrix.locator(f'[data-testid="cell-{i}-{i + 1}"]')).to_have_text(re.compile(r"^\s*1(\.0+)?\s*$"))
    wait_until(page, lambda: len(ai_runs(fake)) > opened, "Compare sent nothing")
    assert len(ai_runs(fake)) == opened + 1  # one batched embeddings request for all five sentences

    panel.get_by_role("button", name="Search").click()
    results = panel.locator('[role="grid"][aria-label^="Best matches"]')
    expect(results.locator('.body-cell[data-col="0"]')).to_have_text(["1", "2", "3"])  # ranks, "Results" is 3
    expect(results.locator('[data-testid="cell-0-2"]')).to_contain_text("Eiffel Tower")

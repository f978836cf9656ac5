"""The first five minutes, in headless Chromium at 1280 px: a new visitor reads the header's "start here", gives every
tab one click (tests/first_clicks.py: an example, or opening the tab) and sees a real result each time; offline on the
small local models, and on the fake Workers AI server, where a second visitor's click on the same example sends
nothing and a visitor who clicks nothing costs nothing."""

import re

import pytest
from playwright.sync_api import expect

from components.ui.header import START_HERE
from tests.browser import open_app, open_tab
from tests.first_clicks import FIRST_CLICKS, example, first_click

pytestmark = pytest.mark.browser


def runs(fake, model_part: str = "") -> list:
    """The model runs the fake server received (catalogue look-ups aside)."""
    return [r for r in fake.requests if r.model is not None and model_part in r.model]


# Every text a `.loading-note` shows, however briefly (a model loads in a fraction of a second to about one).
WATCH_NOTES = """() => { window.notesSeen = [];
  new MutationObserver(() => document.querySelectorAll('.loading-note').forEach(note => {
    const text = note.innerText.trim();
    if (text && note.offsetParent !== null) window.notesSeen.push(text);
  })).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true}); }"""


@pytest.mark.timeout(420)  # three answers from SmolLM2 (Chat, Documents, Playground) on two busy cores
def test_every_tab_shows_a_result_after_one_click_offline(browser, offline_served):
    from components.local import MODELS

    whisper = MODELS["@local/whisper-tiny-en"]
    loaded_before = whisper.loaded  # earlier tests of this run may have loaded it
    with open_app(browser, offline_served) as page:
        page.evaluate(WATCH_NOTES)
        start = page.locator('[data-testid="start-here"]')
        expect(start).to_contain_text("Start here")
        for tab, _ in START_HERE:
            if page.locator('button[role="tab"]', has_text=tab).count():  # every tab of the page is named
                expect(start).to_contain_text(tab)
        for step in FIRST_CLICKS:
            first_click(page, step)
        expect(page.locator('[data-testid="usage-meter"]')).to_contain_text(re.compile(r"you: [1-9\d.]*[1-9]"))
        notes = page.evaluate("() => window.notesSeen")
        if not loaded_before:  # the Speech tab's first visit said how long Whisper takes to load, then loaded it
            assert "Loading Whisper tiny.en (about 1 s, first time only)…" in notes, notes
        assert whisper.loaded
        assert not page.locator(".loading-note").filter(visible=True).count(), "every note went once loaded"


def test_on_workers_ai_one_click_per_tab_is_metered_and_a_second_visitor_reuses_it(browser, served, fake, budget):
    budget()  # a fresh ledger: the meter starts at zero
    fake.token_delay = 0.0
    with open_app(browser, served) as page:
        page.wait_for_timeout(500)
        assert runs(fake) == [], "a visitor who clicked nothing made no model call"
        for step in FIRST_CLICKS:
            first_click(page, step)
        assert len(runs(fake, "resnet")) == 1 and len(runs(fake, "whisper")) == 1
        embedded = len(runs(fake, "bge"))

    with open_app(browser, served) as page:  # a second visitor: the same examples, nothing sent again
        panel = open_tab(page, "Vision")
        example(panel, "cat-chelsea").click()
        expect(panel.locator("div.block.answer-cost")).to_contain_text("reused: nothing sent, no neurons spent")
        expect(panel.locator('[data-testid="label-output-value"]')).to_have_text(re.compile(r"\w"))
        panel = open_tab(page, "Embeddings")
        expect(panel.locator(".js-plotly-plot .heatmaplayer")).to_have_count(1)
        expect(panel.locator("div.block.answer-cost").first).to_contain_text("reused")
        assert len(runs(fake, "resnet")) == 1 and len(runs(fake, "bge")) == embedded
        panel.get_by_role("button", name="Compare").click()  # the button always sends
        expect(panel.locator("div.block.answer-cost").first).to_contain_text("neurons ≈", timeout=20_000)
        assert len(runs(fake, "bge")) == embedded + 1

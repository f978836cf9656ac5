"""No account, no network: the app as `make run` starts it, driven in headless Chromium, all four tabs
answered by the offline engine's real local models."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import open_app, open_tab, send_chat, transcript
from tests.conftest import ASSETS

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, offline_served):
    with open_app(browser, offline_served) as tab:
        yield tab


def test_all_four_tabs_work_offline(page):
    expect(page.locator('[data-testid="backend-badge"]')).to_have_text("Offline · small local models")
    expect(page.get_by_text("SmolLM2-135M, a tiny local model")).to_be_visible()

    send_chat(page, "What is the capital of France?")
    expect(page.locator("div.block.answer-stats")).to_contain_text("tokens/s", timeout=120_000)
    expect(page.locator('[data-testid="bot"]').last).not_to_be_empty()

    panel = open_tab(page, "Vision")
    panel.locator("input[type=file]").set_input_files(ASSETS / "coffee-cup.png")
    expect(page.locator('[data-testid="label-output-value"]')).to_have_text("Espresso", timeout=60_000)

    panel = open_tab(page, "Speech")
    panel.get_by_role("button", name="Upload file").click()
    panel.locator("input[type=file]").set_input_files(ASSETS / "speech-fox.wav")
    panel.get_by_role("button", name="Transcribe").click()
    expect(transcript(panel)).to_have_value(re.compile("fox", re.I), timeout=60_000)
    expect(panel.locator('a[data-testid="download-link"][download$=".vtt"]')).to_be_visible()

    panel = open_tab(page, "Embeddings")
    panel.get_by_role("button", name="Compare").click()
    expect(panel.locator(".js-plotly-plot .heatmaplayer")).to_have_count(1, timeout=60_000)
    panel.get_by_role("button", name="Search").click()
    results = panel.locator('[role="grid"][aria-label^="Best matches"]')
    expect(results.locator('[data-testid="cell-0-2"]')).to_contain_text("Eiffel Tower")

"""A new visitor's first five minutes: one click in each tab, and the result it must show.

`FIRST_CLICKS` is walked by tests/test_browser_first_click.py (offline and against the fake Workers AI server) and
photographed by tests/make_screenshots.py. A new tab is one entry here: its label, a name for its screenshot, the
one click (`act`) and what must then be on the page (`shown`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

from tests.browser import open_tab, transcript

SLOW_MS = 240_000  # SmolLM2 writing up to 512 tokens on a busy 2-core machine; the first use of the sample index


def example(panel: Locator, text: str) -> Locator:
    """The example button (a gr.Examples entry) in `panel` whose text, or picture file name, contains `text`."""
    buttons = panel.locator("button.gallery-item")
    by_text = buttons.filter(has_text=text)
    return by_text.or_(buttons.filter(has=panel.page.locator(f'img[src*="{text}"]'))).first


@dataclass(frozen=True)
class FirstClick:
    tab: str  # the tab's label
    name: str  # its screenshot's name (assets/screenshots/<name>.png)
    act: Callable[[Page, Locator], None]  # the one click, in the opened tab's panel (None: opening the tab is it)
    shown: Callable[[Page, Locator], None]  # waits until the result is on the page (Playwright's expect)
    timeout_ms: int = 60_000


# ── the tabs, in the order of the tab bar ──────────────────────────────────────────────────────────


def _chat_act(page: Page, panel: Locator) -> None:
    panel.locator("button.example").filter(has_text="three bullet points").click()


def _chat_shown(page: Page, panel: Locator, timeout: int) -> None:
    expect(page.locator("div.block.answer-stats")).to_contain_text("tokens/s", timeout=timeout)
    expect(page.locator('[data-testid="user"]').first).to_contain_text("three bullet points")
    expect(page.locator('[data-testid="bot"]').last).not_to_be_empty()


def _vision_shown(page: Page, panel: Locator, timeout: int) -> None:
    expect(panel.locator('[data-testid="label-output-value"]')).to_have_text(re.compile(r"\w"), timeout=timeout)
    expect(panel.locator('[data-testid="label"] meter.bar').first).to_be_visible()
    expect(panel.locator("div.block.answer-cost")).to_contain_text("neurons", timeout=timeout)


def _speech_shown(page: Page, panel: Locator, timeout: int) -> None:
    expect(transcript(panel)).to_have_value(re.compile("fox", re.I), timeout=timeout)
    expect(panel.locator('a[data-testid="download-link"][download$=".vtt"]')).to_be_visible()


def _embeddings_shown(page: Page, panel: Locator, timeout: int) -> None:
    expect(panel.locator(".js-plotly-plot .heatmaplayer")).to_have_count(1, timeout=timeout)
    results = panel.locator('[role="grid"][aria-label^="Best matches"]')
    expect(results.locator('[data-testid="cell-0-2"]')).not_to_be_empty(timeout=timeout)
    expect(panel.locator("div.block.answer-cost").first).to_contain_text("neurons", timeout=timeout)


def _documents_shown(page: Page, panel: Locator, timeout: int) -> None:
    expect(panel.locator("#documents-sources")).to_contain_text("[1]", timeout=timeout)
    expect(panel.locator("#documents-answer")).to_contain_text(re.compile(r"\w{3}"), timeout=timeout)
    expect(panel.locator("#documents-question textarea")).to_have_value(re.compile("Brava"))


def _playground_act(page: Page, panel: Locator) -> None:
    """Offline the Playground opens on *Any model*, its form filled in for the default chat model: Run. With an
    account it opens on *Text to image*: a prompt example."""
    run = panel.locator("#playground-run")
    prompt = example(panel, "lighthouse")
    run.or_(prompt).filter(visible=True).first.wait_for()
    (run if run.is_visible() else prompt).click()


def _playground_shown(page: Page, panel: Locator, timeout: int) -> None:
    answer = panel.locator("#playground-text textarea").or_(panel.locator("#playground-image img"))
    expect(answer.filter(visible=True).first).to_be_visible(timeout=timeout)
    expect(panel.locator("div.block.answer-cost").filter(visible=True).first).to_contain_text("neurons",
                                                                                             timeout=timeout)


def _cost_shown(page: Page, panel: Locator, timeout: int) -> None:
    expect(panel.locator("#cost-estimate")).to_contain_text("50,000 queries a day", timeout=timeout)


def _step(tab, name, act, shown, timeout_ms=60_000) -> FirstClick:
    return FirstClick(tab, name, act, lambda page, panel: shown(page, panel, timeout_ms), timeout_ms)


FIRST_CLICKS: list[FirstClick] = [
    _step("Chat", "chat", _chat_act, _chat_shown, SLOW_MS),
    _step("Vision", "vision", lambda page, panel: example(panel, "cat-chelsea").click(), _vision_shown),
    _step("Speech", "speech", lambda page, panel: example(panel, "speech-fox").click(), _speech_shown),
    _step("Embeddings", "embeddings", None, _embeddings_shown),  # opening the tab is the click
    _step("Documents", "documents", lambda page, panel: example(panel, "Brava").click(), _documents_shown, SLOW_MS),
    _step("Playground", "playground", _playground_act, _playground_shown, SLOW_MS),
    _step("Cost", "cost", lambda page, panel: example(panel, "Public support bot").click(), _cost_shown),
]


def first_click(page: Page, step: FirstClick) -> Locator:
    """Open the step's tab, make its one click, wait for its result; returns the tab's panel."""
    panel = open_tab(page, step.tab)
    if step.act is not None:
        step.act(page, panel)
    step.shown(page, panel)
    return panel

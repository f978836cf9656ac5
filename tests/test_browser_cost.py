"""Cost on the page, in headless Chromium: the header meter, the estimate under an answer, the Cost tab's charts
and calculator, and a budget refusal that sends nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import open_app, open_tab, send_chat, toast, wait_until
from tests.conftest import ASSETS

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, served, fake, budget):
    budget()  # a fresh ledger, no limits: the figures below start from zero
    with open_app(browser, served) as tab:
        yield tab


def meter(page):
    return page.locator('[data-testid="usage-meter"]')


def chart(page, panel, label: str):
    """A plot's block: its label is a `block-info` chip, not the `block-label` of other components."""
    return panel.locator(".block").filter(has=page.locator('[data-testid="block-info"]', has_text=label))


def classify_the_cat(page):
    panel = open_tab(page, "Vision")
    panel.locator("input[type=file]").set_input_files(ASSETS / "cat-chelsea.png")
    expect(page.locator('[data-testid="label"] meter.bar')).to_have_count(5)
    return panel


def test_the_meter_and_the_estimate_follow_each_answer(page, fake):
    expect(meter(page)).to_have_text("Today (est.): 0 / 10,000 free neurons · you: 0")

    panel = classify_the_cat(page)
    expect(panel.locator("div.block.answer-cost")).to_have_text("est. 0.228 neurons ≈ $0.0000025 · 1 image")
    expect(meter(page)).to_have_text("Today (est.): 0.228 / 10,000 free neurons · you: 0.228")

    open_tab(page, "Chat")
    send_chat(page, "Hello")
    expect(page.locator("div.block.answer-stats")).to_contain_text(re.compile(r"est\. [\d.]+ neurons ≈ \$[\d.]+"))
    expect(meter(page)).not_to_contain_text("0.228 / 10,000")  # the chat's neurons were added


def test_the_cost_tab_charts_the_day_and_prices_a_workload(page, fake):
    classify_the_cat(page)
    panel = open_tab(page, "Cost")
    for label in ("This session", "Today, all visitors"):
        bar = chart(page, panel, label).locator('svg [aria-roledescription="bar"][aria-label$="Image Classification"]')
        expect(bar).to_have_attribute("aria-label",
                                      "model: resnet-50; neurons (est.): 0.228055; task: Image Classification")
        expect(bar).to_be_visible()
    expect(panel.locator("div.block.usage-summary")).to_contain_text("This session: est. 0.228 neurons")

    estimate = panel.locator("#cost-estimate")
    expect(estimate).to_contain_text("1,000 queries a day")
    queries = panel.get_by_label("Queries per day")
    queries.fill("250000")
    panel.get_by_role("button", name="Calculate").click()
    expect(estimate).to_contain_text(re.compile(r"250,000 queries a day.*≈ \$[\d,]+\.\d\d a month"))
    expect(estimate).to_contain_text("The two cost the same at about 129,373 queries a day")


def test_a_refused_call_says_when_the_budget_resets_and_sends_nothing(page, fake, budget):
    budget(total=0.1)
    panel = open_tab(page, "Vision")
    panel.locator("input[type=file]").set_input_files(ASSETS / "cat-chelsea.png")
    expect(toast(page).first).to_contain_text(re.compile(r"daily budget of 0\.1 neurons has 0\.1 left, and this "
                                                         r"request could need up to 0\.228; it resets at 00:00 UTC"))
    wait_until(page, lambda: not panel.locator("div.block.answer-cost").inner_text().strip(), "an estimate was shown")
    assert fake.count() == 0


def test_an_example_workload_shows_its_estimate_at_once(page, fake):
    panel = open_tab(page, "Cost")
    panel.get_by_text("Public support bot: 50,000 a day, 70B").click()
    expect(panel.locator("#cost-estimate")).to_contain_text("50,000 queries a day")
    expect(panel.locator("#cost-estimate")).to_contain_text("llama-3.3-70b-instruct-fp8-fast")
    assert not [r for r in fake.requests if r.model], "arithmetic only: no model is called"

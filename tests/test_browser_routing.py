"""Auto-route in the chat tab, in headless Chromium, as a stakeholder would watch it: switch the mode on, ask a
hard and an easy question, read each answer's route line and the session summary; then an escalation that fails."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import normalised, open_app, send_chat, wait_until
from tests.fake_anthropic import AnthropicFault
from tests.routing_fixtures import *  # noqa: F403
from tests.routing_fixtures import ANTHROPIC_KEY, COMPLEX_PROMPT, EDGE_MODEL, SEVENTY_B, SIMPLE_PROMPT

pytestmark = pytest.mark.browser
FAKE_REPLY = normalised("Hello! I am your friendly assistant — happy to help 🙂.")


@pytest.fixture
def page(browser, served, fake, budget):
    budget()
    with open_app(browser, served) as tab:
        yield tab


def auto_route(page):
    page.locator("#route-mode").get_by_label("Auto-route").check()
    expect(page.locator("#route-mode").get_by_label("Auto-route")).to_be_checked()


def route_line(page):
    return page.locator("div.block.answer-stats")


def chat_models(fake):
    return [r.model for r in fake.requests if r.model and "bge" not in r.model]


def test_auto_route_escalates_the_hard_question_and_keeps_the_easy_one_at_the_edge(page, fake):
    expect(page.locator("#route-summary")).to_contain_text("no routed answers yet")
    auto_route(page)

    send_chat(page, COMPLEX_PROMPT)
    expect(route_line(page)).to_contain_text("Escalated → llama-3.3-70b-instruct-fp8-fast")
    expect(route_line(page)).to_contain_text(re.compile(r"judge: complex 0\.\d\d \(embedding · bge-small-en-v1\.5\)"))
    expect(route_line(page)).to_contain_text(re.compile(r"cost ≈ \$[\d.]+"))
    expect(page.locator('[data-testid="bot"]').last).to_have_text(re.compile(re.escape(FAKE_REPLY)))
    expect(page.locator("#route-summary")).to_contain_text("0% at the edge")

    send_chat(page, SIMPLE_PROMPT)
    expect(route_line(page)).to_contain_text("Edge → llama-3.1-8b-instruct-fast")
    expect(route_line(page)).to_contain_text("judge: simple")
    expect(page.locator("#route-summary")).to_contain_text(re.compile(
        r"50% at the edge \(1 of 2 answers; 1 escalated\).*vs sending everything to llama-3\.3-70b-instruct-fp8-fast"))
    assert chat_models(fake) == [SEVENTY_B, EDGE_MODEL]
    assert "Traceback" not in page.content()


def test_a_failing_escalation_falls_back_to_the_edge_on_the_page(page, fake, anthropic, fake_anthropic):
    fake_anthropic.fail(*[AnthropicFault.error(529, "overloaded_error", "Overloaded")] * 3)
    auto_route(page)
    send_chat(page, COMPLEX_PROMPT)
    expect(route_line(page)).to_contain_text("Edge fallback → llama-3.1-8b-instruct-fast")
    expect(route_line(page)).to_contain_text("Escalation to claude-sonnet-4-5 (Anthropic) failed")
    expect(page.locator('[data-testid="bot"]').last).to_have_text(re.compile(re.escape(FAKE_REPLY)))
    expect(page.locator("#route-summary")).to_contain_text("1 fell back to the edge")
    wait_until(page, lambda: len(fake_anthropic.requests) == 3, "Anthropic was not tried three times")
    assert ANTHROPIC_KEY not in page.content() and "Traceback" not in page.content()


def test_offline_auto_route_says_escalation_is_unavailable(browser, offline_served):
    """No account: easy questions go to the local model, hard ones get a clear message and a labelled attempt."""
    with open_app(browser, offline_served) as page:
        auto_route(page)
        send_chat(page, COMPLEX_PROMPT)
        bot = page.locator('[data-testid="bot"]').last
        expect(bot).to_contain_text("Escalation unavailable offline", timeout=120_000)
        expect(bot).to_contain_text("The local model's attempt")
        expect(route_line(page)).to_contain_text("Escalation unavailable offline → local smollm2-135m-instruct",
                                                 timeout=120_000)
        expect(route_line(page)).to_contain_text("would cost", timeout=120_000)  # once the local attempt ends
        send_chat(page, SIMPLE_PROMPT)
        expect(route_line(page)).to_contain_text("Edge → smollm2-135m-instruct", timeout=120_000)
        expect(page.locator("#route-summary")).to_contain_text(re.compile(
            r"100% at the edge \(2 of 2 answers; 0 escalated; 1 unavailable offline\) · would spend"))

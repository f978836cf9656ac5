"""What an audience sees: the "How it works" panels, nothing fetched from outside, a phone, dark mode."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.browser import WAIT_MS, open_app, open_tab, send_chat
from tests.conftest import ACCOUNT_ID, ASSETS, TOKEN

pytestmark = pytest.mark.browser

TABS = ["Chat", "Vision", "Speech", "Embeddings", "Cost"]


def test_the_vision_panel_shows_the_exact_request_without_the_token(browser, served, fake):
    with open_app(browser, served) as page:
        panel = open_tab(page, "Vision")
        panel.locator("#vision-input input[type=file]").set_input_files(str(ASSETS / "cat-chelsea.png"))
        expect(panel.locator('[data-testid="label-output-value"]')).to_be_visible()
        panel.get_by_text("How it works: the request sent to Workers AI").click()
        requests = panel.locator(".prose.sent-requests")
        size = (ASSETS / "cat-chelsea.png").stat().st_size
        expect(requests).to_contain_text("/accounts/{account_id}/ai/run/@cf/microsoft/resnet-50")
        expect(requests).to_contain_text("Authorization: Bearer $CLOUDFLARE_API_TOKEN")
        expect(requests).to_contain_text(f"Content-Length: {size}")
        expect(requests).to_contain_text("HTTP 200")
        assert TOKEN not in page.content() and ACCOUNT_ID not in requests.inner_text()


def test_the_embeddings_panel_follows_the_last_action(browser, served, fake):
    with open_app(browser, served) as page:
        panel = open_tab(page, "Embeddings")
        panel.get_by_role("button", name="Compare").click()
        panel.get_by_text("How it works: the request sent to Workers AI").click()
        requests = panel.locator(".prose.sent-requests")
        expect(requests).to_contain_text('"text": [')
        panel.get_by_role("button", name="Search").click()
        expect(requests).to_contain_text("How tall is the famous tower in Paris?")  # the search's own request


def test_nothing_is_fetched_from_outside_the_machine(browser, served, fake):
    """Fonts, scripts and styles all come from the app itself: it works on a plane and behind a firewall."""
    app_host = urlparse(served).hostname
    outside: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("request", lambda request: outside.append(request.url)
            if urlparse(request.url).hostname not in (app_host, None) and not request.url.startswith("data:")
            else None)
    try:
        page.goto(served, wait_until="load")
        page.wait_for_selector('[data-testid="backend-badge"]', timeout=WAIT_MS)
        for name in TABS:
            open_tab(page, name)
        page.wait_for_timeout(500)
        fonts = page.evaluate("() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    finally:
        context.close()
    assert outside == []
    assert any("Montserrat" in family for family in fonts), "the theme's bundled font is in use"


def test_a_phone_gets_every_tab_without_sideways_scrolling(browser, served, fake):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(served, wait_until="load")
        page.wait_for_selector('[data-testid="backend-badge"]', timeout=WAIT_MS)
        for name in TABS:
            open_tab(page, name)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 390 + 1, f"the {name} tab is {width} px wide on a 390 px phone"
    finally:
        context.close()


def test_dark_mode_is_dark_and_keeps_the_header_readable(browser, served, fake):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    page = context.new_page()
    try:
        page.goto(served + "?__theme=dark", wait_until="load")
        badge = page.locator('[data-testid="backend-badge"]')
        badge.wait_for(timeout=WAIT_MS)
        assert page.evaluate("() => document.body.classList.contains('dark')")
        background = page.evaluate("() => getComputedStyle(document.querySelector('gradio-app')).backgroundColor")
        title = page.evaluate("() => getComputedStyle(document.querySelector('.app-header h1, h1')).color")
        assert luminance(background) < 0.2, background
        assert luminance(title) > 0.6, f"the title ({title}) must stay readable on {background}"
    finally:
        context.close()


def luminance(css_color: str) -> float:
    """Relative luminance of an `rgb(…)`/`rgba(…)` colour, 0 (black) to 1 (white)."""
    values = [float(part) for part in css_color[css_color.index("(") + 1 : -1].split(",")[:3]]

    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in values)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def test_the_chat_panel_shows_the_streamed_request_after_the_answer(browser, served, fake):
    with open_app(browser, served) as page:
        send_chat(page, "Hello there")
        expect(page.locator(".prose.answer-stats")).to_contain_text("tokens/s")
        page.get_by_text("How it works: the request sent to Workers AI").first.click()
        requests = page.locator('[role="tabpanel"]:visible .prose.sent-requests')
        expect(requests).to_contain_text('"stream": true')
        expect(requests).to_contain_text("a stream of server-sent events")
        expect(requests).to_contain_text('"content": "Hello there"')

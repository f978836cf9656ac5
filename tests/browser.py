"""Headless Chromium for the browser tests: Debian's chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ASSETS

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 20_000  # generous: the CI box has two cores; every wait returns as soon as its condition holds
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]


def normalised(text: str) -> str:
    return " ".join(text.split())


@contextmanager
def chromium(tmp_dir: Path):
    """One Chromium whose fake microphone plays speech-fox.wav once."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium.", pytrace=False)
    expect.set_options(timeout=WAIT_MS)
    mic = tmp_dir / "speech.wav"  # 16-bit PCM WAV, as Chromium's fake capture wants
    shutil.copy(ASSETS / "speech-fox.wav", mic)
    with sync_playwright() as playwright:
        # `%noloop`: play the file once and then silence, instead of looping it.
        args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={mic}%noloop"]
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield instance
        instance.close()


@contextmanager
def open_app(browser, url: str):
    """A fresh context and page (no state leaks between tests), opened on the app and ready."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.grant_permissions(["microphone"])
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    tab.goto(url, wait_until="load")  # never "networkidle": Gradio keeps a connection open
    tab.wait_for_selector('[data-testid="backend-badge"]')
    yield tab
    context.close()


def open_tab(page, name: str):
    """Click the tab whose label contains `name`, also when a narrow screen has folded it into Gradio's "⋯" menu;
    return its panel (the only visible one).

    Gradio lays the tab bar out after the page has loaded (it measures which tabs fit), and until then neither the
    tab nor the "⋯" button is visible: wait for one of them instead of deciding on a half-built bar.
    """
    shown = page.locator('button[role="tab"]', has_text=name)
    more = page.locator(".overflow-menu > button")
    shown.or_(more).filter(visible=True).first.wait_for()
    if shown.filter(visible=True).count():
        shown.filter(visible=True).first.click()
    else:
        more.click()
        page.locator(".overflow-dropdown button", has_text=name).click()
    panel = page.locator('[role="tabpanel"]:visible').first  # the tab's own: a tab may hold tabs of its own
    panel.wait_for()
    return panel


def block(page, scope, label: str):
    """The component in `scope` whose block label (the chip in its corner) contains `label`."""
    return scope.locator(".block").filter(has=page.locator('[data-testid="block-label"]', has_text=label))


def toast(page):
    return page.locator('[data-testid="toast-body"]')


def wait_until(page, condition, failure: str, timeout_ms: int = WAIT_MS) -> None:
    """Poll a server-side condition (the fake's records), letting the page run between looks."""
    for _ in range(timeout_ms // 50):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError(failure)


def send_chat(page, message: str) -> None:
    box = page.locator("#chat-input textarea")
    box.fill(message)
    box.press("Enter")


CUE_TIMING = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2}):(\d{2}):(\d{2})\.(\d{3})$")


def seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def assert_valid_webvtt(text: str) -> None:
    assert text.startswith("WEBVTT"), text[:40]
    timings = [line for line in text.splitlines() if "-->" in line]
    assert timings, "no cues"
    for line in timings:
        match = CUE_TIMING.match(line)
        assert match, f"bad timing line {line!r}"
        assert seconds(*match.groups()[4:]) > seconds(*match.groups()[:4]), f"cue ends before it starts: {line!r}"


def transcript(panel):
    # The read-only textbox has no accessible name in 6.31, so find it inside its <label> wrapper.
    return panel.locator("label", has_text="Transcript").locator("textarea")

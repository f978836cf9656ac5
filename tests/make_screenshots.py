"""Regenerate the README screenshots from the running app: `make screenshots`.

Starts the fake Workers AI server and the app on loopback, gives each tab in headless Chromium the one click a new
visitor gives it (tests/first_clicks.py: an example, or opening the tab) and saves one PNG per tab of what that click
shows, in assets/screenshots/. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHONE_WIDTH = 480  # at or below this width the files are named *-phone.png

SAMPLE_REPLY = (
    "**Workers AI** runs open models on Cloudflare's GPUs, close to your users:\n\n"
    "- *Serverless*: one HTTP call per inference, no GPUs to manage.\n"
    "- *Pay per use*: priced in neurons, with 10,000 free every day.\n"
    "- *Everywhere*: chat, vision, speech and embeddings behind one REST API."
)
# What the fake's chat model says per screenshot (the chat example's reply otherwise): the Documents example asks
# about the sample coffee machine's error E3, answered from its care guide (assets/documents/make_pdf.py).
REPLIES = {
    "documents": "**E3** means the pump has run for 60 seconds without a break [1]. It usually happens when the "
                 "coffee is ground far too fine or the blind basket was left in: switch the machine off for ten "
                 "minutes, then grind coarser [1].",
}


def shoot(url: str, out: Path, width: int, dark: bool, only: set[str] | None = None,
          before: Callable[[str], None] | None = None) -> list[Path]:
    """One PNG per tab, each showing what a new visitor sees after that tab's one click (tests/first_clicks.py);
    `before(name)` runs before each (the fake's reply for it)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS
    from tests.first_clicks import FIRST_CLICKS, first_click

    out.mkdir(parents=True, exist_ok=True)
    suffix = ("-phone" if width <= PHONE_WIDTH else "") + ("-dark" if dark else "")
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme="dark" if dark else "light")
        page.goto(url + ("?__theme=dark" if dark else ""), wait_until="load")
        page.wait_for_selector('[data-testid="backend-badge"]', timeout=30_000)
        for step in FIRST_CLICKS:
            if only and step.name not in only:
                continue
            if before is not None:
                before(step.name)
            panel = first_click(page, step)
            if step.name in EXTRAS:
                EXTRAS[step.name](page, panel)
            page.wait_for_timeout(1500)  # let the last updates (meter, input boxes, plots) settle
            path = out / f"{step.name}{suffix}.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
        browser.close()
    return saved


def _show_the_request(page, panel) -> None:
    """Vision: the How-it-works panel open on the request the click sent (the raw bytes of the picture)."""
    from playwright.sync_api import expect

    panel.get_by_text("How it works: the request sent").click()
    expect(panel.locator("div.block.sent-requests")).to_contain_text("Content-Type: application/octet-stream")


EXTRAS = {"vision": _show_the_request}  # what a screenshot shows beyond the first click


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--only", help="comma-separated tabs to save (all by default), e.g. chat,vision")
    args = parser.parse_args()
    from components import workers_ai
    from tests.conftest import ACCOUNT_ID, TOKEN, launch_app, make_settings
    from tests.fake_workers_ai import FakeWorkersAI

    with FakeWorkersAI(account_id=ACCOUNT_ID, token=TOKEN) as fake:
        fake.token_delay = 0.01

        def reply_for(name: str) -> None:
            fake.stream_tokens = [w + " " for w in REPLIES.get(name, SAMPLE_REPLY).split(" ")]

        demo, url = launch_app(workers_ai.WorkersAI(make_settings(fake)))
        try:
            only = set(args.only.split(",")) if args.only else None
            for path in shoot(url, args.out, args.width, args.dark, only, reply_for):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            demo.close()


if __name__ == "__main__":
    main()

"""Regenerate the README screenshots from the running app: `make screenshots`.

Starts the fake Workers AI server and the app on loopback, drives each tab in headless Chromium the way a
visitor would, and saves one PNG per tab in assets/screenshots/. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
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


def shoot(url: str, out: Path, width: int, dark: bool, only: set[str] | None = None) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS, open_tab

    out.mkdir(parents=True, exist_ok=True)
    suffix = ("-phone" if width <= PHONE_WIDTH else "") + ("-dark" if dark else "")
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme="dark" if dark else "light")
        page.goto(url + ("?__theme=dark" if dark else ""), wait_until="load")
        page.wait_for_selector('[data-testid="backend-badge"]', timeout=30_000)

        def save(name: str):
            if only and name not in only:
                return
            path = out / f"{name}{suffix}.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)

        page.locator("#chat-input textarea").fill("Explain Workers AI in one paragraph.")
        page.keyboard.press("Enter")
        page.wait_for_selector(".answer-stats :text('tokens/s')", timeout=30_000)
        page.wait_for_timeout(1500)  # let the input box finish its post-answer refresh
        save("chat")

        open_tab(page, "Vision")
        page.locator("#vision-input input[type=file]").set_input_files(str(ROOT / "assets" / "cat-chelsea.png"))
        page.wait_for_selector('[data-testid="label-output-value"]', timeout=30_000)
        page.locator('[role="tabpanel"]:visible').get_by_text("How it works: the request sent").click()  # show it
        page.wait_for_selector(".sent-requests :text('Content-Type: application/octet-stream')", timeout=30_000)
        save("vision")

        open_tab(page, "Speech")
        page.locator("#speech-input").get_by_label("Upload file").click()
        page.locator("#speech-input input[type=file]").set_input_files(str(ROOT / "assets" / "speech-fox.wav"))
        page.get_by_role("button", name="Transcribe").click()
        page.wait_for_function(
            "() => document.querySelector('#speech-transcript textarea').value.length > 0", timeout=30_000)
        save("speech")

        open_tab(page, "Embeddings")
        page.get_by_role("button", name="Compare").click()
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        page.get_by_role("button", name="Search").click()
        page.wait_for_timeout(1500)
        save("embeddings")

        open_tab(page, "Documents")
        page.locator("#documents-question textarea").fill("Why does the Brava show error E3, and how is it fixed?")
        page.locator("#documents-ask").click()
        page.wait_for_selector("#documents-sources :text('[1]')", timeout=60_000)
        page.wait_for_timeout(1500)
        save("documents")

        open_tab(page, "Cost")
        page.get_by_role("button", name="Calculate").click()
        page.wait_for_timeout(1500)
        save("cost")
        browser.close()
    return saved


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
        fake.stream_tokens = [w + " " for w in SAMPLE_REPLY.split(" ")]
        demo, url = launch_app(workers_ai.WorkersAI(make_settings(fake)))
        try:
            only = set(args.only.split(",")) if args.only else None
            for path in shoot(url, args.out, args.width, args.dark, only):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        finally:
            demo.close()


if __name__ == "__main__":
    main()

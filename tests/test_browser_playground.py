"""The Playground tab in headless Chromium against the fake Workers AI server: generate a picture, play synthesised
speech, translate, and run a model picked from the catalogue through the form its schema describes."""

import pytest
from playwright.sync_api import expect

from tests.browser import open_app, open_tab

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, served):
    with open_app(browser, served) as tab:
        yield tab


def sub_tab(page, name: str):
    page.locator('button[role="tab"]', has_text=name).filter(visible=True).first.click()
    return page.locator('[role="tabpanel"]:visible').last


def test_generate_a_picture_and_keep_it_in_the_gallery(page, fake):
    panel = open_tab(page, "Playground")
    panel.locator("#playground-image-prompt textarea").fill("A lighthouse on a cliff at sunset")
    panel.get_by_role("button", name="Generate").click()
    expect(panel.locator("#playground-image img")).to_be_visible()
    expect(panel.locator("#playground-gallery img").first).to_be_visible()
    expect(panel.locator("div.block.answer-cost").first).to_contain_text("neurons")
    assert fake.requests[-1].model == "@cf/black-forest-labs/flux-1-schnell"


def test_speak_and_play_the_speech(page, fake):
    open_tab(page, "Playground")
    panel = sub_tab(page, "Text to speech")
    panel.locator("#playground-speech-text textarea").fill("Hello from the edge.")
    panel.get_by_role("button", name="Speak").click()
    audio = panel.locator("#playground-audio")
    expect(audio.locator("#duration")).not_to_have_text("0:00")  # the MP3 was decoded: it has a length
    audio.get_by_role("button", name="Play", exact=True).click()
    expect(audio.locator("#time")).not_to_have_text("0:00")  # and it plays
    assert fake.requests[-1].model == "@cf/myshell-ai/melotts"


def test_translate_with_swap(page, fake):
    open_tab(page, "Playground")
    panel = sub_tab(page, "Translate")
    panel.locator("#playground-translate-text textarea").fill("Where is the train station?")
    panel.get_by_role("button", name="Translate", exact=True).click()
    expect(panel.locator("#playground-translation textarea")).to_have_value("Où est la gare ?")
    panel.locator("#playground-swap").click()
    expect(panel.locator("#playground-translate-text textarea")).to_have_value("Où est la gare ?")


def test_any_model_builds_its_form_from_the_schema_and_runs(page, fake):
    open_tab(page, "Playground")
    panel = sub_tab(page, "Any model")
    model = panel.locator("#playground-model input")
    model.click()
    model.fill("m2m100")
    page.locator("ul[role='listbox'] li", has_text="m2m100").first.click()
    expect(panel.locator("#playground-card")).to_contain_text("Translation")
    target = panel.locator("#playground-field-target-lang input")  # the schema lists the codes: a dropdown
    expect(target).to_be_editable()
    panel.locator("#playground-field-text textarea").fill("Thank you very much.")
    target.click()
    target.fill("es")
    page.locator("ul[role='listbox'] li", has_text="es").first.click()
    panel.locator("#playground-run").click()
    expect(panel.locator("#playground-text textarea")).to_have_value("Muchas gracias.")
    expect(panel.locator("div.block.answer-cost").last).to_contain_text("neurons")
    how = panel.locator(".how-it-works").last
    how.locator("button, .label-wrap").first.click()
    expect(how).to_contain_text("curl -X POST")

"""The Documents tab in headless Chromium, offline (MiniLM and SmolLM2, the embedded index): upload a PDF, watch it
go in, ask, and read the answer with its numbered sources; the sample collection answers at once."""

import pytest
from playwright.sync_api import expect

from tests.browser import open_app, open_tab
from tests.conftest import ROOT

pytestmark = pytest.mark.browser
PDF = ROOT / "assets" / "documents" / "brava-duo-care.pdf"


@pytest.fixture
def page(browser, offline_served):
    with open_app(browser, offline_served) as tab:
        yield tab


def test_upload_a_pdf_ask_and_see_the_cited_sources(page):
    panel = open_tab(page, "Documents")
    panel.locator("#documents-files input[type=file]").set_input_files(PDF)
    panel.locator("#documents-add").click()
    expect(panel.locator("#documents-status")).to_contain_text("Added brava-duo-care.pdf", timeout=120_000)
    expect(panel.locator("#documents-list")).to_contain_text("brava-duo-care.pdf")
    expect(panel.locator("#documents-which input[value='My documents']")).to_be_checked()

    panel.locator("#documents-question textarea").fill("Why does the Brava show error E3?")
    panel.locator("#documents-ask").click()
    sources = panel.locator("#documents-sources")
    expect(sources).to_contain_text("[1] brava-duo-care.pdf", timeout=120_000)
    expect(sources).to_contain_text("page")
    expect(panel.locator("#documents-answer")).not_to_be_empty(timeout=120_000)
    expect(panel.locator("div.block.answer-cost").last).to_contain_text("question embedded", timeout=120_000)
    expect(panel.locator("div.block.answer-cost").last).to_contain_text("answer")


def test_the_sample_collection_answers_a_first_visit(page):
    panel = open_tab(page, "Documents")
    panel.locator("#documents-question textarea").fill("What gave Smeaton the idea for the shape of his lighthouse?")
    panel.locator("#documents-ask").click()
    expect(panel.locator("#documents-sources")).to_contain_text("eddystone-lighthouse-history.md", timeout=180_000)

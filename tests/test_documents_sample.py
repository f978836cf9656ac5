"""The sample collection (assets/documents/) and its labelled questions (tests/data/documents_questions.json):
the data's integrity, so that retrieval measured on them measures retrieval.

Every answer passage must be in its document word for word (for the PDF: in the text its pages draw, read here
from the PDF's own content streams), questions must not copy their passage, and every file is in the assets'
licence listing.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from functools import cache

import pytest

from tests.conftest import ASSETS, ROOT

DOCUMENTS = ASSETS / "documents"
QUESTIONS = ROOT / "tests" / "data" / "documents_questions.json"
KINDS = {"simple", "complex", "unanswerable"}


@cache
def questions() -> list[dict]:
    return json.loads(QUESTIONS.read_text(encoding="utf-8"))["questions"]


def answered() -> list[dict]:
    return [q for q in questions() if q["document"] is not None]


def collection() -> list:
    """The files the app indexes: Markdown and PDF (make_pdf.py only builds the PDF)."""
    return sorted(p for p in DOCUMENTS.iterdir() if p.suffix in {".md", ".pdf"})


def make_pdf():
    spec = importlib.util.spec_from_file_location("make_pdf", DOCUMENTS / "make_pdf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pdf_text(data: bytes) -> str:
    """The text a PDF of make_pdf.py's kind draws, in order: the literal strings of its `Tj` operators, one line
    each (enough for this file: uncompressed streams, WinAnsi fonts; a general PDF needs a real parser)."""
    lines = []
    for stream in re.findall(rb"stream\n(.*?)\nendstream", data, re.S):
        for literal in re.findall(rb"\(((?:[^()\\]|\\.)*)\) Tj", stream):
            raw = re.sub(rb"\\([0-7]{3}|.)", lambda m: bytes([int(m[1], 8)]) if len(m[1]) == 3 else m[1], literal)
            lines.append(raw.decode("cp1252"))
    return "\n".join(lines)


@cache
def text_of(name: str) -> str:
    path = DOCUMENTS / name
    return pdf_text(path.read_bytes()) if path.suffix == ".pdf" else path.read_text(encoding="utf-8")


def collapse(text: str) -> str:
    return " ".join(text.split())


# ── the collection ──────────────────────────────────────────────────────────────────────────


def test_the_collection_is_a_few_documents_of_mixed_length_with_headings():
    files = collection()
    assert 4 <= len(files) <= 6 and {p.suffix for p in files} == {".md", ".pdf"}
    words = {p.name: len(text_of(p.name).split()) for p in files}
    assert 1_500 <= sum(words.values()) <= 4_000, words
    assert max(words.values()) >= 1.4 * min(words.values()), words  # a mix of lengths
    for path in files:
        if path.suffix == ".md":
            text = text_of(path.name)
            assert text.startswith("# ") and text.count("\n## ") >= 4, path.name


def test_the_pdf_is_the_text_pdf_make_pdf_builds_the_same_every_time():
    builder = make_pdf()
    data = (DOCUMENTS / "brava-duo-care.pdf").read_bytes()
    assert data == builder.build() == builder.build(), "run python assets/documents/make_pdf.py"
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF") and data.count(b"/Type /Page ") == 2
    assert collapse(pdf_text(data)).startswith(collapse(builder.plain_text())[:60])
    # every word of the source text is drawn on a page, in order
    drawn = collapse(pdf_text(data))
    assert all(collapse(paragraph) in drawn for _, paragraphs in builder.SECTIONS for paragraph in paragraphs)


def test_every_file_of_the_collection_has_a_licence_line():
    listing = (ASSETS / "README.md").read_text(encoding="utf-8")
    for path in [*collection(), DOCUMENTS / "make_pdf.py"]:
        row = next((line for line in listing.splitlines() if line.startswith(f"| documents/{path.name} |")), None)
        assert row is not None and "CC0" in row, f"{path.name} is not in assets/README.md's licence table"


# ── the questions ───────────────────────────────────────────────────────────────────────────


def test_the_question_set_is_big_enough_and_well_formed():
    items = questions()
    ids = [q["id"] for q in items]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert all(set(q) <= {"id", "question", "document", "answer_passage", "kind", "also_needs"} for q in items)
    assert all(q["kind"] in KINDS and q["question"].strip().endswith("?") for q in items)
    kinds = Counter(q["kind"] for q in items)
    assert len(answered()) >= 45 and kinds["complex"] >= 10 and 5 <= kinds["unanswerable"] <= 8, kinds
    assert len({q["question"].lower() for q in items}) == len(items), "a question is asked twice"
    names = {p.name for p in collection()}
    assert {q["document"] for q in answered()} == names, "every document has questions, and only those"
    for q in items:
        if q["kind"] == "unanswerable":
            assert q["document"] is None and q["answer_passage"] is None and "also_needs" not in q, q["id"]
        else:
            assert q["document"] in names and q["answer_passage"], q["id"]


@pytest.mark.parametrize("item", answered(), ids=lambda q: q["id"])
def test_each_answer_passage_is_in_its_document_word_for_word(item):
    text = text_of(item["document"])
    for passage in [item["answer_passage"], *item.get("also_needs", [])]:
        assert passage == passage.strip() and len(passage) <= 400, "one or two sentences"
        if item["document"].endswith(".pdf"):  # a PDF's lines break where the page does
            assert collapse(passage) in collapse(text), passage
        else:
            assert passage in text, passage
            assert "\n" not in passage
    assert "also_needs" not in item or item["kind"] == "complex", "only a complex question needs more passages"


@pytest.mark.parametrize("item", answered(), ids=lambda q: q["id"])
def test_each_question_is_a_paraphrase_not_a_copy_of_its_passage(item):
    """No run of five words of the question appears in its passage: retrieval must find meaning, not a quote."""
    words = re.findall(r"\w+", item["question"].lower())
    passage = " ".join(re.findall(r"\w+", item["answer_passage"].lower()))
    runs = [" ".join(words[i:i + 5]) for i in range(len(words) - 4)]
    assert not [run for run in runs if f" {run} " in f" {passage} "], item["question"]

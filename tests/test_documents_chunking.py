"""Chunking (components/core/documents/chunking.py): every chunk fits the model it is for, by that model's own
tokenizer (the counts are checked against core/tokens.py, not trusted); cuts fall at headings, then paragraphs,
then sentences, then words; neighbours overlap; identical chunks come back once; hostile text (no spaces, a
million lines, a million spaces, junk Unicode) stays within the limits and takes about a second at most."""

import hashlib
import json
import random
import time

import pytest

from components.core import tokens as tokens_module
from components.core.documents import chunking
from components.core.documents.chunking import MAX_CHUNK_CHARACTERS, chunk, model_window
from components.core.documents.extract import extract
from components.core.documents.model import MAX_ID_BYTES, Document, Page
from components.core.errors import InputProblem
from components.core.tokens import embedding_tokens
from tests.conftest import report

BGE = "@cf/baai/bge-base-en-v1.5"
LOCAL = "@local/all-minilm-l6-v2"
BYTES = "@cf/baai/bge-m3"  # no tokenizer here: counted by the byte bound
MODELS = (BGE, LOCAL, BYTES)


def document(*pages: str, kind: str = "markdown", name: str = "doc.md") -> Document:
    return Document(name=name, kind=kind, pages=tuple(Page(n, text) for n, text in enumerate(pages, 1)))


def prose(count: int, start: int = 0, rng: random.Random | None = None) -> list[str]:
    """Sentences with unique numbered words, so that no overlap can happen by chance."""
    rng = rng or random.Random(start)
    return [f"Sentence s{n} says " + " ".join(f"w{n}x{k}" for k in range(rng.randint(3, 14))) + "."
            for n in range(start, start + count)]


def check_fits(chunks, model: str, limit: int) -> None:
    for piece in chunks:
        real = embedding_tokens([piece.text], model)
        assert piece.tokens == real, (piece.tokens, real, piece.text[:80])
        assert real <= limit and len(piece.text) <= MAX_CHUNK_CHARACTERS and piece.text.strip()


def shared(left: str, right: str) -> str:
    """The longest end of `left` that `right` starts with."""
    for size in range(min(len(left), len(right)), 0, -1):
        if right.startswith(left[-size:]):
            return left[-size:]
    return ""


# ── limits: the model's window, by its tokenizer ─────────────────────────────────────────────────


@pytest.mark.parametrize("model", MODELS)
def test_every_chunk_fits_the_window_and_says_its_real_token_count(model):
    text = "\n\n".join(" ".join(prose(12, start)) for start in range(0, 1200, 12))
    chunks = chunk(document(text), model, max_tokens=10_000)  # more than any window: the window wins
    limit = model_window(model)
    check_fits(chunks, model, limit)
    assert max(piece.tokens for piece in chunks) > limit * 0.8  # and chunks do fill it
    assert limit == (256 if model == LOCAL else 512)


def test_the_offline_models_window_is_its_packages_max_seq_length():
    """The MiniLM engine truncates at sentence_bert_config.json's max_seq_length: a chunk must fit that."""
    embed_model = pytest.importorskip("components.local.embed_model")
    try:
        folder = embed_model.model_dir()
    except ImportError:
        pytest.skip("the MiniLM weight package is not installed")
    config = json.loads((folder / "sentence_bert_config.json").read_text())
    assert model_window(LOCAL) == config["max_seq_length"] == 256


@pytest.mark.parametrize("model", MODELS)
def test_counts_stay_exact_on_hostile_unicode(model):
    """Sums of word counts equal the tokenizer's count of the chunk, whatever the characters: NBSP, ideographic
    and zero-width spaces, combining accents, CJK, emoji, literal [SEP], replacement characters, 150-letter
    words ([UNK] in WordPiece), 300-digit numbers, and the controls Python splits on but BERT deletes."""
    rng = random.Random(model)
    alphabet = [*"abcdefghij ABC.,;:!?-'\"()[]{}#", "[SEP]", "[CLS]", "\u00a0", "\u3000", "\u200b", "\u0301", "é",
                "ß", "İ", "ﬁ", "東", "京", "。", "😀", "👩‍💻", "\ufffd", "\t", "\n", "\n\n", "\x0b", "\x1c", "\x85",
                "\u2028", "x" * 150, "0123456789" * 30, "\ud800"]
    for _ in range(60):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 2500)))
        chunks = chunk(document(text), model, max_tokens=64, overlap_tokens=16)
        check_fits(chunks, model, 64)
        assert not any("\ud800" in piece.text for piece in chunks)


def test_every_python_whitespace_character_splits_words_as_the_tokenizer_does():
    spaces = [chr(code) for code in range(0x110000) if chr(code).isspace()]
    text = "".join(f"a{space}b " for space in spaces) * 20
    for model in (BGE, BYTES):
        check_fits(chunk(document(text, kind="text"), model, max_tokens=32, overlap_tokens=0), model, 32)


def test_without_the_wordpiece_tokenizer_the_byte_bound_still_fits(monkeypatch):
    monkeypatch.setattr(tokens_module, "_wordpiece", lambda: None)  # a cloud-only install: no tokenizers
    chunks = chunk(document(" ".join(prose(400))), BGE)
    check_fits(chunks, BGE, 384)
    assert all(piece.tokens == len(piece.text.encode()) + 2 for piece in chunks)


def test_past_the_distinct_word_cap_counts_are_upper_bounds(monkeypatch):
    monkeypatch.setattr(chunking, "MAX_DISTINCT_WORDS", 50)
    chunks = chunk(document(" ".join(prose(600))), BGE, max_tokens=128)
    assert all(embedding_tokens([piece.text], BGE) <= piece.tokens <= 128 for piece in chunks)
    assert any(embedding_tokens([piece.text], BGE) < piece.tokens for piece in chunks)


@pytest.mark.parametrize("max_tokens, overlap", [(31, 0), (0, 0), (-5, 0), (True, 0), (128.0, 0), ("128", 0),
                                                 (128, -1), (128, 65), (128, 1.5), (128, None), (128, False)])
def test_sizes_that_make_no_sense_are_refused(max_tokens, overlap):
    with pytest.raises(InputProblem):
        chunk(document("Some text."), BGE, max_tokens=max_tokens, overlap_tokens=overlap)


def test_overlap_may_be_half_a_window_of_the_model_used():
    chunk(document("Some text."), LOCAL, max_tokens=1000, overlap_tokens=128)  # 256 // 2
    with pytest.raises(InputProblem, match="0 to half a chunk \\(128\\)"):
        chunk(document("Some text."), LOCAL, max_tokens=1000, overlap_tokens=129)


def test_nothing_to_chunk_is_no_chunks():
    assert chunk(document("", " \n\n \t", kind="pdf"), BGE) == []


# ── where the cuts fall ──────────────────────────────────────────────────────────────────────────


def short(count: int, start: int = 0) -> list[str]:
    """Sentences of ~10 tokens."""
    return [f"Sentence {n} is short{n % 7} and clear." for n in range(start, start + count)]


def test_paragraphs_that_fit_are_never_cut():
    """A paragraph no longer than half a chunk always ends a chunk whole: the cut prefers the paragraph break in
    a chunk's second half to any sentence end."""
    paragraphs = [" ".join(short(1 + n % 7, 10 * n)) for n in range(60)]
    assert max(embedding_tokens([paragraph], BGE) for paragraph in paragraphs) <= 80
    chunks = chunk(document("\n\n".join(paragraphs), kind="text"), BGE, max_tokens=160, overlap_tokens=0)
    assert len(chunks) > 5
    for piece in chunks:
        assert set(piece.text.split("\n\n")) <= set(paragraphs)
    assert "\n\n".join(piece.text for piece in chunks) == "\n\n".join(paragraphs)


def test_a_long_paragraph_is_cut_at_sentence_ends():
    sentences = short(200)
    chunks = chunk(document(" ".join(sentences), kind="text"), BGE, max_tokens=64, overlap_tokens=0)
    assert all(piece.text.startswith("Sentence") and piece.text.endswith(".") for piece in chunks)
    assert " ".join(piece.text for piece in chunks) == " ".join(sentences)


def test_a_sentence_longer_than_a_chunk_is_cut_between_words():
    words = [f"word{n}" for n in range(3000)]
    chunks = chunk(document(" ".join(words), kind="text"), BGE, max_tokens=100, overlap_tokens=0)
    check_fits(chunks, BGE, 100)
    assert " ".join(piece.text for piece in chunks).split() == words


def test_a_word_longer_than_a_chunk_is_cut_into_slices():
    blob = "".join(random.Random(5).choices("ABCDEFabcdef0123456789+/", k=60_000))  # base64-like, no spaces
    for model in MODELS:
        chunks = chunk(document(f"Before. {blob} After.", kind="text"), model, overlap_tokens=0)
        check_fits(chunks, model, 384 if model != LOCAL else 256)
        assert "".join(piece.text for piece in chunks).replace(" ", "") == f"Before.{blob}After."


def test_chunks_of_a_page_are_its_text_verbatim():
    """Separators are kept as they were: each chunk is a slice of its page (so a citation can be found in it)."""
    rng = random.Random(2)
    pages = ["\n".join(" ".join(prose(2, 100 * page + 2 * line, rng)) for line in range(40))
             for page in range(4)]
    chunks = chunk(document(*pages, kind="pdf", name="r.pdf"), BGE, max_tokens=96)
    for piece in chunks:
        assert piece.text in pages[piece.page - 1] and (piece.document, piece.heading) == ("r.pdf", "")
    assert {piece.page for piece in chunks} == {1, 2, 3, 4}


def test_consecutive_chunks_of_a_section_overlap():
    text = " ".join(short(300))
    chunks = chunk(document(text, kind="text"), BGE, max_tokens=96, overlap_tokens=24)
    overlaps = [shared(left.text, right.text) for left, right in zip(chunks, chunks[1:])]
    assert all(overlaps), "every neighbour shares its start with the end of the previous chunk"
    assert all(embedding_tokens([common], BGE) - 2 <= 24 for common in overlaps)
    assert all(common.startswith("Sentence") for common in overlaps)  # whole sentences where they fit
    without = chunk(document(text, kind="text"), BGE, max_tokens=96, overlap_tokens=0)
    assert not any(shared(left.text, right.text).strip() for left, right in zip(without, without[1:]))
    assert len(without) < len(chunks)


def test_overlap_falls_back_to_words_when_sentences_are_long():
    text = " ".join(f"Long sentence {n} " + " ".join(f"t{n}y{k}" for k in range(60)) + "." for n in range(20))
    chunks = chunk(document(text, kind="text"), BGE, max_tokens=128, overlap_tokens=20)
    assert all(shared(left.text, right.text) for left, right in zip(chunks, chunks[1:]))


def test_no_overlap_across_sections_or_pages():
    text = "# One\n\n" + " ".join(prose(40)) + "\n\n# Two\n\n" + " ".join(prose(40, 40))
    chunks = chunk(document(text, " ".join(prose(40, 80))), BGE, max_tokens=96, overlap_tokens=24)
    for left, right in zip(chunks, chunks[1:]):
        if (left.heading, left.page) != (right.heading, right.page):
            assert not shared(left.text, right.text).strip()


# ── headings ─────────────────────────────────────────────────────────────────────────────────────


GUIDE = """Untitled opening words.

# Guide

Intro sentence.

## Install
### Really install ###

Run this:

```bash
# a comment, not a heading
pip install it
```

~~~
## also not a heading
~~~

Setext title
============

Body under the setext title.

#hashtag is not a heading, and neither is \\# this.

Sub title
---------
Last words."""


def test_markdown_chunks_remember_their_nearest_heading():
    chunks = chunk(document(GUIDE), BGE)
    assert [(piece.heading, piece.text.split("\n")[0]) for piece in chunks] == [
        ("", "Untitled opening words."),
        ("Guide", "# Guide"),
        ("Really install", "## Install"),  # a heading with nothing under it joins the next section
        ("Setext title", "Setext title"),
        ("Sub title", "Sub title"),
    ]
    install = chunks[2].text
    assert "# a comment, not a heading" in install and "## also not a heading" in install
    assert "#hashtag is not a heading" in chunks[3].text


def test_the_heading_carries_over_to_the_next_page_and_text_kinds_have_none():
    chunks = chunk(document("# Chapter\n\nFirst page.", "Second page, same chapter."), BGE)
    assert [(piece.page, piece.heading) for piece in chunks] == [(1, "Chapter"), (2, "Chapter")]
    plain = chunk(document("# not a heading in a .txt\n\nText.", kind="text"), BGE)
    assert [piece.heading for piece in plain] == [""]


def test_html_headings_become_chunk_headings(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("<h1>Title</h1><p>Opening.</p><h2>Usage <code>x</code></h2><p>How to use it.</p>"
                    "<script>// # not a heading</script><p># not one either</p>")
    chunks = chunk(extract(str(path), "page.html"), BGE)
    assert [(piece.heading, piece.text) for piece in chunks] == [
        ("Title", "# Title\n\nOpening."), ("Usage x", "## Usage x\n\nHow to use it.\n\n\\# not one either")]


def test_a_section_bigger_than_a_chunk_keeps_its_heading_on_every_chunk():
    text = "# Big\n\n" + " ".join(prose(200)) + "\n\n# Small\n\nTail."
    chunks = chunk(document(text), LOCAL)
    assert [piece.heading for piece in chunks].count("Big") > 3
    assert chunks[-1].heading == "Small" and chunks[0].text.startswith("# Big")


# ── ids ──────────────────────────────────────────────────────────────────────────────────────────


def test_identical_chunks_get_one_id_and_come_back_once():
    boilerplate = "Confidential. Do not distribute. Page footer text of the company."
    pages = [text for n in range(1, 6) for text in (f"Unique text of page {n}.", boilerplate)]
    chunks = chunk(document(*pages, kind="pdf"), BGE, max_tokens=32, overlap_tokens=0)
    texts = [piece.text for piece in chunks]
    assert len(pages) == 10 and len(chunks) == 6 and texts.count(boilerplate) == 1
    assert len(set(piece.id for piece in chunks)) == len(chunks)
    assert next(piece for piece in chunks if piece.text == boilerplate).page == 2  # where it first appears
    for piece in chunks:
        assert piece.id == hashlib.sha256(piece.text.encode()).hexdigest()[:32]
        assert len(piece.id.encode()) <= MAX_ID_BYTES
    again = chunk(document("Other doc.", boilerplate, kind="pdf", name="other.pdf"), BGE)
    assert {piece.id for piece in again if piece.text == boilerplate} == \
        {piece.id for piece in chunks if piece.text == boilerplate}  # the text alone makes the id


# ── speed ────────────────────────────────────────────────────────────────────────────────────────


def test_a_500_page_document_chunks_in_about_a_second():
    rng = random.Random(0)
    vocabulary = [f"{rng.choice('bcdfghklmnprst')}{rng.choice('aeiou')}{n}" for n in range(30_000)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]

    def page() -> str:
        paragraphs = []
        for _ in range(5):
            words = rng.choices(vocabulary, weights, k=110)
            lines = [" ".join(words[i:i + 14]) + ("." if i % 28 else ",") for i in range(0, 110, 14)]
            paragraphs.append("\n".join(lines))
        return "\n\n".join(paragraphs)

    pages = [page() for _ in range(500)]
    book = document(*pages, kind="pdf")
    for model in (BGE, LOCAL):
        started = time.perf_counter()
        chunks = chunk(book, model)
        seconds = time.perf_counter() - started
        report(f"chunking 500 pages ({sum(map(len, pages)):,} characters) for {model}: {seconds:.2f} s, "
               f"{len(chunks):,} chunks")
        assert seconds < 6  # ~1 s on a busy 2-core machine; the bound leaves room for a loaded one
        sample = chunks[:: max(1, len(chunks) // 50)]
        check_fits(sample, model, model_window(model))


@pytest.mark.parametrize("name, make", [
    ("one word", lambda: "x" * 1_000_000),
    ("punctuation", lambda: ".," * 500_000),
    ("CJK", lambda: "東京" * 500_000),
    ("one-letter lines", lambda: "a\n" * 500_000),
    ("one-letter words", lambda: "a " * 500_000),
    ("short sentences", lambda: "A. " * 330_000),
    ("blank lines", lambda: "a\n\n" * 330_000),
    ("headings", lambda: "# h\n" * 250_000),
    ("a million spaces", lambda: "a" + " " * 1_000_000 + "b\n# t" + " " * 500_000 + "x"),
    ("junk", lambda: "".join(random.Random(1).choices("ab .\n#東😀", k=1_000_000))),
])
def test_hostile_text_is_chunked_within_limits_in_linear_time(name, make):
    text = make()
    started = time.perf_counter()
    chunks = chunk(document(text), BGE)
    seconds = time.perf_counter() - started
    assert seconds < 5, f"{name}: {seconds:.1f} s"
    assert chunks and all(piece.tokens <= 384 and len(piece.text) <= MAX_CHUNK_CHARACTERS for piece in chunks)
    check_fits(chunks[:20], BGE, 384)

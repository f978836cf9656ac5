"""A PDF's outline (bookmarks) gives its chunks their headings (extract.py places them, chunking.py cuts there).
The PDFs are written by hand (tests/test_documents_extract.py's writer) and given an outline as an incremental
update, the way an editor adds bookmarks to an existing file: positioned (/XYZ, /FitH) and unpositioned (/Fit)
destinations, nesting, and the hostile ones (a loop, a missing page, empty and huge titles)."""

import re

import pytest

from components.core.documents import extract as extract_module
from components.core.documents.chunking import chunk
from components.core.documents.extract import extract
from tests.test_documents_extract import make_pdf, text_page, write

MODEL = "@local/all-minilm-l6-v2"


def line_top(number: int) -> int:
    """The top of text_page's line `number` (0-based: baselines 720, 706, …, 11-point Helvetica) plus a little,
    where a bookmark to it points."""
    return 720 - 14 * number + 12


def with_outline(pdf: bytes, items: list, loop: bool = False, action: bool = False) -> bytes:
    """`pdf` with an outline added as an incremental update. items: (title, page index, view, children), where
    view is the destination after its page (b"/XYZ 72 600 0", b"/Fit", b"/FitH 500"). With `loop`, the last
    top-level item's /Next points back at the first; with `action`, each item goes there by a GoTo action (as
    LaTeX's hyperref writes them) instead of a /Dest."""
    size = int(re.search(rb"/Size (\d+)", pdf).group(1))
    previous = int(re.findall(rb"startxref\n(\d+)", pdf)[-1])
    objects: dict[int, bytes] = {}
    counter = [size]

    def new() -> int:
        counter[0] += 1
        return counter[0] - 1

    def build(entries: list, parent: int, top: bool) -> list[int]:
        numbers = [new() for _ in entries]
        for i, (title, page, view, children) in enumerate(entries):
            body = b"<< /Title (" + title.encode("cp1252") + b") /Parent %d 0 R" % parent
            body += b" /Prev %d 0 R" % numbers[i - 1] if i else b""
            if i + 1 < len(entries) or (loop and top):
                body += b" /Next %d 0 R" % numbers[(i + 1) % len(entries)]
            target = b"[%d 0 R " % (6 + 2 * page) + view + b"]"
            body += b" /A << /S /GoTo /D " + target + b" >>" if action else b" /Dest " + target
            if children:
                kids = build(children, numbers[i], False)
                body += b" /First %d 0 R /Last %d 0 R /Count %d" % (kids[0], kids[-1], len(kids))
            objects[numbers[i]] = body + b" >>"
        return numbers

    root = new()
    first = build(items, root, True)
    objects[root] = b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>" % (first[0], first[-1], len(first))
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R /Outlines %d 0 R >>" % root
    out, offsets = bytearray(pdf), {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + objects[number] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n1 1\n%010d 00000 n \n" % offsets[1] + b"%d %d\n" % (size, counter[0] - size)
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(size, counter[0]))
    out += b"trailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (counter[0], previous, xref)
    return bytes(out)


def headed(tmp_path, pages: list[bytes], outline: list, **options) -> list[tuple[int, str, str]]:
    document = extract(write(tmp_path, "manual.pdf", with_outline(make_pdf(pages), outline, **options)), "manual.pdf")
    return [(piece.page, piece.heading, piece.text) for piece in chunk(document, MODEL)]


MANUAL = [
    text_page("Introduction", "This booklet explains the grinder.", "Read it before the first use.",
              "Installation", "Put the grinder on a flat, dry table.", "Plug it into an earthed socket."),
    text_page("Keep the cord away from the hot plate of an espresso machine."),
    text_page("The burrs are sharp: unplug the grinder before opening it.", "2.1 Cleaning",
              "Brush the burrs once a week and never wash them with water."),
]


def test_chunks_carry_the_heading_of_the_bookmarked_section_they_belong_to(tmp_path):
    chunks = headed(tmp_path, MANUAL, [
        ("Introduction", 0, b"/XYZ 0 792 0", []),
        ("Installation", 0, b"/XYZ 72 %d 0" % line_top(3), []),  # mid-page: the text above stays Introduction
        ("Safety", 2, b"/FitH %d" % line_top(0), []),  # a heading the page does not print
        ("Cleaning", 2, b"/Fit", []),  # no position: the line that reads as its title ("2.1 Cleaning")
    ])
    assert chunks == [
        (1, "Introduction", "Introduction\nThis booklet explains the grinder.\nRead it before the first use."),
        (1, "Installation", "Installation\nPut the grinder on a flat, dry table.\nPlug it into an earthed socket."),
        (2, "Installation", "Keep the cord away from the hot plate of an espresso machine."),  # carried over
        (3, "Safety", "The burrs are sharp: unplug the grinder before opening it."),
        (3, "Cleaning", "2.1 Cleaning\nBrush the burrs once a week and never wash them with water."),
    ]


def test_bookmarks_that_go_by_an_action_work_as_well(tmp_path):
    chunks = headed(tmp_path, MANUAL, [("Installation", 0, b"/XYZ 72 %d 0" % line_top(3), []),
                                       ("Cleaning", 2, b"/Fit", [])], action=True)
    assert [(page, heading) for page, heading, _ in chunks] == [(1, ""), (1, "Installation"), (2, "Installation"),
                                                                (3, "Installation"), (3, "Cleaning")]


def test_the_pages_say_where_each_section_starts(tmp_path):
    outline = [("Installation", 0, b"/XYZ 72 %d 0" % line_top(3), [])]
    path = write(tmp_path, "m.pdf", with_outline(make_pdf(MANUAL), outline))
    page = extract(path, "m.pdf").pages[0]
    (offset, title), = page.headings
    assert title == "Installation" and page.text[offset:].startswith("Installation\nPut the grinder")


def test_nested_bookmarks_give_the_innermost_title(tmp_path):
    chunks = headed(tmp_path, MANUAL, [
        ("Part one: setting up", 0, b"/Fit", [("Before you start", 0, b"/XYZ 0 792 0", []),
                                               ("Installation", 0, b"/Fit", [])]),
    ])
    assert [(page, heading) for page, heading, _ in chunks] == [(1, "Before you start"), (1, "Installation"),
                                                                (2, "Installation"), (3, "Installation")]


def test_an_unpositioned_bookmark_whose_title_is_not_printed_starts_at_the_top_of_its_page(tmp_path):
    chunks = headed(tmp_path, MANUAL, [("Appendix: maintenance", 2, b"/Fit", [])])
    assert [(page, heading) for page, heading, _ in chunks] == [(1, ""), (2, ""), (3, "Appendix: maintenance")]


def test_a_pdf_without_an_outline_has_no_headings(tmp_path):
    document = extract(write(tmp_path, "plain.pdf", make_pdf(MANUAL)), "plain.pdf")
    assert all(page.headings == () for page in document.pages)
    assert {piece.heading for piece in chunk(document, MODEL)} == {""}


def test_a_hostile_outline_costs_its_headings_never_the_text(tmp_path):
    """A /Next loop (PDFium stops at the repeat), a destination past the last page, an empty title and a
    2,000-character one: the text is read whole, the usable bookmarks used, titles cut to 200 characters."""
    long_title = "Spare parts " * 170
    chunks = headed(tmp_path, MANUAL, [
        ("Introduction", 0, b"/XYZ 0 792 0", []),
        ("Nowhere", 9, b"/Fit", []),
        ("", 1, b"/Fit", []),
        (long_title, 2, b"/Fit", []),
    ], loop=True)
    assert [(page, heading) for page, heading, _ in chunks] == [(1, "Introduction"), (2, "Introduction"),
                                                                (3, long_title.strip()[:200].strip())]
    assert "Brush the burrs" in chunks[2][2] and "Plug it into an earthed socket." in chunks[0][2]


def test_bookmarks_past_the_limit_are_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(extract_module, "MAX_BOOKMARKS", 1)
    chunks = headed(tmp_path, MANUAL, [("Introduction", 0, b"/XYZ 0 792 0", []), ("Cleaning", 2, b"/Fit", [])])
    assert {heading for _page, heading, _text in chunks} == {"Introduction"}


@pytest.mark.parametrize("view, top", [(b"/XYZ 72 900 0", True), (b"/XYZ 72 -40 0", False), (b"/FitH 0", False)])
def test_a_position_off_the_page_falls_back_to_the_top_or_the_title(tmp_path, view, top):
    """Above the page: the section starts at its top. Below it, or 0 (a missing coordinate reads as 0): the
    position says nothing, so the line that reads as the title decides."""
    chunks = headed(tmp_path, MANUAL, [("Installation", 0, view, [])])
    assert [(page, heading) for page, heading, _ in chunks] == \
        ([] if top else [(1, "")]) + [(1, "Installation"), (2, "Installation"), (3, "Installation")]

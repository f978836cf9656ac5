"""Writes brava-duo-care.pdf, the sample collection's one PDF, from the text below: a real text PDF (PDF 1.4,
the standard Helvetica fonts, uncompressed content streams) made with the standard library alone, so it builds
the same bytes everywhere. The text is CC0, written for this app; the Brava Duo is a fictional espresso machine.

    python assets/documents/make_pdf.py          # rewrites assets/documents/brava-duo-care.pdf
"""

from __future__ import annotations

from pathlib import Path

PDF = Path(__file__).with_name("brava-duo-care.pdf")
TITLE = "Brava Duo espresso machine: care and maintenance"
INTRO = ("The Brava Duo is a fictional dual-boiler espresso machine, described here for this app's sample "
         "collection. This booklet tells you how to keep it clean, when to descale it, which parts wear out, and "
         "what its error codes mean.")
SECTIONS = [
    ("Every day", [
        "Before the first shot, let the machine heat up for 25 minutes with the portafilter locked in the group, "
        "so that the group head reaches brewing temperature as well as the boilers.",
        "After the last shot of the day, rinse the group: put the blind basket in the portafilter, run the pump for "
        "10 seconds, stop it for 10 seconds and repeat this five times with plain water. Purge the steam wand for "
        "two seconds after every milk jug and wipe it with a damp cloth straight away, before the milk dries on.",
    ]),
    ("Every week", [
        "Once a week, backflush the group with detergent: 3 g of espresso machine cleaning powder in the blind "
        "basket, five cycles of 10 seconds on and 10 seconds off, then five more cycles with plain water to rinse. "
        "Soak the baskets and the portafilter spouts, never the plastic handle, in hot water with 10 g of the same "
        "powder for 20 minutes.",
        "Empty and wash the drip tray and the water tank every week as well. Change the water every day if the "
        "machine is used only once or twice.",
    ]),
    ("Descaling", [
        "Scale from hard water is the most common cause of repairs. With tap water, descale the Duo every two "
        "months; with filtered water below 4 degrees of German hardness (4 °dH), once every six months is enough.",
        "To descale, dissolve 100 ml of citric-acid descaler in 900 ml of water in the tank, start the descaling "
        "program by holding both cup buttons for five seconds, and let the machine pump the solution through the "
        "group and the hot-water tap. The program takes about 40 minutes and then asks for two full tanks of "
        "clean water to rinse. Never descale with vinegar: it attacks the seals and voids the warranty.",
    ]),
    ("Parts that wear", [
        "The group gasket, the rubber ring that seals the portafilter against the group, hardens with heat. Replace "
        "it every twelve months, or sooner if water leaks around the portafilter during a shot or the handle "
        "locks further to the right than it used to. Replace the shower screen at the same time.",
        "The water filter in the tank holds about 60 litres; replace it every two months, or at once if the "
        "water starts to taste of it.",
    ]),
    ("Factory settings", [
        "The Duo leaves the factory with a brew pressure of 9 bar, a brew boiler at 93 °C and a steam boiler at "
        "1.2 bar. The brew temperature can be set from 88 to 96 °C in steps of one degree, in the settings menu.",
    ]),
    ("Error codes", [
        "E1 means the water tank is empty or not seated properly: fill it and push it down until it clicks. E2 "
        "means a temperature sensor has failed: switch the machine off and call the service centre, because it "
        "will not heat safely. E3 means the pump has run for 60 seconds without a break, usually because the "
        "coffee is ground far too fine or the blind basket was left in; switch off for ten minutes and grind "
        "coarser.",
    ]),
    ("Warranty and service", [
        "The Duo has a two-year warranty from the date of purchase, which covers parts and labour but not "
        "gaskets, filters, or damage from scale. A service every three years, or every 5,000 shots, keeps the "
        "pump and the valves in good order; the shot counter is in the settings menu.",
    ]),
]

# Page layout in points (A4), and the fonts: the standard Type 1 fonts need no embedding.
WIDTH, HEIGHT, MARGIN = 595, 842, 64
STYLES = {"title": ("F2", 16, 26), "heading": ("F2", 12.5, 20), "body": ("F1", 11, 15)}  # font, size, leading
PARAGRAPH_GAP = 6
# Helvetica's advance widths (per 1,000 units of the font size) for ASCII 32-126; others count as 556.
_WIDTHS = [278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, *[556] * 10, 278, 278,
           584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667,
           778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556,
           278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500,
           334, 260, 334, 584]


def text_width(text: str, size: float) -> float:
    return sum(_WIDTHS[ord(c) - 32] if 32 <= ord(c) <= 126 else 556 for c in text) * size / 1000


def wrap(text: str, size: float, width: float) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if line and text_width(candidate, size) > width:
            lines.append(line)
            candidate = word
        line = candidate
    return lines + [line] if line else lines


def plain_text() -> str:
    """The booklet's text as a reader sees it: title, introduction, then each heading and its paragraphs."""
    parts = [TITLE, INTRO]
    for heading, paragraphs in SECTIONS:
        parts += [heading, *paragraphs]
    return "\n\n".join(parts)


def _escape(line: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding (cp1252), bytes above ASCII as octal escapes."""
    out = bytearray()
    for byte in line.encode("cp1252"):
        if byte in b"()\\":
            out += b"\\" + bytes([byte])
        elif byte > 126:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out)


def _pages() -> list[bytes]:
    blocks = [("title", TITLE), ("body", INTRO)]
    for heading, paragraphs in SECTIONS:
        blocks.append(("heading", heading))
        blocks += [("body", paragraph) for paragraph in paragraphs]
    pages, ops, y = [], [], HEIGHT - MARGIN
    for style, text in blocks:
        font, size, leading = STYLES[style]
        lines = wrap(text, size, WIDTH - 2 * MARGIN)
        keep = 2 if style == "heading" else 1  # a heading never ends a page
        if y - leading * (len(lines[:1]) + keep) < MARGIN:
            pages.append(b"\n".join(ops))
            ops, y = [], HEIGHT - MARGIN
        for line in lines:
            if y - leading < MARGIN:
                pages.append(b"\n".join(ops))
                ops, y = [], HEIGHT - MARGIN
            y -= leading
            ops.append(b"BT /%s %g Tf 1 0 0 1 %d %g Tm (%s) Tj ET" % (font.encode(), size, MARGIN, y, _escape(line)))
        y -= PARAGRAPH_GAP
    pages.append(b"\n".join(ops))
    for number, page in enumerate(pages, 1):  # a page number at the foot of each page
        footer = b"BT /F1 9 Tf 1 0 0 1 %d %d Tm (%d) Tj ET" % (WIDTH // 2, MARGIN // 2, number)
        pages[number - 1] = page + b"\n" + footer
    return pages


def build() -> bytes:
    """The PDF's bytes: the same for the same text, on any machine (no dates, no random ids)."""
    pages = _pages()
    first_page = 6
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title (%s) /Author (Workers AI showcase) /Producer (assets/documents/make_pdf.py) >>" % _escape(TITLE),
    ]
    for i, content in enumerate(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R "
                       b"/F2 4 0 R >> >> /Contents %d 0 R >>" % (WIDTH, HEIGHT, first_page + 2 * i + 1))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content) + 1, content))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


if __name__ == "__main__":
    PDF.write_bytes(build())
    print(f"wrote {PDF} ({PDF.stat().st_size:,} bytes)")

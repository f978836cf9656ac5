"""PDF text extraction: pypdfium2 (PDFium, C++) against pypdf (pure Python), on speed and text quality. Not a test.

    .venv/bin/python bench/bench_pdf.py [--pages 200] [--repeat 3]

Both libraries read the same PDFs, written here by hand (no PDF library makes them, so neither reads its own
output) and deflated as real ones are:
- prose: one column of Helvetica, spaces in the text, one paragraph break per few lines;
- positioned: no space characters at all, every word placed by a TJ offset (LaTeX and most typesetters do
  this), plus kerning inside words: the reader must infer spaces from the gaps and not split kerned words;
- ligatures: words with fi / fl drawn with Helvetica's own ligature glyphs (StandardEncoding \\256, \\257);
- two columns: a left column then a right one on each page: the reader must not interleave the lines;
- interleaved: two columns drawn line by line across the page: only a reader that orders text by its place on
  the page (not by the content stream) gets the columns apart;
- 2,000 pages: the time to open the file and count its pages (what refusing a too-long PDF costs);
- bombs, each read in a child process of its own (wall time and peak memory, stopped after --bomb-seconds):
  "operators", one page whose content stream inflates to 64 MB of path operators from ~100 KB; "stacked", 64
  million characters drawn at one spot from ~145 KB; "run-on", the same as one line running off the page; "text",
  one 5.5 MB page of 12 million characters, scattered. "the app" is extract.py reading the bomb (its child process
  with MAX_PDF_SECONDS and MAX_PDF_MEMORY): what a visitor's upload costs the server.
Quality is difflib's ratio between the words extracted and the words drawn (1.0 = every word, in order; the
"cleaned" column spells out ligature characters such as U+FB01 as extract.py does).
Speed is pages per second to open the file and read the text of every page (the best of --repeat runs).
pypdf is not a dependency of the app: `.venv/bin/pip install pypdf==7.1.1` to run this.
"""

from __future__ import annotations

import argparse
import difflib
import os
import random
import re
import subprocess
import sys
import time
import unicodedata
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ("the a of and profile file field final office define flow flight float reflect fifty official "
         "model network vector search query answer river mountain city market table figure section result "
         "method inference token embedding offline local engine worker cloud edge").split()
LIGATURES = {"fi": b"\\256", "fl": b"\\257"}  # Helvetica's StandardEncoding codes for the fi and fl glyphs


# ── writing PDFs by hand ─────────────────────────────────────────────────────────────────────


def pdf(pages: list[bytes]) -> bytes:
    """A PDF whose pages draw the given content streams (deflated) with F1 = Helvetica/WinAnsi and F2 =
    Helvetica with its built-in StandardEncoding (which has the ligature glyphs)."""
    count = len(pages)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (5 + 2 * i) for i in range(count))
               + b"] /Count %d >>" % count,
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for index, content in enumerate(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R "
                       b"/F2 4 0 R >> >> /Contents %d 0 R >>" % (6 + 2 * index))
        packed = zlib.compress(content, 9)
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _escape(text: str) -> bytes:
    return text.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _lines(rng: random.Random, count: int, width: int = 80) -> list[list[str]]:
    lines, line = [], []
    while len(lines) < count:
        word = rng.choice(WORDS)
        if len(" ".join(line + [word])) > width:
            lines.append(line)
            line = []
        line.append(word)
    return lines


def prose_page(rng: random.Random) -> tuple[bytes, list[str]]:
    lines = _lines(rng, 46)
    ops = [b"BT /F1 11 Tf 14 TL 60 740 Td"]
    for number, line in enumerate(lines):
        ops.append(b"(" + _escape(" ".join(line)) + b") Tj T*" + (b" T*" if number % 6 == 5 else b""))
    ops.append(b"ET")
    return b"\n".join(ops), [w for line in lines for w in line]


def positioned_page(rng: random.Random) -> tuple[bytes, list[str]]:
    lines = _lines(rng, 46)
    ops = [b"BT /F1 11 Tf 14 TL 60 740 Td"]
    for line in lines:
        parts = []
        for word in line:
            if len(word) > 3:  # kerned inside the word: a small offset that is not a space
                parts.append(b"(" + _escape(word[:2]) + b") 40 (" + _escape(word[2:]) + b")")
            else:
                parts.append(b"(" + _escape(word) + b")")
        ops.append(b"[" + b" -278 ".join(parts) + b"] TJ T*")  # -278/1000 em: Helvetica's space width
    ops.append(b"ET")
    return b"\n".join(ops), [w for line in lines for w in line]


def ligature_page(rng: random.Random) -> tuple[bytes, list[str]]:
    lines = _lines(rng, 46)
    ops = [b"BT /F2 11 Tf 14 TL 60 740 Td"]
    for line in lines:
        raw = _escape(" ".join(line))
        for pair, code in LIGATURES.items():
            raw = raw.replace(pair.encode(), code)
        ops.append(b"(" + raw + b") Tj T*")
    ops.append(b"ET")
    return b"\n".join(ops), [w for line in lines for w in line]


def two_column_page(rng: random.Random) -> tuple[bytes, list[str]]:
    ops, words = [], []
    for x in (50, 320):
        lines = _lines(rng, 46, width=40)
        ops.append(b"BT /F1 10 Tf 14 TL %d 740 Td" % x)
        ops += [b"(" + _escape(" ".join(line)) + b") Tj T*" for line in lines]
        ops.append(b"ET")
        words += [w for line in lines for w in line]
    return b"\n".join(ops), words


def interleaved_page(rng: random.Random) -> tuple[bytes, list[str]]:
    """Two columns again, but drawn line by line across the page (left 1, right 1, left 2, …), as some
    typesetters do: a reader that follows the content stream mixes the columns' lines."""
    left, right = _lines(rng, 46, width=40), _lines(rng, 46, width=40)
    ops = [b"BT /F1 10 Tf"]
    for row, (one, two) in enumerate(zip(left, right)):
        y = 740 - 14 * row
        ops += [b"1 0 0 1 50 %d Tm (" % y + _escape(" ".join(one)) + b") Tj",
                b"1 0 0 1 320 %d Tm (" % y + _escape(" ".join(two)) + b") Tj"]
    ops.append(b"ET")
    return b"\n".join(ops), [w for line in left + right for w in line]


def operators_bomb() -> bytes:
    """64 MB of drawing operators that draw nothing visible (a path moved to and never painted)."""
    return b"0 0 m\n" * (64 * 1024 * 1024 // 6)


def stacked_bomb() -> bytes:
    """64,000 runs of 1,000 characters drawn at one spot: 64 million characters from ~145 KB."""
    return (b"BT /F1 1 Tf 0 0 Td (" + b"a" * 1000 + b") Tj ET\n") * 64_000


def run_on_bomb() -> bytes:
    """The same 64 million characters as one line that runs off the page."""
    return b"BT /F1 1 Tf 0 0 Td\n" + (b"(" + b"a" * 1000 + b") Tj\n") * 64_000 + b"ET"


def through_the_app(path: Path) -> str:
    """What extract.py (a child process with MAX_PDF_SECONDS and MAX_PDF_MEMORY) makes of `path`."""
    from components.core.documents.extract import extract
    from components.core.errors import InputProblem

    started = time.perf_counter()
    try:
        outcome = f"{sum(len(page.text) for page in extract(str(path), path.name).pages):>10,} characters"
    except InputProblem as exc:
        outcome = f"refused: {str(exc)[:60]}"
    return f"{time.perf_counter() - started:6.2f} s  {outcome}"


def text_bomb() -> bytes:
    """20,000 runs of 600 characters in a 1-point font, each at its own place: 12 million characters, one page."""
    rng = random.Random(1)
    runs = (b"1 0 0 1 %d %d Tm (" % (rng.randrange(600), rng.randrange(780))
            + bytes(rng.choice(b"abcdefgh ") for _ in range(600)) + b") Tj\n" for _ in range(20_000))
    return b"BT /F1 1 Tf\n" + b"".join(runs) + b"ET"


# ── the two readers ──────────────────────────────────────────────────────────────────────────


def read_pdfium(path: Path) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(path))
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_bounded())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def read_pypdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    return [page.extract_text() or "" for page in reader.pages]


READERS: dict[str, Callable[[Path], list[str]]] = {"pypdfium2": read_pdfium, "pypdf": read_pypdf}


def quality(texts: list[str], truth: list[list[str]], cleaned: bool = False) -> float:
    """difflib's ratio page by page (on a whole book it is quadratic), weighted by the words each page draws."""
    matched = 0.0
    for text, words in zip(texts, truth):
        if cleaned:
            text = re.sub("[\ufb00-\ufb06]", lambda m: unicodedata.normalize("NFKC", m.group()), text)
        found = text.split()
        matched += difflib.SequenceMatcher(None, found, words, autojunk=False).ratio() * (len(found) + len(words)) / 2
    return matched / sum(map(len, truth))


def open_and_count(name: str, path: Path) -> int:
    if name == "pypdfium2":
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(str(path))
        count = len(document)
        document.close()
        return count
    from pypdf import PdfReader

    return len(PdfReader(str(path)).pages)


CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from bench_pdf import READERS
started = time.perf_counter()
characters = sum(map(len, READERS[sys.argv[2]](__import__("pathlib").Path(sys.argv[3]))))
peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])  # kB; ru_maxrss counts the forking parent
print(time.perf_counter() - started, peak // 1024, characters)
"""


def in_child(name: str, path: Path, seconds: float) -> str:
    """Read `path` with reader `name` in a fresh process: wall time, peak RSS, characters; or how it ended."""
    try:
        run = subprocess.run([sys.executable, "-c", CHILD, str(Path(__file__).parent), name, str(path)],
                             capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        return f"stopped after {seconds:.0f} s"
    if run.returncode != 0:
        return f"failed: {(run.stderr.strip().splitlines() or ['?'])[-1][:70]}"
    wall, peak, characters = run.stdout.split()
    return f"{float(wall):6.2f} s  {int(peak):5d} MB peak  {int(characters):>10,} characters"


def best_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="pages per generated PDF")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per cell; the best is reported")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/bench_pdf"))
    parser.add_argument("--bomb-seconds", type=float, default=60, help="when a bomb's reader is stopped")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)

    import pypdf
    import pypdfium2

    print(f"pypdfium2 {pypdfium2.PYPDFIUM_INFO} (PDFium {pypdfium2.PDFIUM_INFO})  pypdf {pypdf.__version__}  "
          f"python {sys.version.split()[0]}  cpus {os.cpu_count()}  load {os.getloadavg()[0]:.1f}")
    makers = {"prose": prose_page, "positioned": positioned_page, "ligatures": ligature_page,
              "two columns": two_column_page, "interleaved": interleaved_page}
    print(f"\n{'layout':<13}{'pages':>6}"
          + "".join(f"{name + ' pages/s':>18}{'words ok':>10}{'cleaned':>9}" for name in READERS))
    for layout, make in makers.items():
        rng = random.Random(layout)
        drawn = [make(rng) for _ in range(args.pages)]
        path = args.folder / f"{layout.replace(' ', '_')}.pdf"
        path.write_bytes(pdf([content for content, _ in drawn]))
        truth = [words for _, words in drawn]
        row = f"{layout:<13}{args.pages:>6}"
        for read in READERS.values():
            seconds = best_seconds(lambda: read(path), args.repeat)  # noqa: B023 - called at once
            texts = read(path)
            row += f"{args.pages / seconds:>18.0f}{quality(texts, truth):>10.3f}{quality(texts, truth, True):>9.3f}"
        print(row)

    print("\nsamples (first 100 characters of page 1):")
    for layout in makers:
        path = args.folder / f"{layout.replace(' ', '_')}.pdf"
        for name, read in READERS.items():
            print(f"  {layout:<12} {name:<10} {read(path)[0][:100]!r}")

    long = args.folder / "2000_pages.pdf"
    long.write_bytes(pdf([b"BT /F1 11 Tf 72 700 Td (page) Tj ET"] * 2000))
    print("\nopen a 2,000-page PDF and count its pages:")
    for name in READERS:
        seconds = best_seconds(lambda: open_and_count(name, long), args.repeat)  # noqa: B023 - called at once
        print(f"  {name:<10} {seconds * 1000:7.1f} ms")

    print(f"\nbombs, each in a fresh process (stopped after {args.bomb_seconds:.0f} s):")
    bombs = (("operators", operators_bomb), ("stacked", stacked_bomb), ("run-on", run_on_bomb), ("text", text_bomb))
    for label, make in bombs:
        bomb = args.folder / f"bomb_{label.replace('-', '_')}.pdf"
        bomb.write_bytes(pdf([make()]))
        for name in READERS:
            print(f"  {label:<10} {bomb.stat().st_size // 1024:>6} KB  {name:<10} "
                  f"{in_child(name, bomb, args.bomb_seconds)}")
        print(f"  {label:<10} {bomb.stat().st_size // 1024:>6} KB  {'the app':<10} {through_the_app(bomb)}")


if __name__ == "__main__":
    main()

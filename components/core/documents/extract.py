"""Files in, text out: a PDF, Markdown, plain-text or HTML upload read into a Document (its pages of text).

Every upload is a stranger's file, so every limit is checked before the work it bounds and a file is either read
whole or refused with one sentence (an InputProblem), never half-read:
- at most MAX_FILE_BYTES on disk and MAX_CHARACTERS of text (about 500 dense pages) once read;
- the kind comes from the content and the name together: `%PDF-` at the start is a PDF whatever its name, a name
  ending .pdf without it is refused, and text that is really binary is refused whatever its name says;
- a PDF is read by PDFium (pypdfium2: Chrome's PDF engine, fuzzed without end; bench/bench_pdf.py measured it
  3-15x faster than pypdf, with ligatures and word gaps right) in a child process with MAX_PDF_SECONDS and
  MAX_PDF_MEMORY: a hostile PDF of a few MB can make any reader take seconds and gigabytes on one page (and
  PDFium, a C++ library, is not thread-safe), so the app only ever waits, bounded, for an answer. The child
  refuses over MAX_PAGES before reading a page, a password, a damaged file; the app refuses a file that does not
  end in %%EOF (truncated: PDFium would quietly "repair" what is left) and one with no text layer (scanned);
- text is UTF-8 (a BOM is fine; UTF-16 with its BOM too) or else Windows-1252 only when the bytes decode
  cleanly and look like Western text; anything else is refused with a request to save it as UTF-8;
- HTML keeps its visible text only (no script, style, head, hidden elements), with its headings as `#` lines
  for chunking.py to split at (html_text.py: a linear scanner, since Python 3.11's html.parser takes minutes on
  100 KB of unclosed tags and raises on a 5,000-digit character reference);
- a PDF's outline (its bookmarks) gives its pages their headings: each bookmark starts a section where its
  destination points (the text above the destination's top on its page ends the section before), or, without a
  usable position, at the line of its page that reads as its title, else at the top of its page. Chunks then say
  "page 4, Descaling" as Markdown ones do (Page.headings; at most MAX_BOOKMARKS are read).
Page numbers are physical (1 = the first page); files without pages are one page. Both functions block (a child
process, file reads, CPU): call them in a worker thread, never on the event loop.
"""

from __future__ import annotations

import codecs
import json
import re
import subprocess
import sys
import threading
import unicodedata
from pathlib import PurePosixPath

from ..errors import InputProblem
from .html_text import html_to_text
from .model import Document, Page

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PAGES = 500
MAX_CHARACTERS = 2_000_000  # ~500 pages of dense text, ~500k tokens: an upload, not a library
MAX_PDF_SECONDS = 30  # a 500-page PDF reads in ~1 s; beyond 30 s it is hostile or broken
MAX_PDF_MEMORY = 1 << 30  # the child's address space: text PDFs need < 300 MB, one bomb page 1.7 GB
PDF_READERS = 2  # PDFs read at once (each a child process); more wait for a slot, at most MAX_PDF_SECONDS
MAX_NAME_CHARACTERS = 200
MAX_BOOKMARKS = 2_000  # a 500-page book has a few hundred; titles are cut at MAX_NAME_CHARACTERS
KINDS = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html"}
PASTED = "Pasted text"

_pdf_slots = threading.BoundedSemaphore(PDF_READERS)
_SUPPORTED = "PDF, Markdown (.md), plain text (.txt) or HTML (.html)"
_DAMAGED = "This PDF is damaged or incomplete and could not be read: download or export it again and re-upload it."
_NOT_TEXT = ("This file is not readable text (it is binary, or in an encoding other than UTF-8 or Windows-1252): "
             "save it as UTF-8 text and upload it again.")

# The child: reads the PDF from stdin and answers one JSON object on stdout. Isolated (-I): nothing from the
# working directory or the environment can change what it imports. Its limits are its arguments.
_PDF_CHILD = r"""
import json, sys
max_pages, max_characters, memory, max_bookmarks, max_title = map(int, sys.argv[1:6])
try:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
except (ImportError, ValueError, OSError):
    pass
try:
    import pypdfium2 as pdfium
except ImportError:
    sys.exit(3)
def answer(**reply):
    sys.stdout.write(json.dumps(reply))
    sys.exit(0)
try:
    document = pdfium.PdfDocument(sys.stdin.buffer.read())
except pdfium.PdfiumError as exc:
    answer(error={4: "password", 6: "password"}.get(getattr(exc, "err_code", None), "damaged"))
count = len(document)
if count > max_pages:
    answer(error="pages", count=count)
pages, total = [], 0
for index in range(count):
    try:
        text = document[index].get_textpage().get_text_bounded()
    except pdfium.PdfiumError:
        answer(error="damaged")
    total += len(text)
    if total > max_characters:
        answer(error="characters")
    pages.append(text)
outline = []  # [page index, title, characters of its page's text above the destination, or null]
try:
    for bookmark in document.get_toc(max_depth=16):
        if len(outline) >= max_bookmarks:
            break
        title = " ".join(bookmark.get_title().split())[:max_title]
        dest = bookmark.get_dest()  # PDFium follows a GoTo action too (hyperref's bookmarks)
        index = dest.get_index() if dest is not None else None
        if not title or index is None or not 0 <= index < count:
            continue
        mode, view = dest.get_view()
        # The destination's top: /XYZ left top zoom (mode 1), /FitH top (3), /FitBH top (7); others have none.
        top = view[1] if mode == 1 and len(view) >= 2 else view[0] if mode in (3, 7) and view else None
        above = None
        if top is not None:
            page = document[index]
            if 0 < top < page.get_height():
                text = page.get_textpage().get_text_bounded(bottom=top)
                above = len(text) if pages[index].startswith(text) else None
            elif top >= page.get_height():
                above = 0
        outline.append([index, title, above])
except (pdfium.PdfiumError, ValueError, TypeError, OSError):
    outline = []  # a broken outline costs the headings, not the text
answer(pages=pages, outline=outline)
"""


def extract(path: str, name: str) -> Document:
    """The text of the file at `path` (uploaded as `name`, which is only shown), or InputProblem saying why not.

    Blocking (file reads, a child process for a PDF, up to MAX_PDF_SECONDS): run it in a worker thread."""
    shown = _shown_name(name) or _shown_name(path) or "Document"
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except (OSError, TypeError, ValueError):  # gone, a folder, no path at all
        raise InputProblem("The uploaded file could not be read: upload it again.") from None
    if not data:
        raise InputProblem("The file is empty (0 bytes): there is nothing to read.")
    if len(data) > MAX_FILE_BYTES:
        raise InputProblem(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB, the most that is read: "
                           "split it into smaller files.")
    kind = _kind(data, PurePosixPath(shown).suffix.lower() or PurePosixPath(str(path)).suffix.lower())
    headings: list[tuple] = []
    if kind == "pdf":
        raw, outline = _pdf_pages(data)
        texts = [_clean(text, collapse_spaces=True) for text in raw]
        if not any(text.strip() for text in texts):
            raise InputProblem("This PDF has no text layer (its pages are images, as in a scan): run it through "
                               "OCR (text recognition) first, then upload the result.")
        headings = _outline_headings(raw, texts, outline)
    else:
        text = _decode(data)
        texts = [_clean(html_to_text(text) if kind == "html" else text)]
    return _document(shown, kind, texts, len(data), headings)


def from_text(text: str, name: str = PASTED) -> Document:
    """Pasted text as a one-page "text" Document, under the same limits as a file. Blocking only as long as the
    text is: cheap, but for a long paste call it in a worker thread like `extract`."""
    if not isinstance(text, str):
        raise InputProblem("Paste some text to add.")
    if len(text) > MAX_CHARACTERS:
        raise _too_much_text()
    return _document(_shown_name(name) or PASTED, "text", [_clean(text)], len(text.encode("utf-8", "replace")))


# ── kinds, names and the Document ──────────────────────────────────────────────────────────────


def _kind(data: bytes, suffix: str) -> str:
    """"pdf" for `%PDF-` at the start (within the first KB when the name says .pdf, as readers allow), else the
    text kind the name's extension says; an unknown extension, or .pdf without the header, is refused."""
    if data.startswith(b"%PDF-") or (suffix == ".pdf" and b"%PDF-" in data[:1024]):
        return "pdf"
    if suffix == ".pdf":
        raise InputProblem("This file is named .pdf but is not a PDF (it does not start with %PDF-): "
                           "export it as a PDF again, or upload it with its real extension.")
    if suffix not in KINDS:
        raise InputProblem(f"Only {_SUPPORTED} files can be added; "
                           + (f"this one is \"{suffix[:20]}\"." if suffix else "this one has no extension."))
    return KINDS[suffix]


def _shown_name(name: str | None) -> str:
    """The name to show: its last path component, printable, at most MAX_NAME_CHARACTERS (never used as a path)."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:MAX_NAME_CHARACTERS]


def _document(name: str, kind: str, texts: list[str], size: int, headings: list[tuple] = ()) -> Document:
    if not any(text.strip() for text in texts):
        raise InputProblem("There is no text in this file to read (it is empty or only spaces and markup).")
    if sum(map(len, texts)) > MAX_CHARACTERS:
        raise _too_much_text()
    pages = tuple(Page(n, t, headings[n - 1] if headings else ()) for n, t in enumerate(texts, 1))
    return Document(name=name, kind=kind, pages=pages, size_bytes=size)


def _outline_headings(raw: list[str], texts: list[str], outline: list) -> list[tuple[tuple[int, str], ...]]:
    """Each page's (offset in its cleaned text, bookmark title) for the bookmarks that point at it, in page order.
    Where a section starts: after the text above the destination's top (`above`, measured in the raw text) when
    that is known; else at the first line of the page that reads as the title; else at the top of the page. The
    looking costs a page's length per bookmark: bounded in all (a hostile file's 2,000 bookmarks on one huge page
    fall back to the top of their page)."""
    marks: list[list[tuple[int, str]]] = [[] for _ in texts]
    work = 4 * MAX_CHARACTERS  # characters looked through, ~1 s
    for entry in outline if isinstance(outline, list) else []:
        try:
            index, title, above = int(entry[0]), str(entry[1]), entry[2]
        except (TypeError, ValueError, IndexError):
            continue
        shown = "".join(ch for ch in title if unicodedata.category(ch)[0] != "C").strip()[:MAX_NAME_CHARACTERS]
        if not 0 <= index < len(texts) or not shown:
            continue
        text, offset = texts[index], None
        if isinstance(above, int) and 0 <= above <= len(raw[index]) and (work := work - above) >= 0:
            prefix = _clean(raw[index][:above], collapse_spaces=True)
            offset = len(prefix) if text.startswith(prefix) else None
        if offset is None:
            offset = _title_line(text, title) if (work := work - len(text)) >= 0 else 0
        marks[index].append((_SPACE.match(text, offset).end(), shown))  # the section opens with its first word
    return [tuple(sorted(page, key=lambda mark: mark[0])) for page in marks]


def _title_line(text: str, title: str) -> int:
    """Where the first line that reads as `title` starts (spaces and case aside; numbering such as "2.1" before it
    allowed), or 0."""
    wanted = " ".join(title.split()).casefold()
    offset = 0
    for line in text.split("\n"):
        words = " ".join(line.split()).casefold()
        if words == wanted or (words.endswith(wanted) and re.fullmatch(r"[\divxlc.]+ ?", words[:-len(wanted)])):
            return offset
        offset += len(line) + 1
    return 0


def _too_much_text() -> InputProblem:
    return InputProblem(f"This holds more than {MAX_CHARACTERS:,} characters of text (about {MAX_PAGES} pages), "
                        "the most one upload may have: split it into smaller files.")


# ── text: decoding and cleaning ────────────────────────────────────────────────────────────────

_SPACE = re.compile(r"\s*")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
_LIGATURES = re.compile("[\ufb00-\ufb06]")  # ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ: a search for "file" must find "ﬁle"
_NON_ASCII_RUN = re.compile(rb"[\x80-\xff]{4,}")
_HIGH = bytes(range(128, 256))


def _decode(data: bytes) -> str:
    """UTF-8 (with or without its BOM), UTF-16 with its BOM, or Windows-1252 when that reads as Western text."""
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return _checked(data[len(bom):].decode(codec))
            except UnicodeDecodeError:
                raise InputProblem(_NOT_TEXT) from None
    try:
        return _checked(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    # Not UTF-8. Windows-1252 (what browsers read "Latin-1" as) only when it is plausibly Western text: no NUL,
    # few bytes above 127 and never four in a row (UTF-16, Chinese or Japanese encodings, compressed data are).
    if b"\x00" in data or _NON_ASCII_RUN.search(data) or len(data) - len(data.translate(None, _HIGH)) > len(data) // 5:
        raise InputProblem(_NOT_TEXT)
    try:
        return _checked(data.decode("cp1252"))
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        raise InputProblem(_NOT_TEXT) from None


def _checked(text: str) -> str:
    """`text`, unless it is binary in disguise: any NUL, or more than 1% control characters (and a few)."""
    controls = sum(1 for _ in _CONTROLS.finditer(text, 0, 1 << 20))  # the first MB decides
    if "\x00" in text or controls > 8 + min(len(text), 1 << 20) // 100:
        raise InputProblem(_NOT_TEXT)
    return text


def _clean(text: str, collapse_spaces: bool = False) -> str:
    """One form for all text: \\n line ends, no control characters or lone surrogates (they break JSON, SQLite
    and tokenizers), ligatures spelled out, no trailing spaces, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _CONTROLS.sub(lambda m: " " if m.group() in "\x0b\x1c\x1d\x1e\x1f\x85" else "", text)
    text = _LIGATURES.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    if collapse_spaces:  # PDF layout: runs of spaces are columns and justification, not meaning
        text = re.sub(r"[ \t\u00a0]{2,}", " ", text)
    text = re.sub(r"(?<![ \t])[ \t]++(?=\n|$)", "", text)  # from a run's start only: linear
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


# ── PDF, in a child process ────────────────────────────────────────────────────────────────────


def _pdf_pages(data: bytes) -> tuple[list[str], list]:
    """Each page's text and the outline ([page index, title, characters above its destination or None]), read by
    PDFium in a child process bounded in time and memory, or InputProblem."""
    if b"%%EOF" not in data[-1024:]:  # cut short: what PDFium would "repair" is part of a document
        raise InputProblem(_DAMAGED)
    if not _pdf_slots.acquire(timeout=MAX_PDF_SECONDS):
        raise InputProblem("The server is busy reading other PDFs: try again in a minute.")
    try:
        run = subprocess.run(
            [sys.executable, "-I", "-c", _PDF_CHILD, str(MAX_PAGES), str(MAX_CHARACTERS), str(MAX_PDF_MEMORY),
             str(MAX_BOOKMARKS), str(MAX_NAME_CHARACTERS)],
            input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=MAX_PDF_SECONDS, env={})
    except subprocess.TimeoutExpired:
        raise InputProblem(f"Reading this PDF took longer than {MAX_PDF_SECONDS} seconds, so it was stopped (it may "
                           "be malformed): try a smaller or re-exported file.") from None
    finally:
        _pdf_slots.release()
    if run.returncode == 3:
        raise RuntimeError("pypdfium2 is not installed: PDFs cannot be read (pip install -e .)")
    if run.returncode != 0:  # killed: out of memory (MAX_PDF_MEMORY) or a crash inside PDFium
        raise InputProblem("This PDF needs more memory to read than the server allows (it may be malformed): try a "
                           "smaller or re-exported file.")
    try:
        reply = json.loads(run.stdout)
    except ValueError:
        raise InputProblem(_DAMAGED) from None
    error = reply.get("error")
    if error == "password":
        raise InputProblem("This PDF is password-protected: save a copy without the password and upload that.")
    if error == "pages":
        raise InputProblem(f"This PDF has {reply['count']:,} pages; at most {MAX_PAGES} can be read: split it into "
                           "smaller files.")
    if error == "characters":
        raise _too_much_text()
    if error:
        raise InputProblem(_DAMAGED)
    return [str(text) for text in reply["pages"]], reply.get("outline") or []

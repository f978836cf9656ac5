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
  for chunking.py to split at. It is read by a small linear scanner, not html.parser: Python 3.11's parser takes
  minutes on 100 KB of unclosed tags and raises on a 5,000-digit character reference.
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
from html import unescape
from pathlib import PurePosixPath

from ..errors import InputProblem
from .model import Document, Page

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PAGES = 500
MAX_CHARACTERS = 2_000_000  # ~500 pages of dense text, ~500k tokens: an upload, not a library
MAX_PDF_SECONDS = 30  # a 500-page PDF reads in ~1 s; beyond 30 s it is hostile or broken
MAX_PDF_MEMORY = 1 << 30  # the child's address space: text PDFs need < 300 MB, one bomb page 1.7 GB
PDF_READERS = 2  # PDFs read at once (each a child process); more wait for a slot, at most MAX_PDF_SECONDS
MAX_HTML_TAGS = 1_000_000  # ~2 s of scanning; a real 20 MB page has a few hundred thousand
MAX_NAME_CHARACTERS = 200
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
max_pages, max_characters, memory = map(int, sys.argv[1:4])
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
answer(pages=pages)
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
    if kind == "pdf":
        texts = [_clean(text, collapse_spaces=True) for text in _pdf_pages(data)]
        if not any(text.strip() for text in texts):
            raise InputProblem("This PDF has no text layer (its pages are images, as in a scan): run it through "
                               "OCR (text recognition) first, then upload the result.")
    else:
        text = _decode(data)
        texts = [_clean(html_to_text(text) if kind == "html" else text)]
    return _document(shown, kind, texts, len(data))


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


def _document(name: str, kind: str, texts: list[str], size: int) -> Document:
    if not any(text.strip() for text in texts):
        raise InputProblem("There is no text in this file to read (it is empty or only spaces and markup).")
    if sum(map(len, texts)) > MAX_CHARACTERS:
        raise _too_much_text()
    return Document(name=name, kind=kind, pages=tuple(Page(n, t) for n, t in enumerate(texts, 1)), size_bytes=size)


def _too_much_text() -> InputProblem:
    return InputProblem(f"This holds more than {MAX_CHARACTERS:,} characters of text (about {MAX_PAGES} pages), "
                        "the most one upload may have: split it into smaller files.")


# ── text: decoding and cleaning ────────────────────────────────────────────────────────────────

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


def _pdf_pages(data: bytes) -> list[str]:
    """Each page's text, read by PDFium in a child process bounded in time and memory, or InputProblem."""
    if b"%%EOF" not in data[-1024:]:  # cut short: what PDFium would "repair" is part of a document
        raise InputProblem(_DAMAGED)
    if not _pdf_slots.acquire(timeout=MAX_PDF_SECONDS):
        raise InputProblem("The server is busy reading other PDFs: try again in a minute.")
    try:
        run = subprocess.run(
            [sys.executable, "-I", "-c", _PDF_CHILD, str(MAX_PAGES), str(MAX_CHARACTERS), str(MAX_PDF_MEMORY)],
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
    return [str(text) for text in reply["pages"]]


# ── HTML: visible text, headings as markdown ──────────────────────────────────────────────────

_MARKUP = re.compile(r"<[A-Za-z/!?]")
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
_ATTRIBUTE = re.compile(r"""([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_HUGE_REFERENCE = re.compile(r"&#(?:[xX]0*[0-9a-fA-F]{7,}|0*[0-9]{8,});?")  # beyond U+10FFFF, or int() raises
_SKIPPED = {"script", "style", "head", "template", "noscript", "svg", "math", "iframe", "object", "select"}
_RAW = {"script", "style", "textarea", "title", "xmp"}  # content is text up to the matching end tag
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_BLOCKS = {"address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt", "fieldset",
           "figcaption", "figure", "footer", "form", "header", "hr", "main", "nav", "ol", "p", "pre", "section",
           "summary", "table", "tr", "ul", "li"}
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_HEADING_MARK = "\x00"  # marks the heading lines made here, so text that starts with "#" can be told apart
_PRE_MARK = "\x01"  # marks the lines of <pre>, whose spaces are kept


def html_to_text(html: str) -> str:
    """The visible text of an HTML page: no script, style, head or hidden element; blocks as paragraphs, <br> as
    line breaks, <pre> as is, headings as markdown `#` lines. Linear in the input (no backtracking)."""
    html = html.replace(_HEADING_MARK, "").replace(_PRE_MARK, "")
    out: list[str] = []
    stack: list[tuple[str, bool]] = []  # open elements and whether each one hides its content
    open_count: dict[str, int] = {}
    hidden = pre = tags = 0
    heading: tuple[int, list[str]] | None = None
    position = 0
    while position < len(html):
        found = _MARKUP.search(html, position)
        end = found.start() if found else len(html)
        if end > position and not hidden:
            text = _entities(html[position:end])
            text = text.replace("\n", "\n" + _PRE_MARK) if pre else re.sub(r"[ \t\n\r\f]+", " ", text)
            (heading[1] if heading else out).append(text)
        if not found:
            break
        tags += 1
        if tags > MAX_HTML_TAGS:
            raise InputProblem(f"This page has more than {MAX_HTML_TAGS:,} tags, more than is read: save its text.")
        if html.startswith("<!--", end):
            close = html.find("-->", end + 4)
            position = len(html) if close < 0 else close + 3
            continue
        tag = _TAG.match(html, end)
        close = html.find(">", end + 1)
        if close < 0:  # an unterminated tag: nothing after it is visible
            break
        position = close + 1
        if not tag:  # <!DOCTYPE …>, <? … >, </ 3>: not content
            continue
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if not closing and name in _RAW:  # the end tag is the only way out of script, style, textarea, title
            stop = re.compile(rf"</{name}[\s/>]", re.I).search(html, position)
            raw = html[position:stop.start() if stop else len(html)]
            if not (hidden or name in _SKIPPED or name == "title"):
                out.append(_entities(raw))
            position = len(html) if not stop else (html.find(">", stop.start()) + 1 or len(html))
            continue
        if name in _VOID:
            if not hidden and name in ("br", "hr"):
                (heading[1] if heading else out).append(" " if heading else "\n" if name == "br" else "\n\n")
            continue
        if not closing:
            hides = name in _SKIPPED or _hides(html[tag.end():close])
            stack.append((name, hides))
            open_count[name] = open_count.get(name, 0) + 1
            hidden += hides
            pre += name == "pre"
        elif open_count.get(name):
            while stack:  # close everything opened inside it (amortised: each element is popped once)
                popped, hides = stack.pop()
                open_count[popped] -= 1
                hidden -= hides
                pre -= popped == "pre"
                if popped == name:
                    break
        else:
            continue  # an end tag with no start: ignored, as browsers do
        if hidden:
            continue
        if name in _HEADINGS and not closing and heading is None:
            heading = (_HEADINGS[name], [])
        elif heading is not None and closing and not any(open_count.get(h) for h in _HEADINGS):
            out.append(_heading_line(*heading))  # its end tag, or an end tag that closed it
            heading = None
        elif heading is not None and (name in _BLOCKS or name in ("td", "th")):
            heading[1].append(" ")
        elif name in _BLOCKS:
            out.append(("" if closing else "\n- ") if name == "li" else "\n\n")
            out.append(_PRE_MARK if name == "pre" and not closing else "")
        elif name in ("td", "th"):
            out.append(" ")
    if heading is not None:  # never closed
        out.append(_heading_line(*heading))
    lines = []
    for line in "".join(out).split("\n"):  # spaces collapsed as a browser does, but in <pre>
        line = line[1:].replace(_PRE_MARK, "").rstrip() if line.startswith(_PRE_MARK) else re.sub(
            r"[ \t]{2,}", " ", line.replace(_PRE_MARK, "")).strip(" \t")
        lines.append(line[1:] if line.startswith(_HEADING_MARK) else "\\" + line if line.startswith("#") else line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines).replace(_HEADING_MARK, "")).strip()


def _heading_line(level: int, parts: list[str]) -> str:
    title = " ".join("".join(parts).split())
    return f"\n\n{_HEADING_MARK}{'#' * level} {title}\n\n" if title else "\n\n"


def _entities(text: str) -> str:
    return unescape(_HUGE_REFERENCE.sub("\ufffd", text)) if "&" in text else text


def _hides(attributes: str) -> bool:
    """Whether an element's attributes hide it: hidden, aria-hidden="true", or display:none / visibility:hidden."""
    for match in _ATTRIBUTE.finditer(attributes):
        key, value = match.group(1).lower(), "".join(filter(None, match.group(2, 3, 4))).lower()
        if key == "hidden" or (key == "aria-hidden" and value == "true"):
            return True
        if key == "style" and re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", value):
            return True
    return False

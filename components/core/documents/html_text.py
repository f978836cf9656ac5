"""HTML uploads: the visible text of a page, its headings as Markdown `#` lines for chunking.py to split at.

Read by a small linear scanner, not html.parser: Python 3.11's parser takes minutes on 100 KB of unclosed tags and
raises on a 5,000-digit character reference. No script, style, head or hidden element; blocks become paragraphs,
<br> a line break, <pre> stays as it is. At most MAX_HTML_TAGS tags are read (InputProblem beyond).
"""

from __future__ import annotations

import re
from html import unescape

from ..errors import InputProblem

MAX_HTML_TAGS = 1_000_000  # ~2 s of scanning; a real 20 MB page has a few hundred thousand

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

"""A Document cut into chunks the embedding model takes whole: split at headings, then paragraphs, then sentences
and lines, then words, with some overlap between neighbours of one section.

Why each rule:
- A chunk never exceeds the model's window by its own tokenizer (core/tokens.py: exact WordPiece counts for the
  bge and MiniLM models, an upper bound for the others): a longer text is silently truncated by the model, and the
  end of the chunk would be found by nobody. The window is the model's: 512 tokens for bge, 256 for the offline
  MiniLM (its sentence-transformers max_seq_length), 512 as the safe guess for any other.
- Headings (Markdown `#` lines and underlined titles outside code fences; extract.py writes HTML headings so)
  start a new chunk and every chunk remembers the nearest one, so an answer can cite "page 3, Installation".
  A PDF's headings are its outline's bookmarks (Page.headings, placed by extract.py); plain text and a PDF
  without an outline carry none: their chunks say "" and their page.
- Within a section the cut falls at the strongest boundary in the second half of a full chunk: a paragraph end,
  else a sentence end, else a line end, else between words; a "word" longer than a whole chunk (base64, a URL
  without end) is cut into pieces. Consecutive chunks of a section share their last/first ~overlap_tokens, in
  whole sentences where they fit, so a fact that straddles a cut is still found whole.
- Token counts are added up, not re-measured: WordPiece cuts at whitespace first, so a text's tokens are its
  words' tokens plus [CLS] and [SEP], and each distinct word is counted once (a 500-page book has ~35k). The
  whole book is never tokenised again per candidate chunk; tests check the sums against the tokenizer. Past
  MAX_DISTINCT_WORDS (junk, not prose) a new word counts as its UTF-8 bytes: an upper bound, so still safe.
- A chunk's id is a SHA-256 prefix of its text alone, so the same passage uploaded twice is stored once; `chunk`
  returns each id once (the first place it appears).
Pure CPU, no I/O: 500 pages (1.6 million characters) take ~0.6 s on a busy 2-core machine, hostile text of the
same size at most ~1.5 s (tests/test_documents_chunking.py measures both); call it in a worker thread.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right
from typing import NamedTuple

from ..errors import InputProblem
from ..tokens import embedding_tokens
from .model import Chunk, Document

DEFAULT_MAX_TOKENS = 384  # big enough for a paragraph and its context, small enough to be specific
DEFAULT_OVERLAP_TOKENS = 48  # a sentence or two
MIN_TOKENS = 32
WINDOWS = {"@cf/baai/bge-small-en-v1.5": 512, "@cf/baai/bge-base-en-v1.5": 512, "@cf/baai/bge-large-en-v1.5": 512,
           "@local/all-minilm-l6-v2": 256}
DEFAULT_WINDOW = 512  # vectorize-contract.md §3: 512 tokens per text is the limit it states
MAX_CHUNK_CHARACTERS = 4000  # a 512-token chunk of English is ~2,500; this stops [UNK]-heavy text ballooning
PIECE_CHARACTERS = MAX_CHUNK_CHARACTERS // 4  # longer sentences are cut between words, so chunks can fill up
MAX_DISTINCT_WORDS = 50_000  # words counted by the tokenizer per document (a 500-page book has ~35k)
MIN_PIECE_CHARACTERS = 24  # shorter sentences and lines join the next: fewer places to cut, none lost that matter
HEADED_KINDS = {"markdown", "html"}
ID_HEX_DIGITS = 32  # 128 bits of SHA-256: unique for any number of chunks a person can upload

PARAGRAPH, SENTENCE, LINE, WORD = 3, 2, 1, 0  # how good a place to cut the boundary before a piece is

_ATX = re.compile(r" {0,3}#{1,6}(?=[ \t]|$)")  # the title is what follows, less a closing run of #
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_MAYBE_HEADING = re.compile(r"^ {0,3}[#=`~-]", re.M)  # the lines the three above may match
_NOT_PARAGRAPH = re.compile(r" {4}|\s*(?:[-*+>|#]|\d+[.)])(?:\s|$)")
# Blank lines; sentence ends (with closing quotes or brackets; CJK full stops need no space after them); line ends.
# A run of spaces is only tried from its start ((?<![ \t])) and never given back (*+): a line of a million spaces
# costs one pass, not a million.
_BOUNDARY = re.compile(r"(?P<paragraph>(?<![ \t])[ \t]*+\n(?:[ \t]*+\n)++[ \t]*+)"
                       r"|(?P<sentence>(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)\]]))(?:[ \t]*+\n[ \t]*+|[ \t]++)"
                       r"|(?<=[。！？])(?:[ \t]*+\n[ \t]*+|[ \t]++|(?=\S)))|(?P<line>(?<![ \t])[ \t]*+\n[ \t]*+)")
_KINDS = {"paragraph": PARAGRAPH, "sentence": SENTENCE, "line": LINE}
_WORD = re.compile(r"\S+")
# What Python's str.split() takes for whitespace but BERT's normalizer deletes (they are control characters):
# made spaces, so that a text's words are the tokenizer's words and the sums stay exact.
_CONTROL_SPACES = re.compile("[\x0b\x0c\x1c-\x1f\x85]")
_SURROGATES = re.compile("[\ud800-\udfff]")  # half a UTF-16 pair: no tokenizer, JSON or SQLite takes it


class _Piece(NamedTuple):  # a tuple: a 500-page book makes ~30,000 of them
    text: str
    separator: str  # the text between the previous piece and this one, kept as it was
    boundary: int  # PARAGRAPH … WORD: the kind of the boundary before this piece
    tokens: int  # without [CLS]/[SEP]
    separator_tokens: int


def model_window(model: str) -> int:
    """The most tokens one text may have for `model` (its sequence length, special tokens included)."""
    return WINDOWS.get(model, DEFAULT_WINDOW)


def chunk(document: Document, model: str, max_tokens: int = DEFAULT_MAX_TOKENS,
          overlap_tokens: int = DEFAULT_OVERLAP_TOKENS) -> list[Chunk]:
    """`document` as chunks of at most min(max_tokens, the model's window) tokens for `model`, in reading order,
    each id once. InputProblem for sizes that cannot make sense (they may come from an API caller)."""
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < MIN_TOKENS:
        raise InputProblem(f"A chunk must be allowed at least {MIN_TOKENS} tokens.")
    limit = min(max_tokens, model_window(model))
    if isinstance(overlap_tokens, bool) or not isinstance(overlap_tokens, int) \
            or not 0 <= overlap_tokens <= limit // 2:
        raise InputProblem(f"The overlap must be a whole number of tokens from 0 to half a chunk ({limit // 2}).")
    counter = _Counter(model)
    budget = limit - counter.special
    chunks: dict[str, Chunk] = {}
    heading = ""
    for page in document.pages:
        text = _SURROGATES.sub("\ufffd", _CONTROL_SPACES.sub(" ", page.text))
        for heading, text in _outlined(text, page.headings, heading):  # a PDF's bookmarks start sections too
            for heading, text in _sections(text, heading, document.kind in HEADED_KINDS):
                pieces = _pieces(text, counter, budget, overlap_tokens or budget)
                for part, tokens in _pack(pieces, budget, overlap_tokens):
                    key = hashlib.sha256(part.encode("utf-8")).hexdigest()[:ID_HEX_DIGITS]
                    if key not in chunks:
                        chunks[key] = Chunk(id=key, document=document.name, page=page.number, heading=heading,
                                            text=part, tokens=tokens + counter.special)
    return list(chunks.values())


# ── sections: split at headings ─────────────────────────────────────────────────────────────────


def _outlined(text: str, marks: tuple[tuple[int, str], ...], heading: str) -> list[tuple[str, str]]:
    """(heading, text) for the parts of a page that its marks (offset, title) start, the first part under the
    heading carried from before. Every mark gives a part, empty or not: the last one's title goes on to the next
    page."""
    parts, start = [], 0
    for offset, title in marks:
        offset = min(max(offset, start), len(text))
        parts.append((heading, text[start:offset].rstrip()))
        heading, start = title, offset
    return parts + [(heading, text[start:])]


def _sections(text: str, heading: str, headed: bool) -> list[tuple[str, str]]:
    """(nearest heading, text) for each section of a page; the heading line opens its section. Headings with
    nothing under them join the next section (whose heading is nearer), so no chunk is a lone title."""
    if not headed:
        return [(heading, text)] if text.strip() else []
    lines = text.split("\n")
    offsets = [0]  # where each line starts: the regex below finds the few lines that may matter by position
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    starts: list[tuple[int, str, int]] = [(0, heading, 0)]  # (first line, heading, lines the heading takes)
    fence = ""
    for found in _MAYBE_HEADING.finditer(text):
        number = bisect_right(offsets, found.start()) - 1
        line = lines[number]
        marker = _FENCE.match(line)
        if fence:  # inside a code fence: only its closing line (same character, as long or longer) counts
            if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence) \
                    and not line.strip().strip(fence[0]):
                fence = ""
        elif marker:
            fence = marker.group(1)
        elif atx := _ATX.match(line):
            starts.append((number, _title(line[atx.end():]), 1))
        elif number and _SETEXT.fullmatch(line) and _is_title(lines, number - 1):
            starts.append((number - 1, lines[number - 1].strip(), 2))
    if len(starts) > 1 and starts[1][0] == 0:
        starts.pop(0)  # the page opens with a heading: no untitled part before it
    sections: list[tuple[str, str]] = []
    carried: list[str] = []  # headings with nothing under them yet
    for index, (first, title, size) in enumerate(starts):
        last = starts[index + 1][0] if index + 1 < len(starts) else len(lines)
        body = "\n".join(lines[first:last]).strip("\n")
        if size and index + 1 < len(starts) and not "\n".join(lines[first + size:last]).strip():
            carried.append(body)
        elif body.strip() or carried:
            sections.append((title, "\n\n".join(carried + [body] if body.strip() else carried)))
            carried = []
    return sections


def _title(rest: str) -> str:
    """An ATX heading's title: the rest of its line, less a closing run of # after a space ("## Setup ##")."""
    title = rest.strip()
    bare = title.rstrip("#")
    return "" if not bare else bare.rstrip() if bare != title and bare[-1] in " \t" else title


def _is_title(lines: list[str], number: int) -> bool:
    """Whether line `number` is a one-line paragraph an underline (=== or ---) makes a heading."""
    line = lines[number]
    return bool(line.strip()) and not _NOT_PARAGRAPH.match(line) and not _ATX.match(line) \
        and (number == 0 or not lines[number - 1].strip())


# ── pieces: paragraphs, sentences and lines, words ──────────────────────────────────────────────


class _Counter:
    """Tokens of texts for one model, from its words' tokens: each distinct word goes to the tokenizer once."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.words: dict[str, tuple[int, int]] = {}  # word -> (tokens without specials, UTF-8 bytes)
        self.special = embedding_tokens([""], model)
        # 0 for WordPiece (whitespace is free), 1 for the byte bound (every byte, spaces too, may be a token)
        self.per_space_byte = embedding_tokens(["a b"], model) - 2 * embedding_tokens(["a"], model) + self.special

    def word(self, word: str) -> tuple[int, int]:
        """(tokens, UTF-8 bytes) of one word: the tokenizer's count for the first MAX_DISTINCT_WORDS distinct
        words, then its byte length, which no tokenizer exceeds (~10 µs a call: junk with a million distinct
        "words" must not cost ten seconds)."""
        known = self.words.get(word)
        if known is None:
            size = _utf8(word)
            if len(self.words) >= MAX_DISTINCT_WORDS:
                return size, size
            known = self.words[word] = (embedding_tokens([word], self.model) - self.special, size)
        return known

    def tokens(self, text: str) -> int:
        """The tokens of `text` without [CLS]/[SEP]: its words' plus, for the byte bound, its spaces'."""
        words, total, space = self.words, 0, 0
        for word in text.split():
            known = words.get(word) or self.word(word)
            total += known[0]
            space += known[1]
        return total + self.per_space_byte * (_utf8(text) - space) if self.per_space_byte else total


def _utf8(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _pieces(text: str, counter: _Counter, budget: int, small: int) -> list[_Piece]:
    """The section cut at every paragraph, sentence and line boundary; a piece over `small` tokens (the overlap,
    so that an overlap can always be made of whole pieces) is cut again between words (`_add`)."""
    pieces: list[_Piece] = []
    separator, boundary, start = "", PARAGRAPH, 0
    for cut in [*_BOUNDARY.finditer(text), None]:
        end = cut.start() if cut else len(text)
        if cut and end - start < MIN_PIECE_CHARACTERS:
            continue  # too short to stand alone ("a\n" a million times): it joins what follows
        if end > start:
            _add(pieces, text[start:end], separator, boundary, counter, budget, small)
        if cut:
            separator, boundary, start = cut.group(), _KINDS[cut.lastgroup], cut.end()
    return pieces


def _add(pieces: list[_Piece], text: str, separator: str, boundary: int, counter: _Counter, budget: int,
         small: int) -> None:
    """`text` as one piece, or, when over `small` tokens or PIECE_CHARACTERS, as groups of whole words of about
    equal size (the whitespace between them kept as their separators; a word too long for a chunk in slices)."""
    per_space = counter.per_space_byte
    if len(text) <= PIECE_CHARACTERS:
        tokens = counter.tokens(text)
        if tokens <= small:
            pieces.append(_Piece(text, separator, boundary, tokens, per_space and per_space * _utf8(separator)))
            return
    words: list[tuple[str, str, int]] = []  # (whitespace before, word or slice, its tokens)
    cache, previous_end = counter.words, 0
    for match in _WORD.finditer(text):
        between = text[previous_end:match.start()]
        if not previous_end:  # whitespace before the first word joins the separator: a group starts with a word
            separator, between = separator + between, ""
        previous_end = match.end()
        word = match.group()
        known = cache.get(word)
        if known is not None and known[0] <= budget and len(word) <= PIECE_CHARACTERS:
            words.append((between, word, known[0]))
            continue
        for part, part_tokens in _slices(word, counter, budget):
            words.append((between, part, part_tokens))
            between = " "  # between the slices of one word too long for a chunk
    if not words:
        return
    spaces = [per_space and per_space * _utf8(between) for between, _, _ in words]
    total = sum(spaces) + sum(tokens for _, _, tokens in words)
    target = -(-total // -(-total // small))  # ceil(total / number of groups): groups of about equal size
    group, group_tokens, group_characters = [words[0][1]], words[0][2], len(words[0][1])
    for (between, part, part_tokens), space in zip(words[1:], spaces[1:]):
        if group_tokens + space + part_tokens > target \
                or group_characters + len(between) + len(part) > PIECE_CHARACTERS:
            pieces.append(_Piece("".join(group), separator, boundary, group_tokens,
                                 per_space and per_space * _utf8(separator)))
            separator, boundary = between, WORD
            group, group_tokens, group_characters = [part], part_tokens, len(part)
        else:
            group += [between, part]
            group_tokens += space + part_tokens
            group_characters += len(between) + len(part)
    pieces.append(_Piece("".join(group), separator, boundary, group_tokens, per_space and per_space * _utf8(separator)))


def _slices(word: str, counter: _Counter, budget: int) -> list[tuple[str, int]]:
    """[(word, its tokens)], or consecutive slices of a word too long for a piece (each tokenised alone: a
    million-character word is never sent whole), halved until each is within budget."""
    if len(word) <= PIECE_CHARACTERS:
        tokens = counter.word(word)[0]
        if tokens <= budget:
            return [(word, tokens)]
    out, waiting = [], [word[start:start + PIECE_CHARACTERS] for start in range(0, len(word), PIECE_CHARACTERS)]
    waiting.reverse()
    while waiting:
        part = waiting.pop()
        tokens = counter.word(part)[0]
        if tokens > budget and len(part) > 1:
            waiting += [part[len(part) // 2:], part[:len(part) // 2]]
        else:
            out.append((part, tokens))
    return out


# ── packing pieces into chunks ──────────────────────────────────────────────────────────────────


def _pack(pieces: list[_Piece], budget: int, overlap: int) -> list[tuple[str, int]]:
    """Pieces packed greedily into chunks of at most `budget` tokens and MAX_CHUNK_CHARACTERS, each cut at the
    strongest boundary of its second half; the next chunk starts with up to `overlap` tokens of whole pieces."""
    count = len(pieces)
    tokens, characters = [0] * (count + 1), [0] * (count + 1)  # prefix sums, separators included
    for index, piece in enumerate(pieces):
        tokens[index + 1] = tokens[index] + piece.separator_tokens + piece.tokens
        characters[index + 1] = characters[index] + len(piece.separator) + len(piece.text)

    def size(first: int, end: int) -> int:  # the tokens of pieces[first:end] as one text
        return tokens[end] - tokens[first] - pieces[first].separator_tokens

    def fits(first: int, end: int) -> bool:
        return size(first, end) <= budget and \
            characters[end] - characters[first] - len(pieces[first].separator) <= MAX_CHUNK_CHARACTERS

    out: list[tuple[str, int]] = []
    first = 0
    while first < count:
        # The most pieces that fit (prefix sums grow, so a bisection finds it), at least one.
        base_tokens = tokens[first] + pieces[first].separator_tokens
        base_characters = characters[first] + len(pieces[first].separator)
        end = max(first + 1, min(bisect_right(tokens, base_tokens + budget, first + 1),
                                 bisect_right(characters, base_characters + MAX_CHUNK_CHARACTERS, first + 1)) - 1)
        if end < count:  # the strongest boundary that leaves the chunk at least half full; the latest on ties
            half = max(first + 1, min(bisect_left(tokens, base_tokens + -(-budget // 2), first + 1),
                                      bisect_left(characters, base_characters + MAX_CHUNK_CHARACTERS // 2, first + 1)))
            best = end
            for cut in range(end, half - 1, -1):
                if pieces[cut].boundary > pieces[best].boundary:
                    best = cut
                    if pieces[best].boundary == PARAGRAPH:
                        break
            end = best
        text = pieces[first].text + "".join(piece.separator + piece.text for piece in pieces[first + 1:end])
        out.append((text, size(first, end)))
        if end >= count:
            break
        start = end
        while start - 1 > first and size(start - 1, end) <= overlap and fits(start - 1, end + 1):
            start -= 1
        first = start
    return out

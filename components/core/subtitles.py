"""WebVTT and SRT built here from word or segment timings.

Why not the service's `vtt` field: `@cf/openai/whisper` returns timestamps like `00.280 --> 01.840`, which are not
valid WebVTT (see shared/docs/workers-ai-contract.md §5), and it has no SRT at all. Building both from timed words
also lets us follow the usual captioning rules: at most two lines of ~42 characters, at most ~7 s on screen,
a new cue after a sentence ends or after a pause.

    words = parse_words(result["words"])                    # or words_from_segments(...), words_from_text(...)
    cues = cues_from_words(words)
    to_vtt(cues), to_srt(cues)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LINE_CHARS = 42
MAX_LINES = 2
MAX_CUE_SECONDS = 7.0
PAUSE_SECONDS = 0.8
SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")
# When nothing says how long a text took to say: a typical speaking rate, to size a fallback cue.
CHARS_PER_SECOND = 15.0


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _seconds(value, fallback: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return fallback
    return number if number == number and number >= 0 else fallback  # NaN and negatives are not times


def parse_words(items, offset: float = 0.0) -> list[Word]:
    """`[{"word", "start", "end"}]` as the service sends it → Words shifted by `offset`, tolerant of gaps."""
    words: list[Word] = []
    previous_end = 0.0
    for item in items or []:
        if not isinstance(item, dict):
            continue
        text = " ".join(str(item.get("word", "")).split())
        if not text:
            continue
        start = _seconds(item.get("start"), previous_end)
        end = max(_seconds(item.get("end"), start), start)
        words.append(Word(text, start + offset, end + offset))
        previous_end = end
    return words


def words_from_text(text: str, start: float, end: float) -> list[Word]:
    """Spread a text's words over [start, end] in proportion to their length: timings for a text that has none."""
    tokens = text.split()
    if not tokens:
        return []
    span = max(end - start, 0.0)
    total = sum(len(token) + 1 for token in tokens)
    words, position = [], 0
    for token in tokens:
        word_start = start + span * position / total
        position += len(token) + 1
        words.append(Word(token, word_start, start + span * position / total))
    return words


def words_from_segments(segments, offset: float = 0.0) -> list[Word]:
    """Words of `[{"start", "end", "text", "words"?}]`: the segment's own words if given, else its text spread out."""
    words: list[Word] = []
    for segment in segments or []:
        if not isinstance(segment, dict):
            continue
        own = parse_words(segment.get("words"), offset)
        if own:
            words += own
            continue
        start = _seconds(segment.get("start"), words[-1].end - offset if words else 0.0)
        end = max(_seconds(segment.get("end"), start), start)
        words += words_from_text(str(segment.get("text", "")), start + offset, end + offset)
    return words


def estimated_seconds(text: str) -> float:
    """How long `text` takes to say at a typical rate: the span of a fallback cue when the duration is unknown."""
    return max(1.0, len(text) / CHARS_PER_SECOND)


def _layout(words: list[str]) -> tuple[str, ...] | None:
    """The words as at most two lines of ≤ MAX_LINE_CHARS, split where the lines are most even; None if they don't fit."""
    text = " ".join(words)
    if len(text) <= MAX_LINE_CHARS or len(words) == 1:
        return (text,)
    best = None
    for cut in range(1, len(words)):
        first, second = " ".join(words[:cut]), " ".join(words[cut:])
        if len(first) <= MAX_LINE_CHARS and len(second) <= MAX_LINE_CHARS:
            if best is None or abs(len(first) - len(second)) < abs(len(best[0]) - len(best[1])):
                best = (first, second)
    return best


def _ends_sentence(text: str) -> bool:
    return text.rstrip("\"')]»”’").endswith(SENTENCE_END)


def cues_from_words(words: list[Word]) -> list[Cue]:
    """Group words into cues: a new cue at a pause, after a sentence, or when the text or the time would overflow."""
    cues: list[Cue] = []
    group: list[Word] = []
    lines: tuple[str, ...] = ()
    for word in words:
        grown = _layout([w.text for w in group] + [word.text])
        if group and (
            grown is None
            or word.start - group[-1].end > PAUSE_SECONDS
            or word.end - group[0].start > MAX_CUE_SECONDS
        ):
            cues.append(Cue(group[0].start, group[-1].end, lines))
            group, grown = [], (word.text,)
        group.append(word)
        lines = grown
        if _ends_sentence(word.text):
            cues.append(Cue(group[0].start, group[-1].end, lines))
            group = []
    if group:
        cues.append(Cue(group[0].start, group[-1].end, lines))
    return cues


def _clean(line: str) -> str:
    """No cue text may contain `-->` (it would read as a timing line)."""
    return re.sub(r"-{2,}>", "->", line)


def _milliseconds(cues: list[Cue]) -> list[tuple[int, int, Cue]]:
    """Cue times in whole milliseconds, each cue starting at or after the previous one's end and lasting ≥ 1 ms."""
    timed, previous_end = [], 0
    for cue in cues:
        start = max(round(cue.start * 1000), previous_end)
        end = max(round(cue.end * 1000), start + 1)
        timed.append((start, end, cue))
        previous_end = end
    return timed


def _timestamp(ms: int, separator: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _escape_vtt(line: str) -> str:
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(cues: list[Cue]) -> str:
    """A WebVTT file: `WEBVTT`, a blank line, then cues separated by blank lines (`HH:MM:SS.mmm` times)."""
    blocks = ["WEBVTT"]
    for start, end, cue in _milliseconds(cues):
        lines = "\n".join(_escape_vtt(_clean(line)) for line in cue.lines)
        blocks.append(f"{_timestamp(start, '.')} --> {_timestamp(end, '.')}\n{lines}")
    return "\n\n".join(blocks) + "\n"


def to_srt(cues: list[Cue]) -> str:
    """An SRT file: numbered cues from 1, `HH:MM:SS,mmm` times, separated by blank lines."""
    blocks = []
    for number, (start, end, cue) in enumerate(_milliseconds(cues), start=1):
        lines = "\n".join(_clean(line) for line in cue.lines)
        blocks.append(f"{number}\n{_timestamp(start, ',')} --> {_timestamp(end, ',')}\n{lines}")
    return "\n\n".join(blocks) + "\n" if blocks else ""

"""Subtitles built from timings: valid WebVTT and SRT whatever the input, following the captioning rules."""

import re

from components.core.subtitles import (
    MAX_CUE_SECONDS,
    MAX_LINE_CHARS,
    MAX_LINES,
    Word,
    cues_from_words,
    parse_words,
    to_srt,
    to_vtt,
    words_from_segments,
    words_from_text,
)

VTT_TIME = r"\d{2,}:[0-5]\d:[0-5]\d\.\d{3}"
SRT_TIME = r"\d{2,}:[0-5]\d:[0-5]\d,\d{3}"


def _ms(stamp: str) -> int:
    hours, minutes, rest = stamp.replace(",", ".").split(":")
    seconds, millis = rest.split(".")
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def assert_valid_vtt(vtt: str) -> list[tuple[int, int, list[str]]]:
    """Strict enough for a browser: header, blank line, `time --> time` then text, blocks split by one blank line."""
    assert vtt.startswith("WEBVTT\n\n") and vtt.endswith("\n") and not vtt.endswith("\n\n\n")
    cues, previous_end = [], 0
    for block in vtt.rstrip("\n").split("\n\n")[1:]:
        timing, *lines = block.split("\n")
        match = re.fullmatch(rf"({VTT_TIME}) --> ({VTT_TIME})", timing)
        assert match, f"bad timing line {timing!r}"
        start, end = _ms(match[1]), _ms(match[2])
        assert previous_end <= start < end
        assert 1 <= len(lines) <= MAX_LINES and all(line.strip() for line in lines)
        assert not any("-->" in line or "<" in line for line in lines)
        cues.append((start, end, lines))
        previous_end = end
    return cues


def assert_valid_srt(srt: str) -> list[tuple[int, int, list[str]]]:
    cues = []
    for number, block in enumerate(srt.rstrip("\n").split("\n\n"), start=1):
        index, timing, *lines = block.split("\n")
        assert index == str(number)
        match = re.fullmatch(rf"({SRT_TIME}) --> ({SRT_TIME})", timing)
        assert match, f"bad timing line {timing!r}"
        cues.append((_ms(match[1]), _ms(match[2]), lines))
    return cues


def spoken(text: str, start: float = 0.0, per_word: float = 0.3, gap: float = 0.05) -> list[Word]:
    words, t = [], start
    for token in text.split():
        words.append(Word(token, t, t + per_word))
        t += per_word + gap
    return words


def test_one_short_sentence_is_one_cue():
    vtt = to_vtt(cues_from_words(spoken("The quick brown fox jumps over the lazy dog.")))
    assert assert_valid_vtt(vtt) == [(0, 3100, ["The quick brown fox", "jumps over the lazy dog."])]


def test_cues_respect_line_length_line_count_and_duration():
    text = " ".join(["Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor"] * 20)
    cues = cues_from_words(spoken(text, per_word=0.6))
    assert len(cues) > 10
    for cue in cues:
        assert len(cue.lines) <= MAX_LINES and all(len(line) <= MAX_LINE_CHARS for line in cue.lines)
        assert cue.end - cue.start <= MAX_CUE_SECONDS
    assert " ".join(" ".join(c.lines) for c in cues) == text  # no word lost or repeated
    assert_valid_vtt(to_vtt(cues))


def test_breaks_at_sentence_ends_and_pauses():
    words = spoken("Hi there. How are") + spoken("you today", start=10.0)
    assert [cue.text for cue in cues_from_words(words)] == ["Hi there.", "How are", "you today"]


def test_hours_past_one_and_srt_numbering_with_commas():
    cues = cues_from_words(spoken("Still talking after an hour. And more.", start=3599.5))
    vtt_cues, srt_cues = assert_valid_vtt(to_vtt(cues)), assert_valid_srt(to_srt(cues))
    assert "00:59:59.500 --> 01:00:01." in to_vtt(cues)
    assert "1\n00:59:59,500 --> 01:00:01," in to_srt(cues)
    assert [c[:2] for c in vtt_cues] == [c[:2] for c in srt_cues] and len(srt_cues) == 2


def test_long_recordings_have_wide_hours():
    vtt = to_vtt(cues_from_words([Word("late", 100 * 3600 + 1.25, 100 * 3600 + 2)]))
    assert "100:00:01.250 --> 100:00:02.000" in vtt
    assert_valid_vtt(vtt)


def test_vtt_escapes_markup_and_no_text_contains_an_arrow():
    words = parse_words([{"word": w, "start": i, "end": i + 0.5} for i, w in enumerate(["a<b>", "&", "x-->y", "--->"])])
    vtt, srt = to_vtt(cues_from_words(words)), to_srt(cues_from_words(words))
    assert "a&lt;b&gt; &amp; x-&gt;y -&gt;" in vtt
    assert_valid_vtt(vtt)
    assert srt.count("-->") == 1 and "x->y ->" in srt


def test_times_are_monotonic_and_positive_even_from_bad_timings():
    items = [
        {"word": "zero", "start": 1.0, "end": 1.0},     # no duration
        {"word": "back", "start": 0.5, "end": 0.7},     # goes back in time
        {"word": "none", "start": None, "end": "x"},    # missing
        {"word": "  ", "start": 2, "end": 3},           # empty word: dropped
        {"word": "neg.", "start": -4, "end": 2.0},      # negative start
    ]
    words = parse_words(items)
    assert [w.text for w in words] == ["zero", "back", "none", "neg."]
    assert_valid_vtt(to_vtt(cues_from_words(words)))


def test_parse_words_shifts_by_offset():
    words = parse_words([{"word": " hello", "start": 0.5, "end": 0.9}], offset=120.0)
    assert words == [Word("hello", 120.5, 120.9)]


def test_segments_with_words_use_the_words():
    segments = [{"start": 0, "end": 2, "text": "ignored", "words": [{"word": "Hello", "start": 0.2, "end": 0.6}]}]
    assert words_from_segments(segments, offset=10) == [Word("Hello", 10.2, 10.6)]


def test_segments_only_fallback_spreads_text_over_each_segment():
    segments = [{"start": 0.0, "end": 2.0, "text": " Good morning."}, {"start": 5.0, "end": 9.0, "text": "Rain later."}]
    words = words_from_segments(segments)
    assert [w.text for w in words] == ["Good", "morning.", "Rain", "later."]
    assert words[0].start == 0.0 and words[1].end == 2.0 and words[2].start == 5.0 and words[3].end == 9.0
    cues = assert_valid_vtt(to_vtt(cues_from_words(words)))
    assert [(start, end) for start, end, _ in cues] == [(0, 2000), (5000, 9000)]


def test_text_only_fallback_is_one_cue_for_short_text():
    cues = assert_valid_vtt(to_vtt(cues_from_words(words_from_text("Just a few words", 0.0, 3.2))))
    assert cues == [(0, 3200, ["Just a few words"])]


def test_text_only_fallback_splits_long_text_and_keeps_every_word():
    text = "word " * 200
    cues = cues_from_words(words_from_text(text, 0.0, 120.0))
    assert len(cues) > 5 and cues[-1].end == 120.0
    assert " ".join(c.text.replace("\n", " ") for c in cues) == text.strip()
    assert_valid_vtt(to_vtt(cues))
    assert_valid_srt(to_srt(cues))


def test_nothing_to_say_gives_a_valid_empty_file():
    assert to_vtt([]) == "WEBVTT\n"
    assert to_srt([]) == ""
    assert words_from_text("   ", 0, 1) == [] and words_from_segments(None) == [] and parse_words(None) == []

"""The offline speech model (Whisper tiny.en via faster-whisper): accuracy, word timings, WebVTT, bad input."""

import re
import string
import wave
from io import BytesIO

import pytest

from components.local.whisper_model import Transcriber
from tests.conftest import ASSETS

FOX = ASSETS / "speech-fox.wav"
FOX_TEXT = "The quick brown fox jumps over the lazy dog."
VTT_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"


@pytest.fixture(scope="module")
def transcriber():
    return Transcriber.load()


@pytest.fixture(scope="module")
def fox(transcriber):
    return transcriber.transcribe(FOX.read_bytes())


def normalise(text: str) -> list[str]:
    return text.lower().translate(str.maketrans("", "", string.punctuation)).split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over normalised words ÷ reference length."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        previous, row[0] = row[0], i
        for j, hyp_word in enumerate(hyp, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ref_word != hyp_word))
    return row[-1] / max(len(ref), 1)


def test_word_error_rate_helper():
    assert word_error_rate(FOX_TEXT, "the QUICK brown fox, jumps over the lazy dog") == 0
    assert word_error_rate("a b c d", "a x c") == 0.5  # one substitution, one deletion
    assert word_error_rate("a b", "a b c d") == 1.0


def test_transcribes_the_fox(fox):
    assert set(fox) == {"text", "word_count", "words", "vtt", "transcription_info"}
    assert word_error_rate(FOX_TEXT, fox["text"]) <= 0.2, fox["text"]
    assert fox["word_count"] == len(fox["text"].split()) == len(fox["words"])
    assert fox["transcription_info"]["language"] == "en"
    assert fox["transcription_info"]["duration"] == pytest.approx(3.77, abs=0.05)


def test_words_are_stripped_and_timed_in_order(fox):
    duration = fox["transcription_info"]["duration"]
    previous_end = 0.0
    for word in fox["words"]:
        assert set(word) == {"word", "start", "end"}
        assert word["word"] == word["word"].strip() and word["word"]
        assert isinstance(word["start"], float) and isinstance(word["end"], float)
        assert previous_end <= word["start"] <= word["end"] <= duration
        previous_end = word["end"]
    assert fox["words"][-1]["end"] > fox["words"][0]["start"]
    assert " ".join(word["word"] for word in fox["words"]) == fox["text"]


def seconds(match: re.Match) -> float:
    hours, minutes, secs, millis = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs) + int(millis) / 1000


def test_vtt_is_valid_webvtt(fox):
    vtt = fox["vtt"]
    assert vtt.startswith("WEBVTT\n\n") and vtt.endswith("\n")
    blocks = vtt.rstrip("\n").split("\n\n")[1:]
    assert blocks
    previous_start = 0.0
    for block in blocks:
        timing, *lines = block.split("\n")
        match = re.fullmatch(rf"{VTT_TIME} --> {VTT_TIME}", timing)
        assert match, timing
        start = seconds(re.match(VTT_TIME, timing))
        end = seconds(re.search(rf"{VTT_TIME}$", timing))
        assert previous_start <= start < end <= fox["transcription_info"]["duration"] + 0.001
        assert lines and all(line.strip() and "-->" not in line and "<" not in line for line in lines)
        previous_start = start
    assert word_error_rate(FOX_TEXT, " ".join(block.split("\n", 1)[1] for block in blocks)) <= 0.2


@pytest.mark.parametrize("data", [b"this is not audio at all", (ASSETS / "cat-chelsea.png").read_bytes(), bytes(4096)])
def test_non_audio_bytes_are_a_value_error(transcriber, data):
    with pytest.raises(ValueError, match="^the audio could not be decoded$"):
        transcriber.transcribe(data)


def silent_wav(frames: int) -> bytes:
    buffer = BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes(b"\x00\x00" * frames)
    return buffer.getvalue()


@pytest.mark.parametrize("data", [b"", silent_wav(0)])
def test_empty_audio_is_a_value_error(transcriber, data):
    with pytest.raises(ValueError, match="^the audio is empty$"):
        transcriber.transcribe(data)

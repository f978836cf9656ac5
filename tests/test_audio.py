"""Uploads: recognising what is (not) audio before any request, and cutting long recordings into WAV pieces."""

import io
import struct
import sys
import wave

import numpy as np
import pytest
import soundfile as sf

from components.core.audio import SAMPLE_RATE, UNDECODABLE, WAV_HEADER_BYTES, chunks, plain_wav_seconds, probe
from components.core.errors import InputProblem
from tests.conftest import ASSETS


def tone_and_noise(path, seconds: float, rate: int = 44_100, channels: int = 2, pause_every: float = 7.0):
    """Speech-like test audio: a tone with noise, and a 0.3 s near-silence every `pause_every` seconds."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * rate)) / rate
    signal = 0.4 * np.sin(2 * np.pi * 220 * t) + 0.1 * rng.standard_normal(len(t))
    signal[(t % pause_every) > pause_every - 0.3] *= 0.001
    sf.write(path, np.repeat(signal[:, None], channels, axis=1).astype(np.float32), rate, subtype="PCM_16")
    return path


@pytest.mark.parametrize(("name", "seconds"), [("speech-fox.wav", 3.8), ("speech-weather.wav", 4.6)])
def test_probe_reads_the_example_recordings(name, seconds):
    info = probe(ASSETS / name)
    assert info.format == "WAV" and info.sample_rate == 22_050 and info.channels == 1
    assert info.duration == pytest.approx(seconds, abs=0.1) and info.frames == round(info.duration * 22_050)
    assert info.decodable


def test_probe_reads_other_formats(tmp_path):
    tone = (0.3 * np.sin(np.arange(48_000) / 10)).astype(np.float32)
    sf.write(tmp_path / "a.flac", tone, 48_000)
    sf.write(tmp_path / "a.ogg", tone, 48_000)
    assert probe(tmp_path / "a.flac").format == "FLAC"
    assert probe(tmp_path / "a.ogg").duration == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    ("content", "hint"),
    [
        (b"just some notes\nnot a recording\n", "it looks like text"),
        ((ASSETS / "cat-chelsea.png").read_bytes(), "it looks like a PNG image"),
        (bytes(range(256)) * 10, "This file is not audio"),
    ],
)
def test_probe_rejects_files_that_are_not_audio(tmp_path, content, hint):
    path = tmp_path / "upload.wav"  # the name lies: the content decides
    path.write_bytes(content)
    with pytest.raises(InputProblem, match="not audio") as caught:
        probe(path)
    assert hint in str(caught.value) and "WAV, MP3, FLAC or OGG" in str(caught.value)


def test_probe_rejects_an_empty_file(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(InputProblem, match="The recording is empty"):
        probe(tmp_path / "empty.wav")


def test_probe_rejects_a_wav_with_zero_frames(tmp_path):
    sf.write(tmp_path / "silent.wav", np.zeros((0, 1), np.float32), 16_000)
    with pytest.raises(InputProblem, match="The recording is empty"):
        probe(tmp_path / "silent.wav")


@pytest.mark.parametrize(
    ("head", "name"), [(b"\x00\x00\x00\x20ftypM4A \x00\x00", "MP4"), (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "WEBM")]
)
def test_probe_recognises_containers_it_cannot_decode(tmp_path, head, name):
    (tmp_path / "clip").write_bytes(head + bytes(100))
    info = probe(tmp_path / "clip")
    assert info.format == name and not info.decodable and info.duration is None


def test_chunks_of_a_three_minute_recording(tmp_path):
    path = tone_and_noise(tmp_path / "long.wav", 180.0)
    max_bytes = 320_044  # 10 s of 16 kHz 16-bit mono per piece
    pieces = chunks(path, max_bytes)
    assert 18 <= len(pieces) <= 25
    position = 0.0
    for piece in pieces:
        assert len(piece.wav_bytes) <= max_bytes
        assert piece.start_seconds == pytest.approx(position, abs=1e-9)  # in order, no gap, no overlap
        with wave.open(io.BytesIO(piece.wav_bytes)) as reader:
            assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, SAMPLE_RATE)
            assert len(piece.wav_bytes) == WAV_HEADER_BYTES + 2 * reader.getnframes()
        data, rate = sf.read(io.BytesIO(piece.wav_bytes))
        assert rate == SAMPLE_RATE and len(data) == round(piece.duration * SAMPLE_RATE)
        position += piece.duration
    assert position == pytest.approx(180.0, abs=0.01)  # the whole recording, resampled


def test_chunks_cut_in_the_quiet_moments(tmp_path):
    """Every piece's last 2 s hold a pause (one each 1.5 s): the cut must land inside it, not in the sound."""
    path = tone_and_noise(tmp_path / "pauses.wav", 60.0, rate=16_000, channels=1, pause_every=1.5)
    pieces = chunks(path, 320_044)
    assert len(pieces) >= 6
    for piece in pieces[:-1]:
        end = piece.start_seconds + piece.duration
        assert end % 1.5 > 1.2, f"cut at {end:.2f} s, outside a pause"


def test_chunks_reject_a_limit_below_one_second(tmp_path):
    with pytest.raises(ValueError):
        chunks(tone_and_noise(tmp_path / "a.wav", 2.0), 10_000)


def test_chunks_stop_decoding_past_max_seconds(tmp_path):
    path = tone_and_noise(tmp_path / "long.wav", 75.0, rate=16_000, channels=1)
    with pytest.raises(InputProblem, match="longer than 1 minute, the most transcribed here"):
        chunks(path, 320_044, max_seconds=60)
    assert sum(piece.duration for piece in chunks(path, 320_044, max_seconds=90)) == pytest.approx(75.0)


def test_chunks_refuse_rates_no_speech_needs(tmp_path):
    """96 kHz on 6 channels is 576,000 samples per second to decode for each second kept: refused, so a tiny
    FLAC of silence cannot claim 655 kHz × 8 channels and keep a worker busy for minutes."""
    sf.write(tmp_path / "surround.wav", np.zeros((4_800, 6), np.float32), 96_000)
    with pytest.raises(InputProblem, match="96,000 samples per second on 6 channels, more than speech needs"):
        chunks(tmp_path / "surround.wav", 320_044)


@pytest.mark.parametrize("pyav", [True, False])
def test_a_truncated_flac_is_refused(tmp_path, monkeypatch, pyav):
    """libsndfile gives up on a FLAC cut short ("lost sync"), and so does ffmpeg at its last, partial frame
    (after the first one tries): a recording is measured to its end, or refused."""
    tone_and_noise(tmp_path / "whole.flac", 20.0, rate=16_000, channels=1)
    data = (tmp_path / "whole.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    if pyav:
        pytest.importorskip("av")
    else:
        monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(InputProblem) as caught:
        chunks(tmp_path / "cut.flac", 320_044)
    assert str(caught.value) == UNDECODABLE


def _riff(*chunks_: tuple[bytes, bytes], riff_size: int | None = None) -> bytes:
    body = b"WAVE" + b"".join(kind + struct.pack("<I", len(data)) + data + b"\0" * (len(data) % 2)
                              for kind, data in chunks_)
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


PCM16 = struct.pack("<HHIIHH", 1, 1, 16_000, 32_000, 2, 16)
SECOND = bytes(32_000)  # one second of 16 kHz 16-bit mono


@pytest.mark.parametrize(
    ("content", "seconds"),
    [
        (_riff((b"fmt ", PCM16), (b"data", SECOND)), 1.0),
        (_riff((b"fmt ", PCM16), (b"LIST", b"INFOISFT\x04\0\0\0sox\0"), (b"data", SECOND)), 1.0),
        (_riff((b"fmt ", PCM16), (b"data", SECOND), (b"LIST", b"junk")), None),  # samples could be read past data
        (_riff((b"fmt ", PCM16), (b"data", SECOND))[:-100], None),  # cut short: RIFF's size no longer agrees
        (_riff((b"fmt ", PCM16), (b"data", SECOND)) + bytes(100), None),  # bytes after the data chunk
        (_riff((b"fmt ", PCM16), (b"data", SECOND[:3200])) + SECOND, None),  # a data size that hides the rest
        (_riff((b"fmt ", struct.pack("<HHIIHH", 3, 1, 16_000, 64_000, 4, 32)), (b"data", SECOND)), None),  # float
        (_riff((b"fmt ", PCM16), (b"fmt ", PCM16), (b"data", SECOND)), None),
        (_riff((b"data", SECOND)), None),  # no format
    ],
)
def test_plain_wav_seconds_vouches_only_for_data_that_runs_to_the_end(tmp_path, content, seconds):
    (tmp_path / "a.wav").write_bytes(content)
    assert plain_wav_seconds(tmp_path / "a.wav") == seconds


def test_plain_wav_seconds_of_the_examples_and_other_formats(tmp_path):
    assert plain_wav_seconds(ASSETS / "speech-fox.wav") == pytest.approx(probe(ASSETS / "speech-fox.wav").duration)
    sf.write(tmp_path / "a.flac", np.zeros(16_000, np.float32), 16_000)
    assert plain_wav_seconds(tmp_path / "a.flac") is None


def test_chunks_measure_what_decodes_not_what_the_header_claims(tmp_path):
    """An MP3 cut in half still says (in its Xing header) that it lasts 20 s: the pieces hold the 10 s there
    are, not 10 s of them plus 10 s of repeated blocks (what soundfile's blocks() pads a short stream with)."""
    samples, rate = sf.read(tone_and_noise(tmp_path / "whole.wav", 20.0, rate=16_000, channels=1))
    sf.write(tmp_path / "whole.mp3", samples, rate, format="MP3")
    data = (tmp_path / "whole.mp3").read_bytes()
    (tmp_path / "cut.mp3").write_bytes(data[: len(data) // 2])
    assert probe(tmp_path / "cut.mp3").duration == pytest.approx(20.0, abs=0.1)
    assert sum(piece.duration for piece in chunks(tmp_path / "cut.mp3", 320_044)) == pytest.approx(10.0, abs=0.5)

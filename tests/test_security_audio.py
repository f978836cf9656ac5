"""Issue #12 item 6, performed for real: recordings whose header claims 0.1 s but that hold 120 s.

libsndfile (what `soundfile` wraps) believes a FLAC's STREAMINFO sample count, an Ogg's last granule position and
an MP3's Xing/Info frame count, and stops decoding there; ffmpeg (PyAV here, and presumably the service's decoder)
ignores them and decodes all 120 s. Charging the header's length and sending the upload's own bytes made a long
recording nearly free. The rule under test: the charge is the length decoded here, and what is sent is exactly
what was decoded, as plain 16 kHz WAV whose length no decoder can read differently.
"""

import asyncio
import base64
import io
import os
import struct
import sys
import time
import wave
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import soundfile as sf

from components.core import audio as audio_files
from components.core import scratch, speech as speech_core
from components.tabs import speech
from components.core.usage import LOCAL_KEY
from components.workers_ai import estimate
from tests.conftest import ASSETS

WHISPER, TURBO = "@cf/openai/whisper", "@cf/openai/whisper-large-v3-turbo"
RATE, SECONDS, CLAIM = 16_000, 120.0, 0.1


# ── forging ────────────────────────────────────────────────────────────────────────────────


def speech_like(seconds: float = SECONDS, rate: int = RATE) -> np.ndarray:
    rng = np.random.default_rng(12)
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def forge_flac(data: bytes, frames: int) -> bytes:
    """STREAMINFO's 36-bit total-samples field (after 20 bits of rate, 3 of channels, 5 of bit depth) set to
    `frames`; 0 is the format's own "unknown", which streaming encoders write."""
    data = bytearray(data)
    assert data[:4] == b"fLaC"
    packed = int.from_bytes(data[18:26], "big")
    data[18:26] = ((packed & ~((1 << 36) - 1)) | frames).to_bytes(8, "big")
    return bytes(data)


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        crc &= 0xFFFFFFFF
    return crc


def forge_ogg(data: bytes, frames: int) -> bytes:
    """The last page's granule position (where a reader learns the length) set to `frames`, its CRC redone."""
    data = bytearray(data)
    at = data.rindex(b"OggS")
    size = 27 + data[at + 26] + sum(data[at + 27 : at + 27 + data[at + 26]])
    assert at + size == len(data)
    struct.pack_into("<q", data, at + 6, frames)  # the granule position
    struct.pack_into("<I", data, at + 22, 0)  # the CRC is computed with its own field zeroed
    struct.pack_into("<I", data, at + 22, _ogg_crc(bytes(data[at : at + size])))
    return bytes(data)


def forge_mp3(data: bytes, mp3_frames: int) -> bytes:
    """The Xing/Info header's frame count (the field after its flags) set to `mp3_frames`."""
    data = bytearray(data)
    at = max(data.find(b"Xing", 0, 4096), data.find(b"Info", 0, 4096))
    assert at >= 0 and struct.unpack_from(">I", data, at + 4)[0] & 1, "no Xing/Info frame count to forge"
    struct.pack_into(">I", data, at + 8, mp3_frames)
    return bytes(data)


def forge_wav(data: bytes, data_bytes: int) -> bytes:
    """The data chunk's size (and RIFF's) set to `data_bytes`; the rest of the samples stay after it."""
    data = bytearray(data)
    at = data.index(b"data")
    struct.pack_into("<I", data, at + 4, data_bytes)
    struct.pack_into("<I", data, 4, at + data_bytes)
    return bytes(data)


@pytest.fixture(scope="module")
def forged(tmp_path_factory):
    """Each format's honest 120 s file, and its forgery claiming 0.1 s (name → path)."""
    folder = tmp_path_factory.mktemp("forged")
    samples, claimed = speech_like(), int(CLAIM * RATE)
    files = {}
    for kind, options, forge, claim in [
        ("flac", {}, forge_flac, claimed),
        ("ogg", {"format": "OGG", "subtype": "VORBIS"}, forge_ogg, claimed),
        ("mp3", {"format": "MP3"}, forge_mp3, 5),  # 5 frames of 576 samples at 16 kHz
        ("wav", {"subtype": "PCM_16"}, forge_wav, claimed * 2),
    ]:
        honest = folder / f"honest.{kind}"
        sf.write(honest, samples, RATE, **options)
        files[kind] = folder / f"forged.{kind}"
        files[kind].write_bytes(forge(honest.read_bytes(), claim))
    files["flac-unknown-length"] = folder / "unknown-length.flac"
    files["flac-unknown-length"].write_bytes(forge_flac((folder / "honest.flac").read_bytes(), 0))
    files["honest.flac"] = folder / "honest.flac"
    return files


# ── measuring what the fake received ───────────────────────────────────────────────────────


def ffmpeg_seconds(data: bytes) -> float:
    """Decoded to the end by ffmpeg (PyAV), whatever the header says."""
    av = pytest.importorskip("av")
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(stream)) / stream.rate


def plain_wav_seconds(data: bytes) -> float:
    """The length of a body that must be a 16 kHz mono WAV whose 44-byte header's data size runs exactly to its
    end: a decoder that trusts that size and one that reads to the end both get this many samples."""
    with wave.open(io.BytesIO(data)) as reader:
        frames = reader.getnframes()
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, RATE)
    assert len(data) == 44 + 2 * frames, "the data chunk does not run to the end of the body"
    return frames / RATE


def received(fake, model: str) -> list[bytes]:
    requests = [r for r in fake.requests if r.model == model]
    return [base64.b64decode(r.json["audio"]) if r.json else r.body for r in requests]


def transcribe(path, model=WHISPER):
    return asyncio.run(speech.transcribe(str(path), model))


def refusal(path, model=WHISPER) -> str:
    with pytest.raises(gr.Error) as caught:
        transcribe(path, model)
    return caught.value.message


def charged(ledger) -> float:
    return ledger.snapshot(LOCAL_KEY, LOCAL_KEY).total


# ── the attack ─────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("kind", ["flac", "ogg", "mp3"])
def test_the_forged_headers_claim_a_tenth_of_a_second_that_ffmpeg_decodes_as_two_minutes(forged, kind):
    """The premise, measured: the header (and libsndfile's decoding, which stops where the header says) give
    ~0.1 s; ffmpeg gives all 120 s. The old code charged the first and sent the file as it is."""
    assert audio_files.probe(forged[kind]).duration < 0.2
    with sf.SoundFile(forged[kind]) as source:
        assert sum(len(block) for block in source.blocks(blocksize=RATE * 10)) / RATE < 0.2
    assert ffmpeg_seconds(forged[kind].read_bytes()) == pytest.approx(SECONDS, abs=1.5)


@pytest.mark.parametrize(("kind", "model"), [("flac", WHISPER), ("ogg", WHISPER), ("mp3", WHISPER),
                                             ("wav", WHISPER), ("flac", TURBO), ("ogg", TURBO)])
def test_a_forged_recording_is_charged_for_exactly_what_is_sent(client, fake, budget, forged, kind, model):
    """Every body the service gets is a plain WAV of what was decoded here, and the ledger holds exactly its
    length: the 120 s hidden behind the header never leave the app, so nothing goes unbilled."""
    ledger = budget(per_visitor=estimate(model, audio_seconds=10).neurons)  # 10 s a day: the old code sent 120 s
    upload = forged[kind].read_bytes()

    transcribe(forged[kind], model)

    bodies = received(fake, model)
    assert bodies and upload not in bodies
    seconds = sum(plain_wav_seconds(body) for body in bodies)
    assert 0 < seconds < 1.0  # what libsndfile decodes of it: the header's claim, give or take a codec frame
    assert charged(ledger) == pytest.approx(estimate(model, audio_seconds=seconds).neurons, rel=1e-6, abs=1e-9)
    if audio_files._pyav() is not None:  # and ffmpeg reads no more from them than was charged
        assert sum(ffmpeg_seconds(body) for body in bodies) == pytest.approx(seconds, abs=1e-3)


def test_a_flac_of_unknown_length_is_measured_by_decoding_it_all(client, fake, budget, forged):
    """Length 0 in STREAMINFO means "unknown": libsndfile cannot decode such a file, ffmpeg decodes it to the
    end. The 120 s are charged, and sent as WAV decoding to those same 120 s."""
    pytest.importorskip("av")
    ledger = budget(per_visitor=estimate(WHISPER, audio_seconds=SECONDS + 1).neurons)

    transcribe(forged["flac-unknown-length"])

    bodies = received(fake, WHISPER)
    seconds = sum(plain_wav_seconds(body) for body in bodies)
    assert seconds == pytest.approx(SECONDS, abs=0.01)
    assert charged(ledger) == pytest.approx(estimate(WHISPER, audio_seconds=seconds).neurons, rel=1e-6)
    assert sum(ffmpeg_seconds(body) for body in bodies) == pytest.approx(seconds, abs=1e-3)


def test_the_budget_refuses_the_real_length_before_any_request(client, fake, budget, forged):
    """A per-visitor budget of 60 s: the old code charged the header's 0.1 s and let 120 s through."""
    pytest.importorskip("av")
    ledger = budget(per_visitor=estimate(WHISPER, audio_seconds=60).neurons)
    message = refusal(forged["flac-unknown-length"])
    assert message.startswith("Your daily budget on this demo of 41.1 neurons has 41.1 left, and this request "
                              "could need up to 82.3;")
    assert fake.count() == 0 and charged(ledger) == 0


def test_a_flac_of_unknown_length_is_refused_where_it_cannot_be_measured(client, fake, budget, forged, monkeypatch):
    """Without PyAV (a Space's install) nothing here can decode it, so its length is unknown: refused."""
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` raises ImportError
    ledger = budget(per_visitor=1_000)
    assert refusal(forged["flac-unknown-length"]) == audio_files.UNDECODABLE
    assert fake.count() == 0 and charged(ledger) == 0


def test_an_over_long_recording_is_refused_before_any_request_and_decoding_stops(
    client, fake, budget, forged, monkeypatch
):
    """With a limit of 1 minute, a 2-minute recording is refused once decoding passes the minute: the rest of
    the file is never decoded, nothing is reserved, nothing is sent."""
    monkeypatch.setattr(audio_files, "MAX_AUDIO_SECONDS", 60)
    decoded = []
    original = audio_files._mono_16k

    def counting(path):
        for block in original(path):
            decoded.append(len(block))
            yield block

    monkeypatch.setattr(audio_files, "_mono_16k", counting)
    ledger = budget(per_visitor=1_000)
    message = refusal(forged["honest.flac"])
    assert message == "This recording is longer than 1 minute, the most transcribed here: upload a shorter part of it."
    assert fake.count() == 0 and charged(ledger) == 0
    assert 60 < sum(decoded) / RATE <= 60 + audio_files.READ_SECONDS  # stopped one block past the limit


def test_the_limit_is_two_hours():
    assert audio_files.MAX_AUDIO_SECONDS == 2 * 60 * 60


# ── containers libsndfile cannot decode ────────────────────────────────────────────────────


def m4a(path: Path, seconds: float) -> Path:
    """A real AAC-in-MP4 memo when PyAV can write one, else just its first bytes (enough to be recognised)."""
    try:
        import av
    except ImportError:
        path.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(4_000))
        return path
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=RATE, layout="mono")
        samples = speech_like(seconds)
        for at in range(0, len(samples), 1024):
            frame = av.AudioFrame.from_ndarray(samples[None, at : at + 1024], format="flt", layout="mono")
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_a_container_is_refused_where_it_cannot_be_measured(client, fake, budget, tmp_path, monkeypatch):
    clip = m4a(tmp_path / "memo.m4a", 5.0)
    monkeypatch.setitem(sys.modules, "av", None)
    ledger = budget(per_visitor=1_000)
    message = refusal(clip)
    assert message == "This MP4 recording cannot be decoded here to measure its length: upload WAV, MP3, FLAC or OGG."
    assert fake.count() == 0 and charged(ledger) == 0


def test_a_container_is_measured_and_sent_as_wav_where_pyav_decodes_it(client, fake, budget, tmp_path):
    pytest.importorskip("av")
    clip = m4a(tmp_path / "memo.m4a", 5.0)
    ledger = budget(per_visitor=1_000)
    transcribe(clip)
    [body] = received(fake, WHISPER)
    assert plain_wav_seconds(body) == pytest.approx(ffmpeg_seconds(clip.read_bytes()), abs=0.01)
    assert charged(ledger) == pytest.approx(estimate(WHISPER, audio_seconds=plain_wav_seconds(body)).neurons)


def test_a_damaged_container_is_refused(client, fake, budget, tmp_path):
    pytest.importorskip("av")
    clip = tmp_path / "memo.m4a"
    clip.write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(60_000))
    assert refusal(clip) == audio_files.UNDECODABLE
    assert fake.count() == 0


# ── item 9: subtitle files ─────────────────────────────────────────────────────────────────


def test_subtitle_folders_do_not_pile_up(client, fake, monkeypatch, tmp_path):
    """Each answer writes a folder; writing one removes those older than an hour (Gradio has long copied them
    into its cache by then), so a busy day leaves an hour's worth, not every answer ever given."""
    root = tmp_path / "subtitles"
    root.mkdir()
    monkeypatch.setitem(scratch._roots, "speech", root)
    vtt, _ = speech_core._write_subtitles("a.wav", "WEBVTT\n", "")
    for _ in range(3):
        speech_core._write_subtitles("b.wav", "WEBVTT\n", "")
    assert len(list(root.iterdir())) == 4
    two_hours_ago = time.time() - 2 * 3600
    old = [folder for folder in root.iterdir() if folder != Path(vtt).parent]
    for folder in old:
        os.utime(folder, (two_hours_ago, two_hours_ago))
    _, vtt_path, _, _ = transcribe(ASSETS / "speech-fox.wav")
    assert sorted(root.iterdir()) == sorted([Path(vtt).parent, Path(vtt_path).parent])  # the recent and the new


def test_a_spent_budget_refuses_before_the_recording_is_decoded(budget, fake, monkeypatch):
    """Decoding a long upload costs seconds of CPU: a visitor who cannot afford one second never gets that far."""
    budget(total=0)

    def must_not_decode(*_args, **_kwargs):
        raise AssertionError("the recording was decoded for a visitor whose budget is spent")

    monkeypatch.setattr(audio_files, "chunks", must_not_decode)
    with pytest.raises(gr.Error, match="daily budget"):
        asyncio.run(speech.transcribe(str(ASSETS / "speech-fox.wav"), "@cf/openai/whisper"))
    assert fake.count() == 0

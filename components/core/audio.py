"""Reading uploaded recordings: what they are, how long they really are, and request-sized WAV pieces of them.

`probe` answers before any request is made, so a text file or an empty recording gets a clear sentence
instead of a 400 from the service. `chunks` decodes the whole recording block by block, mixes it to mono,
resamples it to 16 kHz (what Whisper works at, so nothing is lost) and cuts it at quiet moments, so a word is
not split between two requests.

A header's length is a claim, not a measurement: a FLAC, Ogg or MP3 whose header says 0.1 s can hold two
minutes that ffmpeg (and so, presumably, the service) decodes in full, while libsndfile stops at the claim.
So the app charges for and sends what `chunks` decoded, never the header's figure, and stops decoding (and
refuses) past MAX_AUDIO_SECONDS. Only `plain_wav_seconds` vouches for sending an upload's own bytes.
"""

from __future__ import annotations

import importlib
import io
import struct
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .errors import InputProblem

SAMPLE_RATE = 16_000
WAV_HEADER_BYTES = 44  # the stdlib `wave` writer's header for 16-bit PCM: RIFF + fmt + data chunk headers
SEARCH_SECONDS = 2.0  # look for the quietest moment within the last ~2 s of each piece
FRAME_SECONDS = 0.02  # loudness is measured over 20 ms frames
READ_SECONDS = 10  # decode this much at a time: a 30-minute 48 kHz stereo file is never held whole as floats
# The longest recording transcribed: about 5,000 neurons with @cf/openai/whisper, and at most 230 MB of 16 kHz
# pieces held in memory while they are sent. Decoding stops (and the upload is refused) just past it.
MAX_AUDIO_SECONDS = 2 * 60 * 60
# Sample rate × channels decoded per second of recording: 96 kHz stereo, 48 kHz on 4 channels. Decoding work and
# a block's floats grow with it: a 6 MB FLAC of silence holds 2 hours at 192 kHz stereo, 37 s of CPU to reach
# the length limit (measured; 21 s at 96 kHz stereo, 12 s for 44.1 kHz stereo speech), and FLAC allows 655 kHz
# on 8 channels.
MAX_INPUT_SAMPLES_PER_SECOND = 192_000

NOT_AUDIO = "This file is not audio{what}: upload a WAV, MP3, FLAC or OGG recording."
EMPTY = "The recording is empty: record again, or upload a recording that has some sound in it."
TOO_LONG = "This recording is longer than {limit}, the most transcribed here: upload a shorter part of it."
UNMEASURABLE = "This {format} recording cannot be decoded here to measure its length: upload WAV, MP3, FLAC or OGG."
UNDECODABLE = (
    "This recording could not be decoded to its end (it may be cut short or damaged): "
    "upload it as WAV, MP3, FLAC or OGG."
)
UNUSUAL = (
    "This recording has {rate:,} samples per second on {channels} channels, more than speech needs: "
    "upload it at 48 kHz stereo or less."
)

# Containers libsndfile cannot decode (a browser's own recordings, phone memos): PyAV decodes them where installed.
_CONTAINERS = {"MP4": lambda head: head[4:8] == b"ftyp", "WEBM": lambda head: head[:4] == b"\x1a\x45\xdf\xa3"}
# What a wrong upload usually is, to say so in the error message.
_NOT_AUDIO = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive",
}


@dataclass(frozen=True)
class AudioInfo:
    """What `probe` found in the header: claims, good for a first sentence, never for a charge (see `chunks`).
    `duration`, `sample_rate`, `channels` and `frames` are None for a container libsndfile cannot decode
    (MP4/M4A, WebM)."""

    duration: float | None
    sample_rate: int | None
    channels: int | None
    frames: int | None
    format: str

    @property
    def decodable(self) -> bool:
        return self.frames is not None


@dataclass(frozen=True)
class Chunk:
    start_seconds: float
    wav_bytes: bytes

    @property
    def duration(self) -> float:
        return (len(self.wav_bytes) - WAV_HEADER_BYTES) / 2 / SAMPLE_RATE


def probe(path: str | Path) -> AudioInfo:
    """Describe a recording, or raise InputProblem when it is empty or not audio at all."""
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(16)
    if not head:
        raise InputProblem(EMPTY)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError):
        if name := _container(head):
            return AudioInfo(None, None, None, None, name)
        raise InputProblem(NOT_AUDIO.format(what=_looks_like(head))) from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise InputProblem(EMPTY)
    return AudioInfo(info.frames / info.samplerate, info.samplerate, info.channels, info.frames, info.format)


def _container(head: bytes) -> str | None:
    return next((name for name, matches in _CONTAINERS.items() if matches(head)), None)


def _looks_like(head: bytes) -> str:
    for magic, what in _NOT_AUDIO.items():
        if head.startswith(magic):
            return f" (it looks like {what})"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return " (it looks like text)"


def chunks(path: str | Path, max_bytes: int, max_seconds: float | None = None) -> list[Chunk]:
    """Decode a whole recording into 16 kHz mono 16-bit WAV pieces of at most `max_bytes` each, cut at quiet
    moments. Their summed `duration` is the recording's measured length, whatever its header claims.

    Raises InputProblem past `max_seconds` (default MAX_AUDIO_SECONDS; decoding stops there), or when the
    recording cannot be decoded to its end. Decodes `READ_SECONDS` at a time and keeps at most one piece's worth
    of samples pending, so the memory used is the output itself plus one piece. Takes seconds for a long file:
    call it in a worker thread.
    """
    max_samples = (max_bytes - WAV_HEADER_BYTES) // 2
    if max_samples < SAMPLE_RATE:
        raise ValueError(f"max_bytes={max_bytes} leaves less than one second of audio per piece")
    max_seconds = MAX_AUDIO_SECONDS if max_seconds is None else max_seconds
    try:
        return _cut(_mono_16k(path), max_samples, max_seconds)
    except sf.LibsndfileError:
        # libsndfile opened the file but failed partway: a truncated FLAC, or one whose length field is 0
        # ("unknown", as streaming encoders write it). ffmpeg reads such streams to their end.
        if _pyav() is None:
            raise InputProblem(UNDECODABLE) from None
        return _cut(_mono_16k_pyav(path), max_samples, max_seconds)


def _cut(blocks, max_samples: int, max_seconds: float) -> list[Chunk]:
    pieces: list[Chunk] = []
    pending: list[np.ndarray] = []
    pending_samples = 0
    emitted = 0  # samples already cut off into pieces

    def cut(final: bool) -> None:
        nonlocal pending, pending_samples, emitted
        samples = np.concatenate(pending) if pending else np.zeros(0, np.int16)
        while len(samples) > max_samples or (final and len(samples)):
            at = len(samples) if len(samples) <= max_samples else _quietest_cut(samples[:max_samples])
            pieces.append(Chunk(emitted / SAMPLE_RATE, _wav(samples[:at])))
            emitted += at
            samples = samples[at:]
        pending, pending_samples = [samples], len(samples)

    for block in blocks:
        pending.append(block)
        pending_samples += len(block)
        if emitted + pending_samples > max_seconds * SAMPLE_RATE:
            blocks.close()  # stop decoding now: the rest of the file is never read
            raise InputProblem(TOO_LONG.format(limit=_length(max_seconds)))
        if pending_samples > max_samples:
            cut(final=False)
    cut(final=True)
    return pieces


def _mono_16k(path: str | Path):
    """Yield the recording as 16 kHz mono int16 blocks, decoding and resampling a few seconds at a time:
    with libsndfile (WAV, FLAC, OGG, MP3), else with PyAV (MP4/M4A, WebM) where it is installed."""
    try:
        source = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError):
        yield from _mono_16k_pyav(path)
        return
    with source:
        _check_rate(source.samplerate, source.channels)
        resampler = None
        if source.samplerate != SAMPLE_RATE:
            resampler = soxr.ResampleStream(source.samplerate, SAMPLE_RATE, 1, dtype="float32")
        # read() until the decoder has nothing left, not blocks(): that counts down the header's frame count and,
        # when the stream ends sooner, pads it with whatever the previous block held.
        while len(block := source.read(READ_SECONDS * source.samplerate, dtype="float32", always_2d=True)):
            mono = block.mean(axis=1, dtype=np.float32)
            yield _int16(resampler.resample_chunk(mono) if resampler else mono)
        if resampler:
            yield _int16(resampler.resample_chunk(np.zeros(0, np.float32), last=True))


def _mono_16k_pyav(path: str | Path):
    """The same blocks decoded by ffmpeg (through PyAV), which reads the stream to its end whatever the header
    says. Without PyAV (a Space's install) the length cannot be measured, and the recording is refused."""
    av = _pyav()
    if av is None:
        with Path(path).open("rb") as handle:
            raise InputProblem(UNMEASURABLE.format(format=_container(handle.read(16)) or "kind of"))
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise InputProblem(NOT_AUDIO.format(what=" (it has no sound track)"))
            stream = container.streams.audio[0]
            _check_rate(stream.rate, stream.channels)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield out.to_ndarray().reshape(-1)
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)
    except av.error.FFmpegError:
        raise InputProblem(UNDECODABLE) from None


def _length(seconds: float) -> str:
    """'2 hours', '1 minute', '30 seconds'."""
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size or unit == "second":
            amount = seconds / size
            return f"{amount:g} {unit}{'' if amount == 1 else 's'}"


def _pyav():
    """PyAV, installed with faster-whisper for the offline engine; None where it is not (a Space)."""
    try:
        return importlib.import_module("av")
    except ImportError:
        return None


def _check_rate(rate: int | None, channels: int | None) -> None:
    if not rate or not channels:
        raise InputProblem(UNDECODABLE)
    if rate * channels > MAX_INPUT_SAMPLES_PER_SECOND:
        raise InputProblem(UNUSUAL.format(rate=rate, channels=channels))


def plain_wav_seconds(path: str | Path) -> float | None:
    """The length of a PCM WAV whose chunks tile the file exactly, with one data chunk that runs to its last
    byte: a decoder that trusts the data size and one that reads to the end get the same samples, so its own
    bytes may be sent for the length measured. None for anything else (read it for small files only)."""
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE" or int.from_bytes(data[4:8], "little") != len(data) - 8:
        return None
    at, fmt = 12, None
    while at + 8 <= len(data):
        kind, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "little")
        if at + 8 + size > len(data):
            return None
        if kind == b"fmt ":
            if fmt is not None or size < 16:
                return None
            fmt = struct.unpack_from("<HHIIHH", data, at + 8)
        elif kind == b"data":
            if fmt is None or at + 8 + size != len(data):
                return None
            tag, channels, rate, _, align, bits = fmt
            if tag != 1 or bits not in (8, 16, 24, 32) or not rate or not channels or align != channels * bits // 8:
                return None
            return size // align / rate if size % align == 0 else None
        at += 8 + size + (size & 1)  # chunks are padded to an even length
    return None


def _int16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)


def _quietest_cut(samples: np.ndarray) -> int:
    """Where to end a piece: the middle of the quietest 20 ms frame within its last SEARCH_SECONDS."""
    frame = int(FRAME_SECONDS * SAMPLE_RATE)
    window = min(int(SEARCH_SECONDS * SAMPLE_RATE), len(samples) // 2) // frame * frame
    tail = samples[len(samples) - window:].astype(np.float32).reshape(-1, frame)
    quietest = int(np.argmin((tail**2).mean(axis=1)))
    return len(samples) - window + quietest * frame + frame // 2


def _wav(samples: np.ndarray) -> bytes:
    """16-bit mono WAV in memory, with the fixed 44-byte header that `max_bytes` accounts for."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()

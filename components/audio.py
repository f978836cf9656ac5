"""Reading uploaded recordings: what they are, and how to cut a long one into request-sized WAV pieces.

`probe` answers before any request is made, so a text file or an empty recording gets a clear sentence
instead of a 400 from the service. `chunks` exists because one request has a size limit: a long recording is
decoded block by block, mixed to mono, resampled to 16 kHz (what Whisper works at, so nothing is lost) and cut
at quiet moments, so a word is not split between two requests.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .ui import InputProblem

SAMPLE_RATE = 16_000
WAV_HEADER_BYTES = 44  # the stdlib `wave` writer's header for 16-bit PCM: RIFF + fmt + data chunk headers
SEARCH_SECONDS = 2.0  # look for the quietest moment within the last ~2 s of each piece
FRAME_SECONDS = 0.02  # loudness is measured over 20 ms frames
READ_SECONDS = 10  # decode this much at a time: a 30-minute 48 kHz stereo file is never held whole as floats

NOT_AUDIO = "This file is not audio{what}: upload a WAV, MP3, FLAC or OGG recording."
EMPTY = "The recording is empty: record again, or upload a recording that has some sound in it."

# Containers libsndfile cannot decode but Whisper accepts as they are (a browser's own recordings, phone memos).
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
    """What `probe` found. `duration`, `sample_rate`, `channels` and `frames` are None for a container
    libsndfile cannot decode (MP4/M4A, WebM): such a file can only be sent whole."""

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
        for name, matches in _CONTAINERS.items():
            if matches(head):
                return AudioInfo(None, None, None, None, name)
        raise InputProblem(NOT_AUDIO.format(what=_looks_like(head))) from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise InputProblem(EMPTY)
    return AudioInfo(info.frames / info.samplerate, info.samplerate, info.channels, info.frames, info.format)


def _looks_like(head: bytes) -> str:
    for magic, what in _NOT_AUDIO.items():
        if head.startswith(magic):
            return f" (it looks like {what})"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    return " (it looks like text)"


def chunks(path: str | Path, max_bytes: int) -> list[Chunk]:
    """Split a recording into 16 kHz mono 16-bit WAV pieces of at most `max_bytes` each, cut at quiet moments.

    Decodes `READ_SECONDS` at a time and keeps at most one piece's worth of samples pending, so the memory
    used is the output itself plus one piece, whatever the length and format of the input.
    """
    max_samples = (max_bytes - WAV_HEADER_BYTES) // 2
    if max_samples < SAMPLE_RATE:
        raise ValueError(f"max_bytes={max_bytes} leaves less than one second of audio per piece")
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

    for block in _mono_16k(path):
        pending.append(block)
        pending_samples += len(block)
        if pending_samples > max_samples:
            cut(final=False)
    cut(final=True)
    return pieces


def _mono_16k(path: str | Path):
    """Yield the recording as 16 kHz mono int16 blocks, decoding and resampling a few seconds at a time."""
    with sf.SoundFile(str(path)) as source:
        resampler = None
        if source.samplerate != SAMPLE_RATE:
            resampler = soxr.ResampleStream(source.samplerate, SAMPLE_RATE, 1, dtype="float32")
        for block in source.blocks(blocksize=READ_SECONDS * source.samplerate, dtype="float32", always_2d=True):
            mono = block.mean(axis=1, dtype=np.float32)
            yield _int16(resampler.resample_chunk(mono) if resampler else mono)
        if resampler:
            yield _int16(resampler.resample_chunk(np.zeros(0, np.float32), last=True))


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

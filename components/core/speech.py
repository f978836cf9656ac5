"""Speech recognition without a page: a recording in; a transcript and WebVTT and SRT subtitle files out.

What goes on the wire (shared/docs/workers-ai-contract.md §5):
- `@cf/openai/whisper`, `whisper-tiny-en` and any model not listed in `BASE64_JSON_MODELS` take the audio
  as the raw body, no int-array JSON (~4×).
- `@cf/openai/whisper-large-v3-turbo` takes JSON only, the audio as base64 next to `task` and `language`.
The audio is what the app decoded and measured, never the upload taken at its header's word: a FLAC, Ogg or MP3
can claim 0.1 s and hold two minutes that the service would decode and bill. So every recording is decoded here
(core/audio.py, in a worker thread, refused past MAX_AUDIO_SECONDS), charged for the length decoded, and
sent as the 16 kHz WAV pieces that decoding made: cut at quiet moments to fit a request, sent a few at a time,
and stitched back (texts joined, each piece's timings shifted by where it starts). Only a plain PCM WAV whose one
data chunk runs to the end of the file goes out as its own bytes, when it fits one request: any decoder reads
the same samples from it, the ones measured.
Subtitles are built here from word/segment timings (core/subtitles.py), never from the service's `vtt`.

The Speech tab (components/tabs/speech.py) checks the input, calls `transcribe_file` and shows the results.
`request` is whatever the caller has (a gradio.Request in the app): metering reads its headers and client.
"""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path

from ..workers_ai import SPEECH, ProtocolError, estimate
from . import audio as audio_files
from .backend import shared_client
from .errors import InputProblem
from .scratch import fresh_folder, safe_stem
from .subtitles import (
    Word, cues_from_words, estimated_seconds, parse_words, to_srt, to_vtt, words_from_segments, words_from_text,
)
from .usage import metered

# The one place that says which speech models take base64 JSON (with `task` and `language`) instead of raw bytes.
BASE64_JSON_MODELS = frozenset({"@cf/openai/whisper-large-v3-turbo"})

# Bytes per request body. No limit is documented; bigger bodies get 413/3006, so stay well under it.
MAX_REQUEST_BYTES = 4_000_000
JSON_OVERHEAD_BYTES = 1_024  # the JSON around a base64 string: keys, task, language
PARALLEL_PIECES = 4  # pieces of one long recording in flight at once (speech allows 720 requests a minute)
# Subtitle files live in one folder per answer (core/scratch.py) only until Gradio has copied them into its own
# cache, as it postprocesses the answer, before anyone can download them.

TASKS = ("transcribe", "translate")


def takes_base64_json(model: str) -> bool:
    """True for models that need `{"audio": base64, "task", "language"}`; the rest get the file's raw bytes."""
    return model in BASE64_JSON_MODELS


def max_audio_bytes(model: str) -> int:
    """The most audio bytes one request may carry for this model (base64 grows them by 4/3)."""
    if takes_base64_json(model):
        return (MAX_REQUEST_BYTES - JSON_OVERHEAD_BYTES) * 3 // 4
    return MAX_REQUEST_BYTES


def checked_options(language: str | None, task: str | None) -> tuple[str, str]:
    """The language code (empty: detect it) and the task, normalised; InputProblem for anything else."""
    language = (language or "").strip().lower()
    if language and not re.fullmatch(r"[a-z]{2,3}", language):
        raise InputProblem(f"'{language}' is not a language code: use one such as en, de or ja, or leave it empty.")
    task = (task or "transcribe").strip().lower()
    if task not in TASKS:
        raise InputProblem(f"The task must be 'transcribe' or 'translate', not '{task}'.")
    return language, task


async def transcribe_file(path: str, model: str, language: str, task: str, request) -> tuple[str, str, str]:
    """Transcribe the recording at `path` with `model` (a checked model id; `language` and `task` as
    `checked_options` returns them), charged to `request`'s visitor: (transcript, WebVTT path, SRT path).

    Nothing is decoded for a visitor whose budget cannot cover one second; the charge is the length decoded here.
    """
    audio_files.probe(path)  # a text file or an empty recording: one clear sentence before decoding anything
    # The charge needs the decoded length, and decoding a long upload costs seconds of CPU: a visitor whose budget
    # cannot cover even one second is refused first (nothing is held or sent by this check).
    async with metered(request, "transcribe", SPEECH, estimate(model, audio_seconds=1)):
        pass
    pieces, durations = await _measured_pieces(path, max_audio_bytes(model))
    seconds = sum(durations)
    async with metered(request, "transcribe", SPEECH, estimate(model, audio_seconds=seconds)) as meter:
        results = await _run_all(model, pieces, language, task)
        meter.record()
    texts, words = [], []
    for piece, duration, result in zip(pieces, durations, results):
        text, timed = _timed_words(result, piece.start_seconds, duration)
        texts.append(text)
        words += timed
    transcript = " ".join(text for text in texts if text)
    if not transcript:
        raise InputProblem("No speech was heard in this recording.")
    cues = cues_from_words(words)
    vtt_path, srt_path = _write_subtitles(path, to_vtt(cues), to_srt(cues))
    return transcript, vtt_path, srt_path


async def _measured_pieces(path: str, limit: int) -> tuple[list[audio_files.Chunk], list[float]]:
    """What to send, and each piece's length in seconds: the lengths decoded here are what the call is charged.

    The decoded 16 kHz WAV pieces, or the upload's own bytes when it is a plain PCM WAV that fits one request and
    whose own length agrees with the decoded one. Decoding runs in a worker thread (seconds for a long file) and
    stops past MAX_AUDIO_SECONDS, before any neuron is reserved or any request made.
    """
    pieces = await asyncio.to_thread(audio_files.chunks, path, limit)
    durations = [piece.duration for piece in pieces]
    if not durations or sum(durations) <= 0:
        raise InputProblem(audio_files.EMPTY)
    if Path(path).stat().st_size <= limit:
        own = audio_files.plain_wav_seconds(path)
        if own is not None and abs(own - sum(durations)) < 0.01:  # resampling moves the end by a sample at most
            return [audio_files.Chunk(0.0, Path(path).read_bytes())], [own]
    return pieces, durations


async def _run_all(model: str, pieces: list[audio_files.Chunk], language: str, task: str) -> list:
    """Transcribe every piece, a few at a time, results in order; if one fails the others are cancelled."""
    limit = asyncio.Semaphore(PARALLEL_PIECES)

    async def one(piece: audio_files.Chunk):
        async with limit:
            return await _run_one(model, piece.wav_bytes, language, task)

    tasks = [asyncio.ensure_future(one(piece)) for piece in pieces]
    try:
        return await asyncio.gather(*tasks)
    finally:
        for pending in tasks:
            pending.cancel()


async def _run_one(model: str, data: bytes, language: str, task: str):
    """One request: the raw audio as the body, or base64 JSON with `task` (and `language`, unless detected)."""
    client = shared_client()
    if not takes_base64_json(model):
        return await client.run_bytes(model, data, "application/octet-stream")
    payload = {"audio": base64.b64encode(data).decode("ascii"), "task": task}
    if language:
        payload["language"] = language
    return await client.run(model, payload)


def _timed_words(result, offset: float, duration: float | None) -> tuple[str, list[Word]]:
    """A piece's text and its words on the recording's clock: from `words`, else `segments`, else the text."""
    if not isinstance(result, dict):
        raise ProtocolError("Workers AI answered the transcription in an unexpected shape: try again.")
    text = " ".join(str(result.get("text") or "").split())
    words = parse_words(result.get("words"), offset) or words_from_segments(result.get("segments"), offset)
    if not words and text:
        words = words_from_text(text, offset, offset + (duration or estimated_seconds(text)))
    return text, words


def _write_subtitles(audio_path: str, vtt: str, srt: str) -> tuple[str, str]:
    """Write both files, named after the upload, into a fresh folder (core/scratch.py removes old ones)."""
    stem = safe_stem(audio_path, "recording")
    folder = fresh_folder("speech")
    vtt_path, srt_path = folder / f"{stem}.vtt", folder / f"{stem}.srt"
    vtt_path.write_text(vtt, encoding="utf-8")
    srt_path.write_text(srt, encoding="utf-8")
    return str(vtt_path), str(srt_path)

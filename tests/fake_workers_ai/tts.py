"""Text-to-speech: melotts (JSON, base64 MP3) and Deepgram's aura-1 / aura-2-en (the audio itself as the body).

The speech is real: espeak-ng speaks the text (a voice per language, a pitch and speed per Aura speaker) and
libsndfile, through soundfile, encodes it as MP3 with LAME, so a browser plays it and a decoder reads it back at
the length it was spoken. Without espeak-ng (it is a test dependency: `make test` installs it) the fake hums one
short tone per character instead, still encoded as real MP3. Aura's other encodings are honoured where
libsndfile writes them: linear16, mulaw and alaw as WAV, flac, opus in Ogg; aac is refused.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import shutil
import subprocess

import numpy as np
import soundfile

from .answers import AURA_PER_1K_CHARACTERS, MELO_PER_MINUTE, Answer
from .errors import bad_input, request_object
from .schemas_media import aura_1, aura_2, melotts
from .validation import validate

RATE = 22050  # espeak-ng's output rate
_MELO_VOICES = {"en": "en-us", "es": "es", "fr": "fr", "zh": "cmn", "jp": "ja", "kr": "ko"}
# encoding → (libsndfile format, subtype, content type); `container: wav` is the only one for the PCM family
_ENCODINGS = {
    "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg"),
    "linear16": ("WAV", "PCM_16", "audio/wav"),
    "mulaw": ("WAV", "ULAW", "audio/wav"),
    "alaw": ("WAV", "ALAW", "audio/wav"),
    "flac": ("FLAC", "PCM_16", "audio/flac"),
    "opus": ("OGG", "OPUS", "audio/ogg"),
}
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def _wav_samples(data: bytes) -> np.ndarray:
    """espeak-ng's --stdout WAV (its sizes are left at 0x7fffffff): the 16-bit samples after the data chunk."""
    start = data.find(b"data")
    if start < 0:
        return np.zeros(0, dtype=np.float32)
    pcm = data[start + 8:]
    return np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.float32) / 32768


def _tones(text: str) -> np.ndarray:
    """The stand-in for speech without espeak-ng: 80 ms per character, a pitch per character."""
    pieces = []
    for char in text[:4000]:
        t = np.arange(int(RATE * 0.08)) / RATE
        loud = 0.0 if char.isspace() else 0.3
        pieces.append(loud * np.sin(2 * np.pi * (200 + 4 * (ord(char) % 100)) * t).astype(np.float32))
    return np.concatenate(pieces) if pieces else np.zeros(RATE // 10, dtype=np.float32)


@functools.lru_cache(maxsize=64)
def speak(text: str, voice: str = "en-us", pitch: int = 50, speed: int = 160) -> np.ndarray:
    """Mono float samples at RATE of `text` spoken (cached: tests ask for the same sentences again)."""
    if shutil.which("espeak-ng") is None:
        return _tones(text)
    try:
        done = subprocess.run(["espeak-ng", "--stdout", "--stdin", "-v", voice, "-p", str(pitch), "-s", str(speed)],
                              input=text.encode("utf-8", "replace"), capture_output=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return _tones(text)
    samples = _wav_samples(done.stdout)
    return samples if len(samples) else _tones(text)


def encode(samples: np.ndarray, rate: int, encoding: str = "mp3") -> tuple[bytes, str]:
    """The audio file in that encoding, and its content type."""
    file_format, subtype, content_type = _ENCODINGS[encoding]
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format=file_format, subtype=subtype)
    return out.getvalue(), content_type


def _resampled(samples: np.ndarray, rate: int) -> np.ndarray:
    if rate == RATE:
        return samples
    import soxr  # the app's own resampler (a runtime dependency)

    return soxr.resample(samples, RATE, rate).astype(np.float32)


def run_melotts(fake, req, info) -> Answer:
    body = request_object(req)
    validate(melotts()["input"], body)
    samples = speak(body["prompt"], _MELO_VOICES[body.get("lang", "en")])
    audio, _ = encode(samples, RATE)
    seconds = len(samples) / RATE
    return Answer({"audio": base64.b64encode(audio).decode("ascii")}, neurons=MELO_PER_MINUTE * seconds / 60)


def _voice(speaker: str) -> tuple[int, int]:
    """Each speaker sounds a little different: pitch 25-74, 145-184 words a minute."""
    digest = hashlib.sha256(speaker.encode()).digest()
    return 25 + digest[0] % 50, 145 + digest[1] % 40


def run_aura(fake, req, info) -> Answer:
    schema, default = (aura_2(), "luna") if info.kind == "aura-2" else (aura_1(), "angus")
    body = request_object(req)
    validate(schema["input"], body)
    encoding = body.get("encoding", "mp3")
    if encoding not in _ENCODINGS:
        raise bad_input(f"encoding '{encoding}' is not available here: use one of {', '.join(_ENCODINGS)}")
    file_format = _ENCODINGS[encoding][0]
    container = body.get("container")
    if container not in (None, "none", {"WAV": "wav", "OGG": "ogg"}.get(file_format, "none")):
        raise bad_input(f"container '{container}' does not hold '{encoding}' audio")
    allowed = _OPUS_RATES if encoding == "opus" else _RATES
    rate = body.get("sample_rate") or (48000 if encoding == "opus" else RATE)
    if rate not in allowed:
        raise bad_input(f"'/sample_rate' must be one of {', '.join(map(str, allowed))} for '{encoding}'")
    rate = int(rate)
    pitch, speed = _voice(body.get("speaker", default))
    samples = _resampled(speak(body["text"], "en-us", pitch, speed), rate)
    audio, content_type = encode(samples, rate, encoding)
    neurons = AURA_PER_1K_CHARACTERS[info.kind] * len(body["text"]) / 1000
    return Answer(data=audio, content_type=content_type, neurons=neurons)

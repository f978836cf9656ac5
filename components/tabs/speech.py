"""The Speech tab: a recording in, a transcript, WebVTT and SRT subtitles, and captioned playback out.

What goes on the wire (raw bytes or base64 JSON, decoded-and-measured WAV pieces), the charge and the subtitle
files live in components/core/speech.py; this module has the input component, the public `transcribe` endpoint
(API and MCP) and the layout.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from ..core.backend import default_model, model_or_default
from ..core.errors import InputProblem
from ..core.speech import TASKS, checked_options, takes_base64_json, transcribe_file
from ..ui.endpoints import concurrency_limit
from ..ui.errors import friendly_errors
from ..ui.first_click import announce_loading, answer, example_file, model_notice, on_example
from ..ui.how_it_works import panel
from ..ui.models import model_dropdown
from ..ui.panels import after_answer, cost_line, notice
from ..ui.uploads import MAX_UPLOAD_BYTES, fetch_links_capped
from ..workers_ai import SPEECH

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EXAMPLES = ["speech-fox.wav", "speech-weather.wav"]

LANGUAGES = [
    ("Detect automatically", ""), ("English", "en"), ("Spanish", "es"), ("French", "fr"), ("German", "de"),
    ("Italian", "it"), ("Portuguese", "pt"), ("Dutch", "nl"), ("Polish", "pl"), ("Ukrainian", "uk"),
    ("Russian", "ru"), ("Turkish", "tr"), ("Arabic", "ar"), ("Hindi", "hi"), ("Japanese", "ja"),
    ("Korean", "ko"), ("Chinese", "zh"),
]


@friendly_errors
async def transcribe(
    audio: str | None,
    model: str = "",
    language: str = "",
    task: str = "transcribe",
    progress: gr.Progress = gr.Progress(),
    request: gr.Request | None = None,
) -> tuple[str, str, str, gr.Audio]:
    """Transcribe a speech recording with Cloudflare Workers AI (Whisper) and make subtitles for it.

    Long recordings are split at quiet moments, transcribed piece by piece and stitched back together.

    Args:
        audio: The recording, up to 2 hours (WAV, MP3, FLAC or OGG; MP4/M4A and WebM where PyAV is installed).
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
    model = model_or_default(model, SPEECH)  # blank: the backend's default
    language, task = checked_options(language, task)
    announce_loading(model, progress)
    transcript, vtt_path, srt_path = await transcribe_file(audio, model, language, task, request)
    return transcript, vtt_path, srt_path, gr.Audio(value=audio, subtitles=vtt_path)


@friendly_errors
async def _example(chosen: tuple[int, list] | None, model: str, language: str, task: str,
                   progress: gr.Progress = gr.Progress(), request: gr.Request | None = None):
    """An example recording clicked (`chosen`: its index and row, from the examples' dataset): its transcript,
    subtitles and captioned playback at once, computed by `transcribe` or kept from this backend's earlier answer
    with the same model and options. The recording is read from assets/ (our own file)."""
    recording = example_file(chosen)
    model = model_or_default(model, SPEECH)
    language, task = checked_options(language, task)

    async def run():
        transcript, vtt, srt, _player = await transcribe(recording, model, language, task, progress, request)
        return transcript, vtt, srt

    (transcript, vtt, srt), cost, requests = await answer(
        ("transcribe", model, language, task, Path(recording).name), run, "transcribe", request, "Transcribe",
        files=True)
    return transcript, vtt, srt, gr.Audio(value=recording, subtitles=vtt), cost, requests


class AudioInput(gr.Audio):
    """gr.Audio whose recordings named by link (MCP clients send links) are fetched with a size limit.
    `is_template` keeps the browser using the Audio component."""

    is_template = True
    link_limit = MAX_UPLOAD_BYTES
    # In the class body, not from a mixin base: Gradio names the front-end component after the first base class
    # (ui/uploads.py, fetch_links_capped).
    async_move_resource_to_block_cache = fetch_links_capped


def _show_options(model: str):
    """Language and task only mean something to the models that take them."""
    shown = takes_base64_json((model or "").strip())
    return gr.update(visible=shown, interactive=shown), gr.update(visible=shown, interactive=shown)


def render(meter: gr.HTML | None = None) -> list[tuple[str, gr.Dropdown]]:
    """Build the tab inside the current Blocks/Tab, each answer refreshing the header `meter` (if given);
    returns the model dropdown for the catalogue to fill."""
    notice()
    turbo = takes_base64_json(default_model(SPEECH))
    with gr.Row():
        with gr.Column():
            recording = AudioInput(
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
            examples = gr.Examples(
                [[str(ASSETS / name)] for name in EXAMPLES], inputs=[recording],
                label="Try an example: one click shows its transcript",
                # Gradio's cache would call the paid API at start-up (Spaces cache by default), for every backend
                # alike: the answers are kept per backend by core/first_results.py instead (ui/first_click.py).
                cache_examples=False,
            )
        with gr.Column():
            model_notice(model)
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
    after_answer(answered.then, "transcribe", cost=cost, requests=requests, meter=meter)
    on_example(examples, _example, [examples.dataset, model, language, task], [text, vtt, srt, player], action="transcribe",
               cost=cost, requests=requests, meter=meter)
    return [(SPEECH, model)]

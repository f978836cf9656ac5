"""The Playground tab: the three tasks people try first (text to image, text to speech, translation) and any model of
the catalogue, driven by its schema (components/tabs/playground_any.py).

The work is components/core/playground (presets build each model's body, run.py checks, charges and sends,
outputs.py tells what came back); this module has the first three panels and their public endpoints
`generate_image`, `speak` and `translate` (API and MCP).
"""

from __future__ import annotations

import asyncio

import gradio as gr

from ..core.playground import presets
from ..core.playground.outputs import AUDIO, IMAGE, TEXT
from ..core.backend import is_offline
from ..core.errors import InputProblem
from ..core.playground.run import ACTION, model_form, needs_account, run_checked
from ..core.scratch import write_file
from ..ui.endpoints import concurrency_limit
from ..ui.errors import friendly_errors
from ..ui.how_it_works import panel, sent_requests
from ..ui.models import ModelDropdown
from ..ui.panels import after_answer, cost_line, notice
from ..workers_ai import ProtocolError, WorkersAIError
from . import playground_any

OFFLINE_NOTE = ("Offline, the **Any model** tab runs the small local models. Images, speech and translation need a "
                "Cloudflare account: set `CLOUDFLARE_ACCOUNT_ID` and `CLOUDFLARE_API_TOKEN` and restart.")
MAX_GALLERY = 24  # a session's pictures kept in its gallery, newest first


async def _produce(model: str, body: dict, request, kind: str, what: str, stem: str) -> str:
    """Run a first-class request and save what came back as a file; refuse an answer of another kind."""
    shown = await run_checked(model, body, request)
    if shown.kind != kind or shown.data is None:
        raise ProtocolError(f"{model} answered without {what} ({shown.summary or shown.kind}): try again.")
    return await asyncio.to_thread(write_file, "playground", stem, shown.extension, shown.data)  # off the loop


@friendly_errors
async def generate_image(
    prompt: str,
    model: str = presets.FLUX,
    steps: float | None = None,
    width: float | None = None,
    height: float | None = None,
    seed: float | None = None,
    negative_prompt: str = "",
    request: gr.Request | None = None,
) -> str:
    """Generate a picture from a text description with a Workers AI text-to-image model.

    Args:
        prompt: What to draw, in words (up to 2,048 characters).
        model: "@cf/black-forest-labs/flux-1-schnell" (JPEG, 1024×1024) or "@cf/bytedance/stable-diffusion-xl-lightning" (PNG, any size).
        steps: Diffusion steps: flux 1-8 (default 4), SDXL-Lightning 1-20 (default 8). More is slower, sometimes finer.
        width: SDXL-Lightning only: the width in pixels, 256-2048 (default 1024).
        height: SDXL-Lightning only: the height in pixels, 256-2048 (default 1024).
        seed: SDXL-Lightning only: a number that makes the picture repeatable (blank or -1: random).
        negative_prompt: SDXL-Lightning only: what the picture should not show.

    Returns:
        The picture (a JPEG or PNG file).
    """
    needs_account("Text to image", "draws pictures")
    model, body = presets.image_request(prompt, model, steps, width, height, seed, negative_prompt)
    return await _produce(model, body, request, IMAGE, "a picture", prompt[:40])


@friendly_errors
async def speak(
    text: str,
    model: str = presets.MELOTTS,
    speaker: str = "",
    lang: str = "en",
    request: gr.Request | None = None,
) -> str:
    """Read a text aloud with a Workers AI text-to-speech model.

    Args:
        text: What to say (up to 2,000 characters).
        model: "@cf/myshell-ai/melotts" (several languages), "@cf/deepgram/aura-2-en" or "@cf/deepgram/aura-1" (English voices).
        speaker: aura only: the voice, e.g. "luna", "asteria", "orion" (blank: the model's default).
        lang: melotts only: the language code, one of en, es, fr, zh, ja, ko (default en).

    Returns:
        The speech as an MP3 file.
    """
    needs_account("Text to speech", "speaks")
    model, body = presets.speech_request(text, model, speaker, lang)
    return await _produce(model, body, request, AUDIO, "audio", text[:40])


@friendly_errors
async def translate(
    text: str,
    target_lang: str,
    source_lang: str = "en",
    model: str = presets.M2M100,
    request: gr.Request | None = None,
) -> str:
    """Translate a text with Workers AI's m2m100 model (100 languages).

    Args:
        text: The text to translate (up to 5,000 characters).
        target_lang: The language to translate into, as a code: fr, es, de, pt, zh, ja, ar, ru, hi, it, nl, en…
        source_lang: The language the text is in, as a code (default en).
        model: "@cf/meta/m2m100-1.2b".

    Returns:
        The translated text.
    """
    needs_account("Translation", "translates")
    model, body = presets.translation_request(text, target_lang, source_lang, model)
    shown = await run_checked(model, body, request)
    if shown.kind != TEXT:
        raise ProtocolError(f"{model} answered without a translation ({shown.summary or shown.kind}): try again.")
    return shown.text


def _gallery_add(image: str | None, gallery: list | None) -> list:
    """The session's gallery with the newest picture first."""
    pictures = [p for p in (gallery or []) if p]
    return ([image] + pictures)[:MAX_GALLERY] if image else pictures


def _swap(source: str, target: str, text: str, translation: str):
    """Swap the languages, and the texts with them (the translation becomes the text to translate)."""
    return target, source, translation or text, text if translation else ""


async def _voices(model: str, speaker: str):
    """The language picker for melotts, the voice picker (with the model's own voices, from its schema) for aura."""
    melotts = model == presets.MELOTTS
    voices = list(presets.AURA_SPEAKERS)
    if not melotts and not is_offline():
        try:
            form = await model_form(model)
            field = next((f for v in form.form.usable for f in v.fields if f.name == "speaker" and f.choices), None)
            voices = list(field.choices) if field else voices
        except (InputProblem, WorkersAIError):
            pass  # the built-in list; the run itself will say what is wrong with the model
    voice = speaker if speaker in voices else ("luna" if "luna" in voices else voices[0])
    return gr.update(visible=melotts), gr.update(visible=not melotts, choices=voices, value=voice)


def _runs(fn, inputs: list, output, button: gr.Button, examples: gr.Examples, **panels) -> tuple:
    """A panel's two ways to run `fn`: its button (the public endpoint named after `fn`) and a click on one of its
    examples (private: it fills the inputs, then runs); after each, the cost line, the requests (with their curl
    commands) and the meter (`panels`: after_answer's cost, requests and meter). Returns both events."""
    clicked = button.click(fn, inputs, output, api_name=fn.__name__, concurrency_limit=concurrency_limit())
    example = examples.load_input_event.then(fn, inputs, output, api_visibility="private",
                                             concurrency_limit=concurrency_limit())
    for event in (clicked, example):
        after_answer(event.then, ACTION, curl=True, **panels)
    return clicked, example


def _image_panel(meter, requests) -> None:
    with gr.Row(equal_height=False):
        with gr.Column():
            prompt = gr.Textbox(label="Describe the picture", lines=3, max_length=presets.MAX_PROMPT_CHARS,
                                placeholder=presets.EXAMPLE_PROMPTS[0], elem_id="playground-image-prompt")
            model = ModelDropdown(list(presets.IMAGE_MODELS), value=presets.FLUX, label="Model",
                                  allow_custom_value=True)
            with gr.Accordion("Settings", open=False):
                # The slider's range is also the API's: it spans every model's (each model's own bound is checked
                # with a sentence), and the page narrows it to the chosen model's on a change.
                steps = gr.Slider(1, max(presets.MAX_STEPS.values()), value=presets.DEFAULT_STEPS[presets.FLUX],
                                  step=1, label="Steps",
                                  info="flux: 1-8 (4 is its default); SDXL-Lightning: 1-20.")
                with gr.Row():
                    width = gr.Slider(256, 2048, value=1024, step=64, label="Width", info="SDXL-Lightning only.")
                    height = gr.Slider(256, 2048, value=1024, step=64, label="Height", info="SDXL-Lightning only.")
                seed = gr.Number(value=-1, precision=0, label="Seed", info="SDXL-Lightning only; -1: random.")
                negative = gr.Textbox(label="Negative prompt", info="SDXL-Lightning only: what to leave out.")
            button = gr.Button("Generate", variant="primary")
            examples = gr.Examples([[p] for p in presets.EXAMPLE_PROMPTS], inputs=[prompt], label="Try a prompt")
        with gr.Column():
            image = gr.Image(label="Picture", type="filepath", height=420, interactive=False,
                             elem_id="playground-image")
            cost = cost_line()
    gallery = gr.Gallery(label="This session's pictures", columns=8, fit_columns=False, height=220, value=[],
                         interactive=False, object_fit="cover", elem_id="playground-gallery")
    model.change(lambda m: gr.update(maximum=presets.MAX_STEPS.get(m, 20), value=presets.DEFAULT_STEPS.get(m, 4)),
                 model, steps, api_visibility="private", queue=False, show_progress="hidden")
    inputs = [prompt, model, steps, width, height, seed, negative]
    for event in _runs(generate_image, inputs, image, button, examples, cost=cost, requests=requests, meter=meter):
        event.success(_gallery_add, [image, gallery], gallery, api_visibility="private", queue=False,
                      show_progress="hidden")


def _speech_panel(meter, requests) -> None:
    with gr.Row(equal_height=False):
        with gr.Column():
            text = gr.Textbox(label="Text to speak", lines=4, max_length=presets.MAX_SPEECH_CHARS,
                              placeholder=presets.EXAMPLE_SPEECH[0], elem_id="playground-speech-text")
            model = ModelDropdown(list(presets.SPEECH_MODELS), value=presets.MELOTTS, label="Model",
                                  allow_custom_value=True)
            with gr.Row():
                lang = gr.Dropdown([(name, code) for code, name in presets.MELOTTS_LANGUAGES.items()], value="en",
                                   label="Language")
                speaker = gr.Dropdown(list(presets.AURA_SPEAKERS), value="luna", label="Voice", visible=False,
                                      allow_custom_value=True)
            button = gr.Button("Speak", variant="primary")
            examples = gr.Examples([[t] for t in presets.EXAMPLE_SPEECH], inputs=[text], label="Try a sentence")
        with gr.Column():
            audio = gr.Audio(label="Speech", type="filepath", interactive=False, elem_id="playground-audio")
            cost = cost_line()
    model.change(_voices, [model, speaker], [lang, speaker], api_visibility="private", show_progress="hidden")
    _runs(speak, [text, model, speaker, lang], audio, button, examples, cost=cost, requests=requests, meter=meter)


def _translation_panel(meter, requests) -> None:
    languages = [(name, code) for code, name in presets.LANGUAGES.items()]
    with gr.Row(equal_height=False):
        source = gr.Dropdown(languages, value="en", label="From", allow_custom_value=True, scale=4)
        swap = gr.Button("⇄ Swap", scale=1, min_width=80, elem_id="playground-swap")
        target = gr.Dropdown(languages, value="fr", label="To", allow_custom_value=True, scale=4)
    with gr.Row(equal_height=True):
        text = gr.Textbox(label="Text", lines=5, max_length=presets.MAX_TRANSLATION_CHARS,
                          placeholder=presets.EXAMPLE_TRANSLATIONS[0][0], elem_id="playground-translate-text")
        result = gr.Textbox(label="Translation", lines=5, interactive=False, elem_id="playground-translation",
                            buttons=["copy"])
    model = ModelDropdown(list(presets.TRANSLATION_MODELS), value=presets.M2M100, label="Model", visible=False,
                          allow_custom_value=True)
    button = gr.Button("Translate", variant="primary")
    cost = cost_line()
    examples = gr.Examples([list(e) for e in presets.EXAMPLE_TRANSLATIONS], inputs=[text, source, target],
                           label="Try a sentence")
    swap.click(_swap, [source, target, text, result], [source, target, text, result], api_visibility="private",
               queue=False, show_progress="hidden")
    _runs(translate, [text, target, source, model], result, button, examples, cost=cost, requests=requests,
          meter=meter)


def render(meter: gr.HTML | None = None, tab: gr.Tab | None = None) -> None:
    """The Playground tab (`tab`, if given, is the tab itself); each answer refreshes the header `meter` (if given).
    Offline it opens on *Any model*, the part the local models can run."""
    notice(offline=OFFLINE_NOTE)
    panels = (("Text to image", "playground-image-tab", _image_panel),
              ("Text to speech", "playground-speech-tab", _speech_panel),
              ("Translate", "playground-translate-tab", _translation_panel))
    with gr.Tabs(selected="playground-any" if is_offline() else None):
        for title, elem_id, build in panels:
            with gr.Tab(title, elem_id=elem_id):
                requests = sent_requests(render=False)
                build(meter, requests)
                panel(ACTION, requests)
        with gr.Tab("Any model", id="playground-any", elem_id="playground-any-tab") as any_tab:
            playground_any.render(meter, any_tab, tab if is_offline() else None)

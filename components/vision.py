"""Vision tab: classify a photo (upload, webcam or clipboard) and show the top-5 labels as confidence bars.

The original file goes to Workers AI as raw bytes (`application/octet-stream`): about the file's size on the
wire, where the int-array JSON of most tutorials is four times that. Only images a model could choke on
(huge, animated, CMYK, exotic formats) are re-encoded first, as a modest RGB JPEG.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import gradio as gr
from PIL import Image, ImageOps, UnidentifiedImageError

from .answer_cost import cost_line, show_cost_after
from .how_it_works import panel, show_requests_after
from .ui import InputProblem, announce_loading, concurrency_limit, friendly_errors, model_dropdown, setup_notice
from .backend import default_model, model_or_default, shared_client
from .usage import metered
from .workers_ai import VISION, ProtocolError, estimate

ASSETS = Path(__file__).resolve().parent.parent / "assets"
EXAMPLES = ["cat-chelsea.png", "coffee-cup.png"]
SEND_AS_IS = {"JPEG", "PNG", "WEBP", "BMP"}
MAX_AS_IS_BYTES = 4 * 1024 * 1024
MAX_SIDE = 2048  # larger photos are downscaled: classifiers look at ~224 px anyway
MAX_PIXELS = 100_000_000  # refuse decompression bombs with a sentence, not a crash


class ImageInput(gr.Image):
    """gr.Image that hands over the original upload and explains unreadable files instead of failing.

    Gradio opens every upload with PIL before our function runs; for a corrupt file that raises a bare
    exception. Here it becomes a clear message. `is_template` keeps the browser using the Image component.
    """

    is_template = True

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as exc:
            raise gr.Error(_UNREADABLE) from exc


_UNREADABLE = "This file is not an image that can be read (it may be corrupt or truncated): try a JPEG or PNG."


def readable_label(label: str) -> str:
    """'TABBY' → 'Tabby', 'tiger cat' → 'Tiger cat', 'tabby, tabby cat' → 'Tabby'."""
    first = str(label).split(",")[0].strip().replace("_", " ")
    if first.isupper() or first.islower():
        first = first.lower()
        return first[:1].upper() + first[1:]
    return first


def prepare_image(path: str) -> tuple[bytes, str]:
    """The bytes to send and a note on what was done to them. Raises InputProblem for unreadable files."""
    data = Path(path).read_bytes()
    if not data:
        raise InputProblem("The image file is empty: choose another picture.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise InputProblem(f"The image is {image.width}×{image.height} pixels: too large to classify here.")
            image.load()
    except InputProblem:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise InputProblem(_UNREADABLE) from exc
    animated = getattr(image, "is_animated", False)
    if (image.format in SEND_AS_IS and image.mode in ("RGB", "L", "RGBA", "P") and not animated
            and len(data) <= MAX_AS_IS_BYTES and max(image.size) <= MAX_SIDE):
        return data, "original file"
    image.seek(0)
    frame = ImageOps.exif_transpose(image.convert("RGB"))
    frame.thumbnail((MAX_SIDE, MAX_SIDE))
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue(), f"re-encoded from {image.format or 'image'} {image.mode} {image.width}×{image.height}"


def to_confidences(result) -> dict[str, float]:
    """Workers AI's `[{"label": "TABBY", "score": 0.61}, …]` → `{"Tabby": 0.61, …}`, best first."""
    if not isinstance(result, list):
        raise ProtocolError("The classifier answered in an unexpected shape: try again.")
    confidences: dict[str, float] = {}
    for item in result:
        if isinstance(item, dict) and "label" in item and isinstance(item.get("score"), (int, float)):
            name = readable_label(item["label"])
            confidences[name] = max(confidences.get(name, 0.0), float(item["score"]))
    if not confidences:
        raise ProtocolError("The classifier returned no labels for this image: try another picture.")
    return dict(sorted(confidences.items(), key=lambda kv: kv[1], reverse=True))


@friendly_errors
async def classify(
    image: str | None,
    model: str = default_model(VISION),
    progress: gr.Progress = gr.Progress(),
    request: gr.Request | None = None,
) -> dict[str, float]:
    """Classify an image with a Workers AI image-classification model.

    Args:
        image: The picture to classify (a file path or URL; JPEG, PNG, WebP, GIF, BMP…).
        model: Any Workers AI image-classification model id, e.g. "@cf/microsoft/resnet-50".

    Returns:
        The top labels with their confidence (0-1), best first.
    """
    if not image:
        raise InputProblem("Upload, paste or take a picture first.")
    model = model_or_default(model, VISION)  # a bad model id is refused before the file is decoded
    data, _note = prepare_image(image)
    with metered(request, "classify", VISION, estimate(model, images=1)) as meter:
        announce_loading(model, progress)
        result = await shared_client().run_bytes(model, data)
        meter.record()
    return to_confidences(result)


def render(meter: gr.HTML | None = None) -> list[tuple[str, gr.Dropdown]]:
    """The Vision tab; each answer refreshes the header `meter` (if given). Returns its model dropdown, for the
    app to fill from the live catalogue."""
    if notice := setup_notice():
        gr.Markdown(notice, elem_classes="setup-notice")
    with gr.Row(equal_height=False):
        with gr.Column():
            image = ImageInput(
                sources=["upload", "webcam", "clipboard"], type="filepath", label="Photo", height=360,
                elem_id="vision-input",
            )
            model = model_dropdown(VISION, info="Image Classification models from the live catalogue.")
            button = gr.Button("Classify", variant="primary")
        with gr.Column():
            labels = gr.Label(num_top_classes=5, label="Top 5 labels")
            cost = cost_line()
    gr.Examples([[str(ASSETS / name)] for name in EXAMPLES], inputs=[image], label="Try an example")
    requests = panel("classify")
    for event in (
        button.click(classify, [image, model], labels, api_name="classify", concurrency_limit=concurrency_limit()),
        image.upload(classify, [image, model], labels, api_visibility="private", concurrency_limit=concurrency_limit()),
    ):
        show_cost_after(event, "classify", cost, meter)
        show_requests_after(event, "classify", requests)
    return [(VISION, model)]

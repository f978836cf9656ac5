"""Vision tab: classify a photo (upload, webcam or clipboard) and show the top-5 labels as confidence bars.

The original file goes to Workers AI as raw bytes (`application/octet-stream`): about the file's size on the
wire, where the int-array JSON of most tutorials is four times that. Only images a model could choke on
(huge, animated, CMYK, exotic formats) are re-encoded first, as a modest RGB JPEG.

Every upload is a stranger's file. A PNG of a few hundred KB can hold a billion pixels of zeros (a
"decompression bomb") that takes gigabytes and seconds to decode, so nothing is decoded until the budget has
admitted the call and the file's header has shown it within MAX_FILE_BYTES and MAX_PIXELS; decoding then runs in
a worker thread (at most DECODERS at once), never on the event loop that serves every other visitor.
"""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
from PIL import Image, ImageOps, UnidentifiedImageError

from ..ui.how_it_works import panel
from ..ui.panels import after_answer, cost_line, notice
from ..core.errors import InputProblem
from ..ui.common import announce_loading, concurrency_limit, fetch_links_capped, friendly_errors, model_dropdown
from ..core.backend import default_model, model_or_default, shared_client
from ..core.usage import metered
from ..workers_ai import VISION, ProtocolError, estimate

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EXAMPLES = ["cat-chelsea.png", "coffee-cup.png"]
SEND_AS_IS = {"JPEG", "PNG", "WEBP", "BMP"}
MAX_AS_IS_BYTES = 4 * 1024 * 1024
MAX_SIDE = 2048  # larger photos are downscaled: classifiers look at ~224 px anyway
# Limits on what a visitor may send, checked before anything is decoded. 20 MB holds any camera JPEG; 50 megapixels
# admits a full-resolution photo from a 48 or 50 MP phone camera, and one decode of it takes at most ~200 MB.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 50_000_000
# The formats opened at all: common, and each states its true size in its header (ICO, for one, may not).
# "JPEG" covers the multi-picture JPEGs (MPO) many phones save.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
Image.init()  # registers the plugins FORMATS names (Image.open would load them late)
DECODERS = 2  # images decoded at once, whatever the number of visitors: bounds memory to ~2 × 200 MB
_decoder = ThreadPoolExecutor(DECODERS, thread_name_prefix="vision-decode")

_UNREADABLE = ("This file is not an image that can be read here (it may be corrupt, truncated, or not a JPEG, PNG, "
               "WebP, GIF, BMP or TIFF): try a JPEG or PNG.")


class ImageInput(gr.Image):
    """gr.Image that hands over the upload's path without decoding it.

    gr.Image's own preprocessing opens and converts every upload with PIL before our function runs: a 160 KB
    greyscale PNG of 169 megapixels costs ~800 MB and seconds there, before any limit or budget of ours can refuse
    it. By the time `preprocess` runs, Gradio has already checked that the path is one of its own uploads (or a
    cached example) and refused any other server path an API caller names, so the path is safe to pass on;
    `prepare_image` does the checked decoding. `is_template` keeps the browser using the Image component.
    """

    is_template = True
    link_limit = MAX_FILE_BYTES  # a picture named by link is fetched up to the size an upload may have
    async_move_resource_to_block_cache = fetch_links_capped

    def preprocess(self, payload):
        return None if payload is None else payload.path


def readable_label(label: str) -> str:
    """'TABBY' → 'Tabby', 'tiger cat' → 'Tiger cat', 'tabby, tabby cat' → 'Tabby'."""
    first = str(label).split(",")[0].strip().replace("_", " ")
    if first.isupper() or first.islower():
        first = first.lower()
        return first[:1].upper() + first[1:]
    return first


def check_file(path: str) -> None:
    """Refuse a missing, empty or oversized file from its size alone: nothing is read, nothing decoded."""
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        raise InputProblem(_UNREADABLE) from exc
    if not size:
        raise InputProblem("The image file is empty: choose another picture.")
    if size > MAX_FILE_BYTES:
        raise InputProblem(f"This file is {size / 2**20:.1f} MB; pictures of up to {MAX_FILE_BYTES // 2**20} MB "
                           "are accepted here: send a smaller one.")


def _too_large(size: tuple[int, int] | None = None) -> InputProblem:
    what = f"{size[0]}×{size[1]} pixels ({size[0] * size[1] / 1e6:.0f} megapixels)" if size else "far larger"
    return InputProblem(f"Pictures of up to {MAX_PIXELS // 1_000_000} megapixels are read here, and this one is "
                        f"{what}: send a smaller one.")


def _check_pixels(image: Image.Image) -> None:
    if image.width * image.height > MAX_PIXELS:
        raise _too_large(image.size)


def prepare_image(path: str) -> tuple[bytes, str]:
    """The bytes to send and a note on what was done to them. Raises InputProblem for files not to decode.

    Blocking: run it in a worker thread. `Image.open` reads only the header, so the size is checked before any
    pixel is decoded, again for the first frame, and only that frame is ever decoded, however many the file holds
    (GIF, APNG, WebP, multi-page TIFF). Pillow's own DecompressionBombError stays as a second net.
    """
    check_file(path)
    data = Path(path).read_bytes()
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
        _check_pixels(image)
        animated = getattr(image, "is_animated", False)
        image.seek(0)
        _check_pixels(image)  # a GIF's first frame may reach beyond its declared screen
        as_is = (image.format in SEND_AS_IS and image.mode in ("RGB", "L", "RGBA", "P") and not animated
                 and len(data) <= MAX_AS_IS_BYTES and max(image.size) <= MAX_SIDE)
        original = f"{image.format} {image.mode} {image.width}×{image.height}"
        if not as_is:
            image.draft(None, (MAX_SIDE, MAX_SIDE))  # a big JPEG decodes at 1/2…1/8 scale: a fraction of the memory
        image.load()
        if as_is:
            return data, "original file"
        # In place, smallest first: a 50-megapixel image is 200 MB in memory, and each copy would be another.
        ImageOps.exif_transpose(image, in_place=True)
        if image.mode not in ("RGB", "RGBA", "L"):
            image = image.convert("RGB")  # palette, CMYK, 16-bit: resized in RGB
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    except InputProblem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # Pillow's limits
        raise _too_large() from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputProblem(_UNREADABLE) from exc
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue(), f"re-encoded from {original}"


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
        image: The picture to classify (file or URL; JPEG, PNG, WebP, GIF, BMP, TIFF): at most 20 MB and 50 megapixels.
        model: Any Workers AI image-classification model id, e.g. "@cf/microsoft/resnet-50".

    Returns:
        The top labels with their confidence (0-1), best first.
    """
    if not image:
        raise InputProblem("Upload, paste or take a picture first.")
    check_file(image)
    model = model_or_default(model, VISION)  # a bad model id is refused before the file is decoded
    async with metered(request, "classify", VISION, estimate(model, images=1)) as meter:  # before any decoding
        data, _note = await asyncio.get_running_loop().run_in_executor(_decoder, prepare_image, image)
        announce_loading(model, progress)
        result = await shared_client().run_bytes(model, data)
        meter.record()
    return to_confidences(result)


def render(meter: gr.HTML | None = None) -> list[tuple[str, gr.Dropdown]]:
    """The Vision tab; each answer refreshes the header `meter` (if given). Returns its model dropdown, for the
    app to fill from the live catalogue."""
    notice()
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
        after_answer(event.then, "classify", cost=cost, requests=requests, meter=meter)
    return [(VISION, model)]

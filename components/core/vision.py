"""Image classification without a page: the checks a picture must pass, what is sent, and the metered call.

The original file goes to Workers AI as raw bytes (`application/octet-stream`): about the file's size on the
wire, where the int-array JSON of most tutorials is four times that. Only images a model could choke on
(huge, animated, CMYK, exotic formats) are re-encoded first, as a modest RGB JPEG.

Every upload is a stranger's file. A PNG of a few hundred KB can hold a billion pixels of zeros (a
"decompression bomb") that takes gigabytes and seconds to decode, so nothing is decoded until the budget has
admitted the call and the file's header has shown it within MAX_FILE_BYTES and MAX_PIXELS; decoding then runs in
a worker thread (at most DECODERS at once), never on the event loop that serves every other visitor.

The Vision tab (components/tabs/vision.py) checks the input, calls `classify_file` and shows the confidences.
`request` is whatever the caller has (a gradio.Request in the app): metering reads its headers and client.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from ..workers_ai import VISION, ProtocolError, estimate
from .backend import shared_client
from .errors import InputProblem
from .usage import metered

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
_decoder: ThreadPoolExecutor | None = None  # made on first use (`decoder_pool`), not at import
_decoder_lock = threading.Lock()

_UNREADABLE = ("This file is not an image that can be read here (it may be corrupt, truncated, or not a JPEG, PNG, "
               "WebP, GIF, BMP or TIFF): try a JPEG or PNG.")


def decoder_pool() -> ThreadPoolExecutor:
    """The worker threads that decode pictures (at most DECODERS), made on first use."""
    global _decoder
    with _decoder_lock:
        if _decoder is None:
            _decoder = ThreadPoolExecutor(DECODERS, thread_name_prefix="vision-decode")
        return _decoder


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


async def classify_file(path: str, model: str, request, before_request: Callable[[], None] | None = None
                        ) -> dict[str, float]:
    """Classify the picture at `path` with `model` (a checked model id), charged to `request`'s visitor: the
    labels with their confidence, best first.

    The budget admits the call before anything is decoded; the picture is then decoded in the decoder pool and
    `before_request` (if given) runs just before the request is sent (the tab shows its loading note there).
    """
    async with metered(request, "classify", VISION, estimate(model, images=1)) as meter:  # before any decoding
        data, _note = await asyncio.get_running_loop().run_in_executor(decoder_pool(), prepare_image, path)
        if before_request is not None:
            before_request()
        result = await shared_client().run_bytes(model, data)
        meter.record()
    return to_confidences(result)

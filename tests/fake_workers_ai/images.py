"""Image models: text-to-image (flux-1-schnell, stable-diffusion-xl-lightning), object detection (detr-resnet-50)
and image-to-text (llava-1.5-7b-hf).

Generated pictures are real images, deterministic from what was asked: a banded gradient and a few shapes whose
colours and places come from a hash of the prompt (and of the seed, for SDXL). flux answers JSON with a base64
JPEG (512×512: the service's 1024×1024 scaled down to keep tests light; billed as 1024×1024); SDXL answers the PNG
itself, at the asked size, the same bytes for the same prompt and seed (a random seed when none is given, as the
service does). Detection and description really decode the image and read its colours.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from .answers import FLUX_PER_STEP, FLUX_PER_TILE, Answer, tiles
from .errors import bad_input, json_type, request_object
from .media import binary_input
from .schemas_media import FLUX_DEFAULT_STEPS, SDXL_DEFAULT_SIZE, SDXL_MAX_STEPS, detr, flux, sdxl
from .validation import check_bytes, validate

FLUX_SIZE = 1024  # what flux-1-schnell makes (and bills)
FLUX_SENT = 512  # what the fake sends
_COLOURS = {
    "red": (200, 40, 40), "orange": (230, 130, 40), "yellow": (230, 210, 60), "green": (60, 160, 70),
    "blue": (50, 90, 200), "purple": (130, 60, 170), "brown": (130, 85, 50), "black": (20, 20, 20),
    "white": (240, 240, 240), "grey": (128, 128, 128),
}
# The COCO label a detected region gets: its mean colour's nearest prototype (the first two sit near the
# assets' cat and coffee photos).
_OBJECTS = (((148, 112, 87), "cat"), ((158, 87, 51), "cup"), ((204, 166, 89), "dog"), ((115, 153, 204), "boat"),
            ((89, 140, 64), "potted plant"), ((25, 25, 25), "tv"), ((235, 235, 235), "book"),
            ((200, 40, 40), "apple"), ((130, 60, 170), "umbrella"), ((128, 128, 128), "person"))


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def picture(width: int, height: int, *seed_parts: object) -> Image.Image:
    """A deterministic picture: a posterised two-colour gradient with a few ellipses and boxes on it."""
    rng = _rng(*seed_parts)
    corners = rng.integers(0, 256, (2, 2, 3)).astype(np.uint8)
    image = Image.fromarray(corners, "RGB").resize((width, height), Image.Resampling.BILINEAR)
    image = ImageOps.posterize(image, 3)  # flat bands: small PNGs
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 7))):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        rx, ry = int(rng.integers(width // 16, width // 4)), int(rng.integers(height // 16, height // 4))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        shape = draw.ellipse if rng.random() < 0.6 else draw.rectangle
        shape([x - rx, y - ry, x + rx, y + ry], fill=colour)
    return image


def _encode(image: Image.Image, kind: str) -> bytes:
    out = io.BytesIO()
    if kind == "JPEG":
        image.save(out, "JPEG", quality=70)
    else:
        image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def run_flux(fake, req, info) -> Answer:
    body = request_object(req)
    validate(flux()["input"], body)
    steps = body.get("steps", FLUX_DEFAULT_STEPS)
    image = picture(FLUX_SENT, FLUX_SENT, "flux", body["prompt"], steps)
    neurons = FLUX_PER_TILE * tiles(FLUX_SIZE, FLUX_SIZE) + FLUX_PER_STEP * steps
    return Answer({"image": base64.b64encode(_encode(image, "JPEG")).decode("ascii")}, neurons=neurons)


def run_sdxl(fake, req, info) -> Answer:
    body = request_object(req)
    validate(sdxl()["input"], body)
    width, height = body.get("width", SDXL_DEFAULT_SIZE), body.get("height", SDXL_DEFAULT_SIZE)
    seed = body.get("seed", random.randrange(2**32))
    image = picture(width, height, "sdxl", body["prompt"], body.get("negative_prompt", ""), seed,
                    body.get("num_steps", SDXL_MAX_STEPS), body.get("guidance", 7.5))
    return Answer(data=_encode(image, "PNG"), content_type="image/png", neurons=0.0)  # free in beta


def _decode_image(data: bytes) -> Image.Image:
    """The image, or the 5006 the service answers for bytes it cannot read."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise bad_input("the image could not be decoded") from None


def _nearest(rgb, table) -> str:
    return min(table, key=lambda entry: sum((a - b) ** 2 for a, b in zip(entry[0], rgb)))[1]


def _colour_name(rgb) -> str:
    return _nearest(rgb, [(value, name) for name, value in _COLOURS.items()])


def _label(rgb) -> str:
    return _nearest(rgb, _OBJECTS)


def _foreground(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box around the pixels that differ from the border's colour, in the array's coordinates."""
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    distance = np.abs(pixels - np.median(border, axis=0)).sum(axis=2)
    rows, cols = np.nonzero(distance > 60)
    if len(rows) < pixels.shape[0] * pixels.shape[1] // 50:
        return None
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def run_detr(fake, req, info) -> list[dict]:
    """The main object (what stands out from the border's colour) and up to two smaller ones, in pixels."""
    if "json" in req.headers.get("content-type", ""):
        validate(detr()["input"], request_object(req))
    data = binary_input(req, "image")
    image = _decode_image(data)
    width, height = image.size
    thumb = np.asarray(image.resize((64, 64)), dtype=float)
    box = _foreground(thumb) or (0, 0, 64, 64)
    rng = _rng("detr", hashlib.sha256(data).hexdigest())
    found = []
    for index in range(1 + int(rng.integers(0, 3))):
        if index:  # a smaller object inside the picture, scored lower
            x0, y0 = int(rng.integers(0, 48)), int(rng.integers(0, 48))
            box = (x0, y0, x0 + int(rng.integers(8, 17)), y0 + int(rng.integers(8, 17)))
        region = thumb[box[1]:box[3], box[0]:box[2]].reshape(-1, 3).mean(axis=0)
        score = (0.9 + 0.099 * rng.random()) if index == 0 else (0.5 + 0.35 * rng.random())
        found.append({
            "score": round(float(score), 4),
            "label": _label(region),
            "box": {"xmin": round(box[0] * width / 64), "ymin": round(box[1] * height / 64),
                    "xmax": round(min(box[2], 64) * width / 64), "ymax": round(min(box[3], 64) * height / 64)},
        })
    return sorted(found, key=lambda item: -item["score"])


def run_llava(fake, req, info) -> dict:
    """A description built from the picture's colours and size; the prompt is answered, max_tokens honoured.
    This model publishes no schema (registry.NO_SCHEMA), so its body is checked by hand."""
    if "json" in req.headers.get("content-type", ""):
        body = request_object(req)
        image = body.get("image")
        if image is None:
            raise bad_input("required properties at '/' are 'image'")
        if not isinstance(image, list):
            raise bad_input(f"Type mismatch of '/image', '{json_type(image)}' not in 'array','binary'")
        data = check_bytes(image, "/image")
        prompt, max_tokens = body.get("prompt", ""), body.get("max_tokens", 512)
        if not isinstance(prompt, str):
            raise bad_input(f"Type mismatch of '/prompt', '{json_type(prompt)}' not in 'string'")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
            raise bad_input(f"Type mismatch of '/max_tokens', '{json_type(max_tokens)}' not in 'integer'")
    else:
        data, prompt, max_tokens = req.body, "", 512
    image = _decode_image(data)
    thumb = np.asarray(image.resize((32, 32)), dtype=float)
    names = [_colour_name(p) for p in thumb.reshape(-1, 3)]
    main, second = (sorted(set(names), key=names.count, reverse=True) + ["grey"])[:2]
    centre = thumb[8:24, 8:24].reshape(-1, 3).mean(axis=0)
    text = (f"The image is a {image.width}×{image.height} picture, mostly {main} with touches of {second}. "
            f"In the middle there appears to be a {_label(centre)}.")
    if prompt.strip():
        text = f"Answering \"{prompt.strip()[:200]}\": {text}"
    return {"description": " ".join(text.split()[:max(max_tokens, 0)])}

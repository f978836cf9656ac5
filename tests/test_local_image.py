"""Offline image classifier: torch-free EfficientNet-Lite0 against reference numbers recorded once with real torch.

tests/data/efficientnet_reference.npz holds the torch model's logits for the two example assets and summary stats
of every activation (see tests/data/README.md). Tolerance: our float32 numpy pass (BatchNorm folded, other
summation order) differs from torch by ≈ 6e-6 on logits of magnitude ≈ 10; atol 1e-3 leaves two orders of
magnitude for other BLAS builds/CPUs, while real mistakes are far above it (BatchNorm eps 1e-5 instead of 1e-3
moves the logits by 0.8; putting TF "SAME" padding's odd pixel before instead of after, by 1.4).
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from components.local import efficientnet
from components.local.image_model import ImageClassifier, decode_image, preprocess
from tests.conftest import ASSETS, ROOT

REFERENCE = ROOT / "tests" / "data" / "efficientnet_reference.npz"
IMAGES = {"cat": ASSETS / "cat-chelsea.png", "coffee": ASSETS / "coffee-cup.png"}
CATS = {"TABBY", "TIGER CAT", "EGYPTIAN CAT"}
LOGIT_ATOL = 1e-3


@pytest.fixture(scope="module")
def classifier() -> ImageClassifier:
    return ImageClassifier.load()


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as ref:
        return {k: ref[k] for k in ref.files}


def _encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


# ------------------------------------------------------------------------------------- numerics vs torch
@pytest.mark.parametrize("name", sorted(IMAGES))
def test_logits_match_torch_reference(classifier, reference, name):
    x = preprocess(decode_image(IMAGES[name].read_bytes()))
    assert x.shape == (224, 224, 3) and x.dtype == np.float32
    stats = [x.mean(), x.std(), x.min(), x.max()]
    np.testing.assert_allclose(stats, reference[f"{name}_input_stats"], atol=1e-5)  # same preprocessing

    trace: dict = {}
    logits = classifier.network.logits(x, trace)
    expected = reference[f"{name}_logits"]
    assert logits.shape == (1000,)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=LOGIT_ATOL)
    assert list(np.argsort(-logits)[:5]) == list(np.argsort(-expected)[:5])

    # Where a mismatch starts: mean / std / max of the stem, every block and the head.
    ours = np.array([[a.mean(), a.std(), a.max()] for a in (trace[str(n)] for n in reference["activation_names"])])
    np.testing.assert_allclose(ours, reference[f"{name}_activation_stats"], rtol=1e-4, atol=1e-4)


def test_state_dict_reads_without_torch():
    from components.local.image_model import weights_path

    sd = efficientnet.load_legacy_state_dict(weights_path())
    assert len(sd) == 296
    assert sd["_conv_stem.weight"].shape == (32, 3, 3, 3) and sd["_conv_stem.weight"].dtype == np.float32
    assert sd["_fc.weight"].shape == (1000, 1280)
    assert sd["_bn0.num_batches_tracked"].dtype == np.int64 and sd["_bn0.num_batches_tracked"].shape == ()
    buffers = ("running_mean", "running_var", "num_batches_tracked")
    params = sum(v.size for k, v in sd.items() if not k.endswith(buffers))
    assert 4.6e6 < params < 4.7e6  # EfficientNet-Lite0: 4.65 M parameters


def test_tensor_views_honour_offset_and_strides():
    storage = efficientnet._Storage(np.dtype("<f4"), 12)
    storage.data = np.arange(12, dtype=np.float32)
    transposed = efficientnet._rebuild_tensor_v2(storage, 2, (3, 2), (1, 3), False, None)  # a .t() view
    np.testing.assert_array_equal(transposed.materialise(), [[2, 5], [3, 6], [4, 7]])
    with pytest.raises(ValueError):
        efficientnet._rebuild_tensor_v2(storage, 8, (3, 2), (1, 3)).materialise()  # reaches past the end


def test_unpickler_refuses_arbitrary_globals(tmp_path):
    evil = tmp_path / "evil.pth"
    head = b"".join(pickle.dumps(v, protocol=2) for v in (efficientnet.MAGIC_NUMBER, efficientnet.PROTOCOL_VERSION,
                                                          {"little_endian": True}))
    evil.write_bytes(head + b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.")
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        efficientnet.load_legacy_state_dict(evil)
    zipped = tmp_path / "new.pth"
    zipped.write_bytes(b"PK\x03\x04" + bytes(64))
    with pytest.raises(ValueError, match="zip-format"):
        efficientnet.load_legacy_state_dict(zipped)


# ------------------------------------------------------------------------------------- Workers AI reply shape
def test_coffee_cup_is_espresso(classifier):
    result = classifier.classify(IMAGES["coffee"].read_bytes())
    assert result[0]["label"] == "ESPRESSO" and result[0]["score"] > 0.9


def test_cat_is_a_cat(classifier):
    result = classifier.classify(IMAGES["cat"].read_bytes())
    assert CATS & {r["label"] for r in result[:3]}


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_reply_has_the_resnet_shape(classifier, name):
    result = classifier.classify(IMAGES[name].read_bytes())
    assert len(result) == 5
    assert all(set(r) == {"label", "score"} for r in result)
    assert all(isinstance(r["label"], str) and isinstance(r["score"], float) for r in result)
    assert all(r["label"] == r["label"].upper() and "," not in r["label"] for r in result)
    scores = [r["score"] for r in result]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert sum(scores) <= 1 + 1e-9
    json.dumps(result)  # plain JSON types only


def test_top_k(classifier):
    data = IMAGES["coffee"].read_bytes()
    assert [r["label"] for r in classifier.classify(data, top_k=1)] == ["ESPRESSO"]
    everything = classifier.classify(data, top_k=5000)
    assert len(everything) == 1000 and abs(sum(r["score"] for r in everything) - 1) < 1e-6
    assert len(set(classifier.labels)) > 990  # a few WordNet first names repeat (e.g. "CRANE"), as in resnet-50


# ------------------------------------------------------------------------------------- inputs
def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


@pytest.mark.parametrize("data", [
    b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + bytes(100),
    IMAGES["coffee"].read_bytes()[:2000],  # truncated PNG
    _png_header_only(40_000, 40_000),  # 1.6 G pixels declared: refused before decoding
], ids=["empty", "text", "png-garbage", "truncated", "bomb"])
def test_undecodable_bytes_raise_value_error(classifier, data):
    with pytest.raises(ValueError, match="the image could not be decoded"):
        classifier.classify(data)


def test_cmyk_jpeg(classifier):
    cmyk = Image.open(IMAGES["coffee"]).convert("CMYK")
    data = _encode(cmyk, "JPEG", quality=92)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert classifier.classify(data)[0]["label"] == "ESPRESSO"


def test_animated_gif_uses_the_first_frame(classifier):
    first = Image.open(IMAGES["coffee"]).convert("RGB")
    second = Image.new("RGB", first.size, (0, 90, 200))
    data = _encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 2
    assert classifier.classify(data)[0]["label"] == "ESPRESSO"


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "I;16", "1"])
def test_other_modes_classify(classifier, mode):
    img = Image.open(IMAGES["cat"]).convert("RGB")
    if mode == "I;16":
        img = Image.fromarray(np.asarray(img.convert("L"), np.uint16) * 257)  # a 16-bit grey PNG
    else:
        img = img.convert(mode)
    if mode in ("RGBA", "LA"):
        img.putalpha(200)
    result = classifier.classify(_encode(img, "PNG"))
    assert len(result) == 5 and result[0]["score"] > 0


def test_large_jpeg_and_exif_rotation(classifier):
    img = Image.open(IMAGES["coffee"]).convert("RGB").resize((2400, 1600), Image.Resampling.BICUBIC)
    assert classifier.classify(_encode(img, "JPEG", quality=90))[0]["label"] == "ESPRESSO"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: stored on its side, "rotate 90° clockwise to display"
    data = _encode(img.rotate(90, expand=True), "JPEG", quality=90, exif=exif)
    upright = decode_image(data)
    assert upright.mode == "RGB" and upright.width > upright.height  # turned back, and decoded at reduced scale
    assert 2 * 256 <= min(upright.size) < 1600
    assert classifier.classify(data)[0]["label"] == "ESPRESSO"

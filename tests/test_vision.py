"""The vision tab: raw bytes on the wire, readable labels, and a sentence for every bad image."""

import asyncio
import inspect
import io

import gradio as gr
import pytest
from PIL import Image

from components.core import vision as vision_core
from components.core.backend import default_model
from components.tabs import vision
from tests.conftest import ASSETS
from components.workers_ai import VISION
from tests.fake_workers_ai import Fault

RESNET = "@cf/microsoft/resnet-50"


def classify(path, model=RESNET):
    return asyncio.run(vision.classify(str(path), model))


def test_original_file_goes_as_raw_bytes(client, fake):
    labels = classify(ASSETS / "cat-chelsea.png")
    request = fake.requests[-1]
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.body == (ASSETS / "cat-chelsea.png").read_bytes()
    assert request.model == RESNET
    assert 1 <= len(labels) <= 5
    assert list(labels.values()) == sorted(labels.values(), reverse=True)
    assert all(not name.isupper() for name in labels), "labels are made readable"


@pytest.mark.parametrize(
    ("raw", "readable"),
    [("TABBY", "Tabby"), ("TIGER CAT", "Tiger cat"), ("tabby, tabby cat", "Tabby"), ("Egyptian cat", "Egyptian cat")],
)
def test_readable_labels(raw, readable):
    assert vision_core.readable_label(raw) == readable


def _save(tmp_path, name, image, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


def test_cmyk_huge_and_animated_images_are_re_encoded(client, fake, tmp_path):
    cmyk = _save(tmp_path, "cmyk.jpg", Image.new("CMYK", (64, 64), (0, 255, 255, 0)))
    huge = _save(tmp_path, "huge.png", Image.new("RGB", (5000, 300), (10, 200, 30)))
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100, loop=0)
    for path in (cmyk, huge, gif):
        assert classify(path)
        sent = Image.open(io.BytesIO(fake.requests[-1].body))
        assert sent.format == "JPEG" and sent.mode == "RGB" and max(sent.size) <= vision_core.MAX_SIDE


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "empty"), (b"hello, I am text", "not an image"), (None, "not an image")],
)
def test_unreadable_images_get_a_sentence_and_send_nothing(client, fake, tmp_path, content, expected):
    path = tmp_path / "bad.png"
    if content is None:  # a real PNG cut in half
        content = (ASSETS / "coffee-cup.png").read_bytes()[:2000]
    path.write_bytes(content)
    with pytest.raises(gr.Error, match=expected):
        classify(path)
    assert fake.count() == 0


def test_no_image(client):
    with pytest.raises(gr.Error, match="picture first"):
        asyncio.run(vision.classify(None, RESNET))


def test_upstream_error_is_a_sentence(client, fake):
    fake.fail(Fault.error(400, 5006, "AiError: Bad input: image could not be decoded"))
    with pytest.raises(gr.Error, match="rejected the input"):
        classify(ASSETS / "coffee-cup.png")


def test_a_model_left_out_is_the_live_backends_default(client, fake):
    """The default is chosen when the call is made, not while the module imports (API and MCP callers get it from
    the dropdown's value, which render sets)."""
    assert inspect.signature(vision.classify).parameters["model"].default == ""
    assert asyncio.run(vision.classify(str(ASSETS / "cat-chelsea.png")))
    assert fake.requests[-1].model == default_model(VISION) == RESNET

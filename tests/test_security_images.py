"""Hostile pictures: a decompression bomb, an oversized file, lying headers, many frames, a path never uploaded.

Every check is made before a pixel is decoded, after the budget has admitted the call, and off the event loop:
another visitor is answered normally while a bomb is refused in well under a second, at no memory cost.
"""

import asyncio
import io
import json
import os
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import httpx
import pytest
from PIL import Image, ImageFile, JpegImagePlugin

import app
from components.core import vision as vision_core
from components.tabs import vision
from tests.conftest import ASSETS, report
from tests.fake_workers_ai import Fault

RESNET = "@cf/microsoft/resnet-50"
# Pillow warns as it reads a bomb's header (above ~89 megapixels); the app refuses it right after.
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


def png_of_zeros(width: int, height: int) -> bytes:
    """A greyscale PNG of zeros, written without ever holding its pixels: 30000×30000 is ~870 KB on disk and
    900 MB once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows, block = height, 100
    deflate = zlib.compressobj(9)
    idat = b"".join(deflate.compress(b"\x00" * (width + 1) * min(block, rows - i)) for i in range(0, rows, block))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat + deflate.flush())
            + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    """`bombs(side)`: the path of a side×side bomb, made once per module."""
    folder, made = tmp_path_factory.mktemp("bombs"), {}

    def bomb(side: int) -> str:
        if side not in made:
            made[side] = folder / f"bomb-{side}.png"
            made[side].write_bytes(png_of_zeros(side, side))
        return str(made[side])

    return bomb


@pytest.fixture
def no_decoding(monkeypatch):
    """Any attempt to decode a picture fails (and is listed here): reading a header stays allowed."""
    calls = []

    def forbidden(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a picture was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", forbidden)
    return calls


def classify(path):
    return asyncio.run(vision.classify(str(path), RESNET))


# ── through the launched app, over HTTP ────────────────────────────────────────────────────────────


def file_data(path) -> dict:
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def upload(http: httpx.Client, path) -> dict:
    with open(path, "rb") as file:
        answer = http.post("gradio_api/upload", files={"files": (os.path.basename(path), file, "image/png")})
    answer.raise_for_status()
    return file_data(answer.json()[0])


def call_classify(http: httpx.Client, image: dict) -> tuple[str, object]:
    """('complete', the labels) or ('error', the message), through Gradio's queue like any API caller."""
    posted = http.post("gradio_api/call/classify", json={"data": [image, RESNET]})
    posted.raise_for_status()
    events = http.get(f"gradio_api/call/classify/{posted.json()['event_id']}").text
    kind = data = None
    for line in events.splitlines():
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: ") and kind in ("complete", "error"):
            data = json.loads(line.removeprefix("data: "))
    if kind == "complete":
        return kind, data[0]  # the one output: {"label", "confidences"}
    return kind, data.get("error") if isinstance(data, dict) else data


class PeakRss:
    """The most this process's resident memory grew while the block ran (sampled every 2 ms)."""

    def __enter__(self):
        self.base = self.peak = self._now()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 2**20

    @staticmethod
    def _now() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self):
        while not self._done.wait(0.002):
            self.peak = max(self.peak, self._now())


@pytest.mark.parametrize("side", [30_000, 13_000], ids=["900-MP bomb (Pillow's own limit)", "169-MP bomb (ours)"])
def test_a_bomb_is_refused_at_once_while_another_visitor_is_answered(served, fake, bombs, side):
    bomb = bombs(side)
    fake.fail(Fault.hang(1.5))  # the other visitor's request is still at Workers AI while the bomb arrives
    with httpx.Client(base_url=served, timeout=30) as visitor, httpx.Client(base_url=served, timeout=30) as attacker:
        cat = upload(visitor, ASSETS / "cat-chelsea.png")
        with ThreadPoolExecutor(1) as pool:
            other = pool.submit(call_classify, visitor, cat)
            deadline = time.monotonic() + 10
            while not fake.in_flight and time.monotonic() < deadline:
                time.sleep(0.005)
            with PeakRss() as rss:
                start = time.perf_counter()
                kind, message = call_classify(attacker, upload(attacker, bomb))
                refused_in = time.perf_counter() - start
            still_waiting = not other.done()
            other_kind, labels = other.result(timeout=30)
    report(f"{side}×{side} bomb ({os.path.getsize(bomb) // 1024} KB) refused over HTTP in {refused_in * 1000:.0f} ms, "
           f"RSS +{rss.growth_mb:.0f} MB")
    assert kind == "error" and "up to 50 megapixels" in message, message
    assert refused_in < 1.0, f"the bomb took {refused_in:.2f} s to refuse"
    assert rss.growth_mb < 50, f"memory grew by {rss.growth_mb:.0f} MB: something decoded the bomb"
    assert still_waiting, "the bomb was refused while the other visitor's request was still running"
    assert other_kind == "complete" and labels["confidences"], labels
    assert fake.count() == 1 and fake.requests[-1].body == (ASSETS / "cat-chelsea.png").read_bytes(), \
        "only the other visitor's picture reached Workers AI"


def test_a_server_path_that_was_never_uploaded_is_refused(served, fake):
    """Gradio checks every path an API caller names against its uploads before our code sees it; taking the
    path undecoded (vision.ImageInput) keeps that check."""
    with httpx.Client(base_url=served, timeout=30) as http:
        kind, message = call_classify(http, file_data(ASSETS / "cat-chelsea.png"))
    assert kind == "error", message  # Gradio's InvalidPathError: the page shows a generic error
    assert fake.count() == 0


def test_the_examples_still_classify(served, fake):
    """An example is a cached file, not an upload: it passes Gradio's check and reaches the classifier."""
    config = httpx.get(served + "config").json()
    samples = [c["props"]["samples"] for c in config["components"] if c.get("type") == "dataset"
               and c["props"].get("samples") and "cat-chelsea" in json.dumps(c["props"]["samples"])]
    example = next(sample[0] for sample in samples[0] if "cat-chelsea" in json.dumps(sample))
    with httpx.Client(base_url=served, timeout=30) as http:
        kind, labels = call_classify(http, file_data(example["path"]))
    assert kind == "complete" and labels["confidences"], labels
    assert fake.requests[-1].body == (ASSETS / "cat-chelsea.png").read_bytes()


def test_an_upload_over_gradios_limit_is_refused_with_a_clear_error(served):
    """The page refuses such a file before sending it (Gradio's config carries the limit); the API answers 413."""
    assert httpx.get(served + "config").json()["max_file_size"] == app.MAX_UPLOAD_BYTES >= vision_core.MAX_FILE_BYTES
    size, block = app.MAX_UPLOAD_BYTES + 1, b"\x00" * 2**20

    def body():
        yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="huge.png"\r\n' \
              b"Content-Type: image/png\r\n\r\n"
        for start in range(0, size, len(block)):
            yield block[: min(len(block), size - start)]
        yield b"\r\n--b--\r\n"

    answer = httpx.post(served + "gradio_api/upload", content=body(), timeout=60,
                        headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert answer.status_code == 413
    assert f"maximum allowed size of {app.MAX_UPLOAD_BYTES} bytes" in answer.text


# ── the function itself ────────────────────────────────────────────────────────────────────────────


def test_the_budget_is_checked_before_any_decoding(client, fake, budget, bombs, monkeypatch):
    budget(total=0.1)  # less than one classification
    opened = []
    monkeypatch.setattr(vision_core.Image, "open", lambda *args, **kwargs: opened.append(args))
    with pytest.raises(gr.Error, match="daily budget"):
        classify(bombs(13_000))
    assert opened == [] and fake.count() == 0


def test_a_bomb_is_refused_from_its_header_and_costs_nothing(client, fake, budget, bombs, no_decoding):
    ledger = budget(total=1000)
    start = time.perf_counter()
    with pytest.raises(gr.Error, match=r"this one is 13000×13000 pixels \(169 megapixels\)"):
        classify(bombs(13_000))
    assert time.perf_counter() - start < 1.0
    assert no_decoding == [] and fake.count() == 0
    assert ledger.snapshot().total == 0, "a refused picture is not charged"


def test_a_file_over_the_byte_limit_gets_a_sentence_and_is_not_opened(client, fake, tmp_path, monkeypatch):
    path = tmp_path / "huge.jpg"
    with open(path, "wb") as file:
        file.truncate(vision_core.MAX_FILE_BYTES + 1)  # sparse: no disk used
    monkeypatch.setattr(vision_core.Image, "open", lambda *args, **kwargs: pytest.fail("the file was opened"))
    with pytest.raises(gr.Error, match=r"This file is 20.0 MB; pictures of up to 20 MB are accepted here"):
        classify(path)
    assert fake.count() == 0
    limits = f"at most {vision_core.MAX_FILE_BYTES // 2**20} MB and {vision_core.MAX_PIXELS // 10**6} megapixels"
    assert limits in " ".join(vision.classify.__doc__.split()), "the API and MCP docs state the limits"


def test_a_gif_whose_first_frame_outgrows_its_screen_is_measured_by_the_frame(client, fake, tmp_path, monkeypatch,
                                                                               no_decoding):
    monkeypatch.setattr(vision_core, "MAX_PIXELS", 10_000)
    path = tmp_path / "liar.gif"
    Image.new("P", (200, 200)).save(path)
    data = bytearray(path.read_bytes())
    data[6:10] = struct.pack("<HH", 10, 10)  # the logical screen claims 10×10
    path.write_bytes(bytes(data))
    with pytest.raises(gr.Error, match="200×200 pixels"):
        classify(path)
    assert no_decoding == [] and fake.count() == 0


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP", "TIFF"])
def test_only_the_first_of_many_frames_is_decoded(client, fake, tmp_path, fmt):
    """An animation or a multi-page file costs what its first frame costs: the rest are never decoded."""
    first, rest = Image.new("RGB", (64, 64), (255, 0, 0)), Image.new("RGB", (64, 64), (0, 0, 255))
    path = tmp_path / f"frames.{fmt.lower()}"
    first.save(path, fmt, save_all=True, append_images=[rest] * 300)
    assert classify(path)
    sent = Image.open(io.BytesIO(fake.requests[-1].body))
    assert sent.format == "JPEG" and sent.convert("RGB").getpixel((32, 32))[0] > 200, "the first frame was sent"


def test_formats_whose_header_may_lie_are_not_opened(client, fake, tmp_path):
    path = tmp_path / "icon.ico"
    Image.new("RGB", (64, 64), "red").save(path, "ICO")
    with pytest.raises(gr.Error, match="not an image that can be read here"):
        classify(path)
    assert fake.count() == 0


def test_a_large_phone_photo_is_decoded_at_reduced_scale(client, fake, tmp_path, monkeypatch):
    """A 48-megapixel JPEG is within the limits: decoded at 1/2 scale (JPEG's draft mode) and sent downscaled."""
    path = tmp_path / "phone.jpg"
    Image.linear_gradient("L").resize((8000, 6000)).convert("RGB").save(path, quality=90)
    drafted, draft = [], JpegImagePlugin.JpegImageFile.draft
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft",
                        lambda image, *args: (draft(image, *args), drafted.append(image.size))[0])
    start = time.perf_counter()
    assert classify(path)
    report(f"48-megapixel JPEG ({path.stat().st_size // 1024} KB) classified in {time.perf_counter() - start:.2f} s")
    sent = Image.open(io.BytesIO(fake.requests[-1].body))
    assert drafted[0] == (4000, 3000), "decoded at half scale"
    assert sent.format == "JPEG" and max(sent.size) == vision_core.MAX_SIDE

"""What a model answered, as something to show: text, an image, audio, labels, boxes, vectors, or JSON.

Workers AI answers in three ways: a JSON envelope whose `result` is the output, a raw binary body (a PNG from
stable-diffusion-xl-lightning, an MP3 from aura-2) known by its content type, or JSON carrying a file as a base64
string (flux's `image`, melotts' `audio`) known by the model's output schema. `shown` turns any of them into one
`Shown`, the same for the page, the API and MCP.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError

from ...workers_ai import ProtocolError, sniff  # what a file is: the client's one reading of it

TEXT, IMAGE, AUDIO, LABELS, BOXES, VECTORS, JSON, FILE = (
    "text", "image", "audio", "labels", "boxes", "vectors", "json", "file")
MAX_DECODED_BYTES = 25 * 1024 * 1024  # a base64 field decoded from an answer
# The text a model's JSON answer carries, by the field names Workers AI uses, most specific first.
_TEXT_FIELDS = ("response", "translated_text", "description", "summary", "text", "output")
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp",
              "audio/mpeg": ".mp3", "audio/wav": ".wav", "audio/ogg": ".ogg", "audio/flac": ".flac",
              "application/octet-stream": ".bin"}


@dataclass
class Shown:
    """One answer, ready to show. `value` is the JSON form of everything (what the API returns besides files)."""

    kind: str
    text: str = ""
    data: bytes | None = None
    mime: str = ""
    labels: dict[str, float] = field(default_factory=dict)
    boxes: list[tuple[tuple[int, int, int, int], str]] = field(default_factory=list)
    value: Any = None
    summary: str = ""  # one line on what came back: "PNG image, 1024×1024, 1.2 MB", "3 vectors of 384 dimensions"

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.mime, ".bin")


def shown(result: Any = None, data: bytes | None = None, content_type: str = "", output_schema: dict | None = None
          ) -> Shown:
    """What to show for an answer: `data` (a binary body with its `content_type`) or `result` (the JSON result)."""
    if data is not None:
        return _file(data, content_type)
    if isinstance(result, list):
        if result and all(isinstance(i, dict) and "label" in i and "score" in i for i in result):
            return _boxes(result) if any(isinstance(i.get("box"), dict) for i in result) else _labels(result)
        return Shown(JSON, value=result, summary=f"a list of {len(result)}")
    if isinstance(result, dict):
        encoded = _base64_field(result, output_schema)
        if encoded is not None:
            name, decoded = encoded
            found = _file(decoded, "")
            found.value = {**result, name: f"<{found.summary}>"}
            return found
        if isinstance(result.get("data"), list) and isinstance(result.get("shape"), list):
            return _vectors(result)
        for name in _TEXT_FIELDS:
            if isinstance(result.get(name), str):
                return Shown(TEXT, text=result[name], value=result, summary=f"{len(result[name]):,} characters")
        return Shown(JSON, value=result, summary="JSON")
    if isinstance(result, str):
        return Shown(TEXT, text=result, value=result, summary=f"{len(result):,} characters")
    return Shown(JSON, value=result, summary="JSON")


def _file(data: bytes, content_type: str) -> Shown:
    mime = sniff(data, content_type)
    kind = IMAGE if mime.startswith("image/") else AUDIO if mime.startswith("audio/") else FILE
    if kind == FILE and mime in ("application/json", "text/plain"):
        try:
            text = data.decode("utf-8")
            return shown(json.loads(text)) if mime == "application/json" else Shown(TEXT, text=text, value=text)
        except ValueError:
            pass
    summary = f"{_format_name(mime)}, {_size(len(data))}"
    if kind == IMAGE:
        summary = _image_summary(data, mime) or summary
    return Shown(kind, data=data, mime=mime, value={"content_type": mime, "bytes": len(data)}, summary=summary)


def _base64_field(result: dict, schema: dict | None) -> tuple[str, bytes] | None:
    """The (name, bytes) of a file carried as base64 in `result`: the field the output schema describes as one,
    or, without a schema, a long string field that decodes to a known file type."""
    properties = schema.get("properties") if isinstance(schema, dict) and isinstance(schema.get("properties"),
                                                                                        dict) else {}
    named = [name for name, spec in properties.items() if isinstance(spec, dict) and _says_base64(spec)]
    candidates = named or [name for name, value in result.items() if isinstance(value, str) and len(value) > 200]
    for name in candidates:
        value = result.get(name)
        if not isinstance(value, str) or not value:
            continue
        if value.startswith("data:") and "," in value:
            value = value.split(",", 1)[1]
        if len(value) * 3 // 4 > MAX_DECODED_BYTES:
            raise ProtocolError("The model answered with a file larger than this demo shows: try a smaller size.")
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if named or sniff(decoded) != "application/octet-stream":
            return name, decoded
    return None


def _says_base64(spec: dict) -> bool:
    text = f"{spec.get('description', '')} {spec.get('contentEncoding', '')}".lower()
    return spec.get("type") == "string" and ("base64" in text or spec.get("format") == "binary")


def _labels(items: list[dict]) -> Shown:
    labels: dict[str, float] = {}
    for item in items:
        if isinstance(item.get("score"), (int, float)):
            name = str(item["label"])
            labels[name] = max(labels.get(name, 0.0), float(item["score"]))
    best = dict(sorted(labels.items(), key=lambda kv: kv[1], reverse=True))
    return Shown(LABELS, labels=best, value=items, summary=f"{len(best)} labels")


_CORNERS = ("xmin", "ymin", "xmax", "ymax")  # a detected object's box, as DETR gives it


def _boxes(items: list[dict]) -> Shown:
    boxes = []
    for item in items:
        box = item.get("box")
        if isinstance(box, dict) and all(isinstance(box.get(k), (int, float)) for k in _CORNERS):
            score = item.get("score") if isinstance(item.get("score"), (int, float)) else 0.0
            boxes.append((tuple(int(box[k]) for k in _CORNERS), f"{item['label']} {score:.0%}"))
    return Shown(BOXES, boxes=boxes, labels=_labels(items).labels, value=items, summary=f"{len(boxes)} objects")


def _vectors(result: dict) -> Shown:
    shape, data = result.get("shape"), result.get("data")
    rows = len(data)
    dims = len(data[0]) if rows and isinstance(data[0], list) else (shape[1] if len(shape) > 1 else 0)
    first = data[0][:5] if rows and isinstance(data[0], list) else []
    preview = ", ".join(f"{v:.4f}" for v in first if isinstance(v, (int, float)))
    summary = f"{rows} vector{'s' if rows != 1 else ''} of {dims} dimensions"
    text = f"{summary}; the first begins [{preview}, …]" if preview else summary
    value = {k: v for k, v in result.items() if k != "data"} | {"data": f"<{summary}>"}
    return Shown(VECTORS, text=text, value=value, summary=summary)


def _image_summary(data: bytes, mime: str) -> str:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return f"{_format_name(mime)} image, {image.width}×{image.height}, {_size(len(data))}"
    except (UnidentifiedImageError, OSError, ValueError):
        return ""


def _format_name(mime: str) -> str:
    sub = mime.split("/")[-1].upper()
    return {"MPEG": "MP3", "JPEG": "JPEG", "OCTET-STREAM": "Binary"}.get(sub, sub)


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"

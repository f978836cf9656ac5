"""The Playground's schema reading, body building and answer recognition, without a page or a server.

The schemas are Cloudflare's published ones for these models, trimmed (tests/data/playground_schemas.json).
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from components.core.errors import InputProblem
from components.core.playground import form as f
from components.core.playground.form import example_of, form_of
from components.core.playground.outputs import AUDIO, BOXES, IMAGE, JSON, LABELS, TEXT, VECTORS, shown, sniff
from components.core.playground.payload import body_from_form, body_from_json, check
from tests.conftest import ASSETS

SCHEMAS = json.loads((Path(__file__).parent / "data" / "playground_schemas.json").read_text())


def schema(model: str) -> dict:
    return SCHEMAS[model]["input"]


def test_prompt_and_messages_are_two_variants_the_prompt_first():
    form = form_of(schema("@cf/meta/llama-3.1-8b-instruct-fast"), "Text Generation")
    assert [v.title for v in form.variants] == ["Prompt", "Messages"]
    prompt, messages = form.variants
    assert prompt.fields[0].name == "prompt" and prompt.fields[0].kind == f.LONG_TEXT and prompt.fields[0].required
    assert prompt.fields[0].max_length == 131072
    kinds = {x.name: x.kind for x in prompt.fields}
    assert kinds["temperature"] == f.NUMBER and kinds["max_tokens"] == f.INTEGER and kinds["raw"] == f.BOOLEAN
    assert kinds["image"] == f.IMAGE and next(x for x in prompt.fields if x.name == "image").encoding == f.BYTES
    assert "stream" not in kinds and form.streams  # streaming follows the model, never a checkbox
    assert prompt.fields[-1].kind == f.BOOLEAN  # switches last
    temperature = next(x for x in prompt.fields if x.name == "temperature")
    assert (temperature.minimum, temperature.maximum, temperature.default) == (0, 5, 0.6)
    assert "0 to 5" in temperature.hint() and "Default 0.6" in temperature.hint()
    assert messages.fields[0].kind == f.MESSAGES
    assert messages.hidden == ("tools",)  # a form cannot show tools: JSON can


def test_a_bare_binary_body_is_an_upload_variant():
    form = form_of(schema("@cf/microsoft/resnet-50"), "Image Classification")
    raw = next(v for v in form.variants if v.raw_body is not None)
    assert raw.raw_body.kind == f.IMAGE and raw.raw_body.encoding == f.RAW
    array = next(v for v in form.variants if v.raw_body is None)
    assert array.fields[0].kind == f.IMAGE and array.fields[0].encoding == f.BYTES


def test_enums_string_or_list_and_base64_fields():
    aura = form_of(schema("@cf/deepgram/aura-2-en")).variants[0]
    speaker = next(x for x in aura.fields if x.name == "speaker")
    assert speaker.kind == f.CHOICE and "luna" in speaker.choices and speaker.default == "luna"
    assert aura.fields[0].name == "text"  # the text first, though the schema lists the speaker first
    bge = form_of(schema("@cf/baai/bge-small-en-v1.5")).variants[0]
    assert bge.fields[0].name == "text" and bge.fields[0].kind in (f.TEXT, f.LONG_TEXT)  # the simplest alternative
    sdxl = form_of(schema("@cf/bytedance/stable-diffusion-xl-lightning")).variants[0]
    b64 = next(x for x in sdxl.fields if x.name == "image_b64")
    assert b64.kind == f.IMAGE and b64.encoding == f.BASE64


def test_a_schema_the_form_cannot_express_falls_back_to_json():
    form = form_of(schema("@cf/example/tools-only"))
    assert not form.usable and "JSON" in form.note
    assert form_of(None).note == f.NO_SCHEMA and not form_of({}).variants
    assert example_of(None, "Translation")["target_lang"] == "fr"


def test_the_body_keeps_what_the_visitor_chose_and_checks_it():
    flux = form_of(schema("@cf/black-forest-labs/flux-1-schnell")).variants[0]
    assert body_from_form(flux, {"prompt": "a cat", "steps": 4}) == {"prompt": "a cat", "steps": 4}
    with pytest.raises(InputProblem, match="Steps is at most 8; you gave 12"):
        body_from_form(flux, {"prompt": "a cat", "steps": 12})
    with pytest.raises(InputProblem, match="Prompt is 3,000 characters long; at most 2,048"):
        body_from_form(flux, {"prompt": "x" * 3000})
    with pytest.raises(InputProblem, match="Prompt is required"):
        body_from_form(flux, {"prompt": "  "})
    with pytest.raises(InputProblem, match="whole number"):
        body_from_form(flux, {"prompt": "a cat", "steps": 2.5})
    llama = form_of(schema("@cf/meta/llama-3.1-8b-instruct-fast")).variants[0]
    body = body_from_form(llama, {"prompt": "hi", "temperature": 0.6, "max_tokens": 100, "raw": False})
    assert body == {"prompt": "hi", "max_tokens": 100}  # defaults and blanks left out


def test_files_are_encoded_as_the_schema_asks(tmp_path):
    picture = ASSETS / "cat-chelsea.png"
    resnet = form_of(schema("@cf/microsoft/resnet-50"), "Image Classification")
    raw = next(v for v in resnet.variants if v.raw_body is not None)
    assert body_from_form(raw, {"file": str(picture)}) == picture.read_bytes()
    array = next(v for v in resnet.variants if v.raw_body is None)
    assert body_from_form(array, {"image": str(picture)})["image"][:8] == list(picture.read_bytes()[:8])
    sdxl = form_of(schema("@cf/bytedance/stable-diffusion-xl-lightning")).variants[0]
    encoded = body_from_form(sdxl, {"prompt": "a cat", "image_b64": str(picture)})["image_b64"]
    assert base64.b64decode(encoded) == picture.read_bytes()
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InputProblem, match="empty"):
        body_from_form(raw, {"file": str(empty)})


def test_bad_json_and_wrong_types_get_a_sentence():
    with pytest.raises(InputProblem, match="not valid JSON"):
        body_from_json('{"prompt": ')
    with pytest.raises(InputProblem, match="JSON object"):
        body_from_json("[1, 2]")
    m2m = form_of(schema("@cf/meta/m2m100-1.2b")).variants[0]
    with pytest.raises(InputProblem, match="Text must be a string, not a number"):
        check({"text": 5, "target_lang": "fr"}, m2m.schema)
    with pytest.raises(InputProblem, match="Target lang is required"):
        check({"text": "hello"}, m2m.schema)
    aura = form_of(schema("@cf/deepgram/aura-2-en")).variants[0]
    with pytest.raises(InputProblem, match="Speaker must be one of: asteria, luna"):
        check({"text": "hi", "speaker": "nobody"}, aura.schema)
    flux = form_of(schema("@cf/black-forest-labs/flux-1-schnell")).variants[0]
    with pytest.raises(InputProblem, match="no field named 'width'"):
        check({"prompt": "a cat", "width": 512}, flux.schema)


def _png(width=64, height=32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(out, format="PNG")
    return out.getvalue()


def test_answers_are_recognised_by_what_they_are():
    png = _png()
    picture = shown(data=png, content_type="image/png")
    assert picture.kind == IMAGE and picture.mime == "image/png" and "64×32" in picture.summary
    flux = shown({"image": base64.b64encode(png).decode()}, output_schema=SCHEMAS[
        "@cf/black-forest-labs/flux-1-schnell"]["output"])
    assert flux.kind == IMAGE and flux.data == png and flux.value["image"].startswith("<PNG image")
    mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(400)
    assert shown(data=mp3, content_type="application/octet-stream").kind == AUDIO
    assert sniff(b"\xff\xfb\x90\x64" + bytes(10)) == "audio/mpeg"
    assert shown({"translated_text": "Bonjour"}).text == "Bonjour"
    labels = shown([{"label": "TABBY", "score": 0.6}, {"label": "TIGER CAT", "score": 0.3}])
    assert labels.kind == LABELS and list(labels.labels) == ["TABBY", "TIGER CAT"]
    boxes = shown([{"label": "cat", "score": 0.9, "box": {"xmin": 1, "ymin": 2, "xmax": 30, "ymax": 20}}])
    assert boxes.kind == BOXES and boxes.boxes == [((1, 2, 30, 20), "cat 90%")]
    vectors = shown({"shape": [2, 384], "data": [[0.1] * 384, [0.2] * 384]})
    assert vectors.kind == VECTORS and vectors.summary == "2 vectors of 384 dimensions"
    assert shown({"anything": 1}).kind == JSON and shown("plain").kind == TEXT


def test_an_optional_number_left_blank_is_not_sent():
    """A number without a default is a text box on the page: blank leaves it to the model, text is refused."""
    llama = form_of(schema("@cf/meta/llama-3.1-8b-instruct-fast")).variants[0]
    assert body_from_form(llama, {"prompt": "hi", "seed": ""}) == {"prompt": "hi"}
    assert body_from_form(llama, {"prompt": "hi", "seed": "42"}) == {"prompt": "hi", "seed": 42}
    with pytest.raises(InputProblem, match="Seed is at least 1; you gave 0"):
        body_from_form(llama, {"prompt": "hi", "seed": "0"})
    with pytest.raises(InputProblem, match="Seed must be a number"):
        body_from_form(llama, {"prompt": "hi", "seed": "many"})


def test_nan_and_infinity_are_not_json():
    for text in ('{"prompt": "x", "temperature": NaN}', '{"prompt": "x", "max_tokens": Infinity}'):
        with pytest.raises(InputProblem, match="not valid JSON"):
            body_from_json(text)


def test_json_nested_deeper_than_any_model_takes_is_refused():
    deep = '{"prompt": "x", "extra": ' + "[" * 500 + "]" * 500 + "}"
    with pytest.raises(InputProblem, match="more than 32 levels deep"):
        body_from_json(deep)
    messages = form_of(schema("@cf/meta/llama-3.1-8b-instruct-fast")).variants[1]
    with pytest.raises(InputProblem, match="Messages nests JSON more than 32 levels deep"):
        body_from_form(messages, {"messages": "[" * 100 + "]" * 100})

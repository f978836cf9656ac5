"""The fake Workers AI server speaks the contract (docs/workers-ai-contract.md), checked with raw httpx."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile

from tests.fake_workers_ai import FakeWorkersAI, Fault

ASSETS = Path(__file__).resolve().parent.parent / "assets"
LLAMA = "@cf/meta/llama-3.1-8b-instruct-fast"
GLM = "@cf/zai-org/glm-4.7-flash"
TASK_NAMES = {"Text Generation", "Text Embeddings", "Automatic Speech Recognition", "Image Classification",
              "Text-to-Image", "Text-to-Speech", "Translation", "Object Detection", "Image-to-Text"}


@pytest.fixture
def http(fake):
    """A plain httpx client rooted at the account, with the right token."""
    with httpx.Client(base_url=f"{fake.base_url}/accounts/{fake.account_id}",
                      headers={"Authorization": f"Bearer {fake.token}"}, timeout=10) as client:
        yield client


def run(http, model, **body):
    return http.post(f"/ai/run/{model}", json=body)


def sse_data(text: str) -> list[str]:
    """The `data:` payloads of an SSE body, one per event (events end at a blank line)."""
    events = text.replace("\r\n", "\n").split("\n\n")
    return ["\n".join(line[6:] for line in e.split("\n") if line.startswith("data: ")) for e in events if e]


def stream(http, model, **body) -> tuple[httpx.Response, list[bytes]]:
    with http.stream("POST", f"/ai/run/{model}", json={**body, "stream": True}) as response:
        return response, list(response.iter_raw())


def errors(response) -> list[dict]:
    payload = response.json()
    assert payload["success"] is False and payload["result"] == {} and payload["messages"] == []
    return payload["errors"]


def test_success_envelope_usage_and_request_id(fake, http):
    response = run(http, LLAMA, messages=[{"role": "user", "content": "say hi to me"}], max_tokens=4)
    payload = response.json()
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert payload["success"] is True and payload["errors"] == [] and payload["messages"] == []
    assert payload["result"] == {"response": "Hello! I am", "tool_calls": [],
                                 "usage": {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}}
    recorded = fake.requests[-1]
    assert (recorded.model, recorded.json["max_tokens"]) == (LLAMA, 4)
    assert response.headers["cf-ai-req-id"] == recorded.req_id
    assert fake.count() == fake.count(LLAMA) == 1


@pytest.mark.parametrize("header, status, code", [
    (None, 401, 10000),
    ("Bearer wrong-token", 401, 10000),
    ("Bearer  {token}", 400, 6003),
    ("Bearer Bearer {token}", 400, 6003),
])
def test_authorization_header(fake, header, status, code):
    headers = {} if header is None else {"Authorization": header.format(token=fake.token)}
    response = httpx.post(f"{fake.base_url}/accounts/{fake.account_id}/ai/run/{LLAMA}", json={"prompt": "x"},
                          headers=headers)
    assert response.status_code == status and errors(response)[0]["code"] == code
    if code == 6003:
        assert errors(response)[0]["error_chain"] == [{"code": 6111,
                                                       "message": "Invalid format for Authorization header"}]


def test_wrong_account_and_unknown_path(fake, http):
    response = http.post(f"{fake.base_url}/accounts/not-my-account/ai/run/{LLAMA}", json={"prompt": "x"})
    assert response.status_code == 404 and errors(response)[0]["code"] == 7003
    assert "Could not route to /client/v4/accounts/not-my-account/ai/run/" in errors(response)[0]["message"]
    response = http.get(f"{fake.base_url}/nowhere")
    assert response.status_code == 404 and errors(response)[0] == {"code": 7000, "message": "No route for that URI"}


@pytest.mark.parametrize("model, body, status, code", [
    ("@cf/meta/llama-3.1-8b-instruct", {"prompt": "x", "stream": True}, 400, 5028),
    ("@cf/mistral/mistral-7b-instruct-v0.1", {"prompt": "x"}, 400, 5028),
    ("@cf/moonshotai/kimi-k2.5", {"messages": [{"role": "user", "content": "x"}]}, 403, 5035),
    ("@cf/nobody/no-such-model", {"prompt": "x"}, 400, 5007),
    ("meta/llama", {"prompt": "x"}, 404, 3042),
    (GLM, {"prompt": "x"}, 400, 5006),
    (LLAMA, {"prompt": "x", "temperature": 7}, 400, 5006),
    (LLAMA, {"max_tokens": 5}, 400, 5006),
])
def test_model_errors_are_json_envelopes(http, model, body, status, code):
    response = run(http, model, **body)
    assert response.status_code == status and response.headers["content-type"] == "application/json"
    assert errors(response)[0]["code"] == code


@pytest.mark.parametrize("chunking, line_ending", [
    ("event", "\n"), ("bytewise", "\n"), ("coalesced", "\r\n"), ("split", "\r\n")])
def test_classic_stream_ends_with_usage_and_done(fake, http, chunking, line_ending):
    fake.chunking, fake.line_ending = chunking, line_ending
    fake.stream_tokens = ["Caf", "é", " ☕", " naïve", " 🙂", "!"] * 2
    response, pieces = stream(http, LLAMA, prompt="hello there")
    assert response.headers["content-type"] == "text/event-stream" and "success" not in pieces[0].decode("latin-1")
    datas = sse_data(b"".join(pieces).decode())
    events = [json.loads(d) for d in datas[:-1]]
    assert datas[-1] == "[DONE]"
    assert "".join(e["response"] for e in events) == "".join(fake.stream_tokens)
    assert events[-1] == {"response": "", "usage": {"prompt_tokens": 2, "completion_tokens": 12, "total_tokens": 14}}
    assert all(len(e["p"]) <= 20 for e in events[:-1])
    expected_pieces = {"event": len(datas), "coalesced": 1}.get(chunking)
    assert expected_pieces is None or len(pieces) == expected_pieces
    if chunking == "split":
        assert b"da" in pieces and any(p.endswith(b"\r") for p in pieces)
        with pytest.raises(UnicodeDecodeError):  # some piece ends inside a multi-byte character
            [p.decode() for p in pieces]


def test_chat_completions_shape_and_doubled_stream_fields(fake, http):
    message = run(http, GLM, messages=[{"role": "user", "content": "hi"}]).json()["result"]
    assert message["object"] == "chat.completion" and message["choices"][0]["finish_reason"] == "stop"
    assert message["choices"][0]["message"] == {"role": "assistant", "content": "".join(fake.stream_tokens)}
    _, pieces = stream(http, GLM, messages=[{"role": "user", "content": "hi"}])
    datas = sse_data(b"".join(pieces).decode())
    events = [json.loads(d) for d in datas[:-1]]
    assert all(e["choices"][0]["delta"]["content"] == e["response"] for e in events[:-1])
    assert [e["response"] for e in events[:-1]] == fake.stream_tokens
    assert "usage" in events[-1] and datas[-1] == "[DONE]"


def test_catalogue_pages_with_a_capped_page_size(http):
    page, names, total = 1, [], None
    while total is None or len(names) < total:
        payload = http.get("/ai/models/search", params={"per_page": 50, "page": page}).json()
        info = payload["result_info"]
        assert payload["success"] and info["per_page"] == 3 and info["count"] == len(payload["result"]) <= 3
        total = info["total_count"]
        names += [item["name"] for item in payload["result"]]
        assert {item["task"]["name"] for item in payload["result"]} <= TASK_NAMES
        page += 1
    assert len(set(names)) == total and LLAMA in names
    found = http.get("/ai/models/search", params={"search": "llama-3.1-8b-instruct", "task": "Text Generation"})
    deprecated = next(i for i in found.json()["result"] if i["name"] == "@cf/meta/llama-3.1-8b-instruct")
    assert {"property_id": "planned_deprecation_date", "value": "2026-05-30"} in deprecated["properties"]


def test_catalogue_items_carry_their_price_as_cloudflare_words_it(http):
    def item(name):
        found = http.get("/ai/models/search", params={"search": name.split("/")[-1]}).json()["result"]
        return next(i for i in found if i["name"] == name)

    def price(name):
        return [p["value"] for p in item(name)["properties"] if p["property_id"] == "price"]

    assert price("@cf/deepgram/aura-2-en") == [[{"unit": "per 1k characters", "price": 0.03, "currency": "USD"}]]
    assert price("@cf/bytedance/stable-diffusion-xl-lightning") == [[{"unit": "per step", "price": 0,
                                                                      "currency": "USD"}]]
    assert price(LLAMA) == [[{"unit": "per M input tokens", "price": 0.045, "currency": "USD"},
                             {"unit": "per M output tokens", "price": 0.384, "currency": "USD"}]]
    assert price("@cf/facebook/detr-resnet-50") == [] and price("@cf/openai/whisper-tiny-en") == []


def test_resnet_classifies_raw_bytes_and_int_lists(http):
    cat = (ASSETS / "cat-chelsea.png").read_bytes()
    response = http.post("/ai/run/@cf/microsoft/resnet-50", content=cat,
                         headers={"Content-Type": "application/octet-stream"})
    labels = response.json()["result"]
    scores = [item["score"] for item in labels]
    assert len(labels) == 5 and scores == sorted(scores, reverse=True) and sum(scores) <= 1
    assert {"TABBY", "TIGER CAT", "EGYPTIAN CAT"} <= {item["label"] for item in labels}
    coffee = list((ASSETS / "coffee-cup.png").read_bytes())
    assert run(http, "@cf/microsoft/resnet-50", image=coffee).json()["result"][0]["label"] == "ESPRESSO"
    broken = http.post("/ai/run/@cf/microsoft/resnet-50", content=b"not an image")
    assert broken.status_code == 400 and "could not be decoded" in errors(broken)[0]["message"]


def test_whisper_takes_raw_audio_and_rejects_base64(fake, http):
    audio = (ASSETS / "speech-weather.wav").read_bytes()
    fake.transcripts[hashlib.sha256(audio).hexdigest()] = "tomorrow will be sunny"
    result = http.post("/ai/run/@cf/openai/whisper", content=audio).json()["result"]
    assert result["text"] == "tomorrow will be sunny" and result["word_count"] == 4
    starts = [w["start"] for w in result["words"]]
    assert starts == sorted(starts) and all(w["end"] > w["start"] for w in result["words"])
    assert result["vtt"].startswith("WEBVTT\n\n00.") and "-->" in result["vtt"]  # minutes missing, as observed
    response = run(http, "@cf/openai/whisper", audio=base64.b64encode(audio).decode())
    assert errors(response)[0] == {"code": 5006, "message": "AiError: Bad input: Error: Type mismatch of "
                                                            "'/audio', 'string' not in 'array','binary'"}
    silence = io.BytesIO()
    soundfile.write(silence, np.zeros(8000), 16000, format="WAV")
    assert run(http, "@cf/openai/whisper-tiny-en", audio=list(silence.getvalue())).json()["result"]["text"] == ""


def test_whisper_turbo_takes_base64_json_only(fake, http):
    audio = (ASSETS / "speech-fox.wav").read_bytes()
    result = run(http, "@cf/openai/whisper-large-v3-turbo", audio=base64.b64encode(audio).decode(),
                 task="translate", language="en").json()["result"]
    assert result["text"] == "the quick brown fox jumps over the lazy dog" and result["word_count"] == 9
    assert [len(s["words"]) for s in result["segments"]] == [8, 1]
    assert result["transcription_info"]["language"] == "en" and 3.5 < result["transcription_info"]["duration"] < 4
    assert fake.requests[-1].json["task"] == "translate"
    raw = http.post("/ai/run/@cf/openai/whisper-large-v3-turbo", content=audio)
    assert raw.status_code == 400 and errors(raw)[0]["code"] == 5006


def test_embeddings_shape_and_similarity(http):
    result = run(http, "@cf/baai/bge-base-en-v1.5", text=["a cat on a mat", "the cat sat on the mat",
                                                           "quarterly revenue fell"]).json()["result"]
    vectors = np.array(result["data"])
    assert result["shape"] == [3, 768] and vectors.shape == (3, 768) and result["pooling"] == "mean"
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    for texts in ([], ["x"] * 101):
        response = run(http, "@cf/baai/bge-small-en-v1.5", text=texts)
        assert response.status_code == 400 and errors(response)[0]["code"] == 5006
    assert "too many items" in errors(response)[0]["message"]


def test_a_queued_fault_is_consumed_once_by_its_model(fake, http):
    fake.fail(Fault.error(429, 3040, "Capacity temporarily exceeded", retry_after=2), model=LLAMA)
    assert run(http, GLM, messages=[{"role": "user", "content": "x"}]).status_code == 200
    busy = run(http, LLAMA, prompt="x")
    assert busy.status_code == 429 and busy.headers["retry-after"] == "2" and errors(busy)[0]["code"] == 3040
    assert run(http, LLAMA, prompt="x").status_code == 200
    fake.fail(Fault.raw(502, "<html>Bad gateway</html>"), Fault.envelope_false())
    assert run(http, LLAMA, prompt="x").text == "<html>Bad gateway</html>"
    assert run(http, LLAMA, prompt="x").json()["success"] is False
    fake.fail(Fault.raw(502, "<html>Bad gateway</html>"), model="catalogue")
    assert run(http, LLAMA, prompt="x").status_code == 200
    assert http.get("/ai/models/search").status_code == 502
    assert fake.count(LLAMA) == 5


def test_stream_faults(fake, http):
    fake.fail(Fault.cut_stream(after_events=3))
    run(http, LLAMA, prompt="not a stream, so the stream fault waits")
    with pytest.raises(httpx.RemoteProtocolError), http.stream(
            "POST", f"/ai/run/{LLAMA}", json={"prompt": "x", "stream": True}) as response:
        received = []
        for piece in response.iter_raw():
            received.append(piece)
    assert len(sse_data(b"".join(received).decode())) == 3
    fake.fail(Fault.no_done(), Fault.malformed_sse(), Fault.stream_error_event())
    assert sse_data(b"".join(stream(http, LLAMA, prompt="x")[1]).decode())[-1] != "[DONE]"
    malformed = sse_data(b"".join(stream(http, LLAMA, prompt="x")[1]).decode())
    assert malformed[1] == '{"response": "x"' and malformed[-1] == "[DONE]"
    failing = sse_data(b"".join(stream(http, LLAMA, prompt="x")[1]).decode())
    assert len(failing) == 3 and json.loads(failing[-1])["errors"][0]["code"] == 3040
    fake.fail(Fault.reset_connection())
    with pytest.raises(httpx.TransportError):
        run(http, LLAMA, prompt="x")
    assert run(http, LLAMA, prompt="x").status_code == 200


def test_oversized_body_and_gateway_route(fake, http):
    fake.max_body_bytes = 1000
    response = http.post("/ai/run/@cf/openai/whisper", content=b"\0" * 2000)
    assert response.status_code == 413 and errors(response)[0]["code"] == 3006
    fake.gateway_token = "gw-secret"
    url = f"{fake.gateway_url}/{fake.account_id}/my-gateway/workers-ai/{LLAMA}"
    assert http.post(url, json={"prompt": "x"}).json()["errors"][0]["code"] == 2009
    response = http.post(url, json={"prompt": "x"}, headers={"cf-aig-authorization": "Bearer gw-secret"})
    assert response.json()["success"] and fake.requests[-1].gateway_id == "my-gateway"


def post_or_error(*args, **kwargs) -> httpx.Response | httpx.HTTPError:
    try:
        return httpx.post(*args, **kwargs)
    except httpx.HTTPError as error:
        return error


def test_a_hang_blocks_neither_other_requests_nor_close():
    with FakeWorkersAI(token="t") as fake:
        fake.fail(Fault.hang(30), Fault.hang(30), model=LLAMA)
        url, headers = f"{fake.base_url}/accounts/{fake.account_id}/ai/run/", {"Authorization": "Bearer t"}
        outcome = []
        hanging = threading.Thread(target=lambda: outcome.append(
            post_or_error(url + LLAMA, json={"prompt": "x"}, headers=headers, timeout=30)))
        hanging.start()
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(url + LLAMA, json={"prompt": "x"}, headers=headers, timeout=0.3)
        chat = httpx.post(url + GLM, json={"messages": [{"role": "user", "content": "x"}]}, headers=headers)
        assert chat.status_code == 200
        started = time.monotonic()
    assert time.monotonic() - started < 1.5
    hanging.join(2)
    assert isinstance(outcome[0], httpx.RemoteProtocolError)  # closed without answering

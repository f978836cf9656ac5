"""The served offline engine (`python -m components.local --token …`) driven by the official `openai` and `cloudflare`
SDKs, as a developer would (issue 16): chat, streamed chat, embeddings and the model list on the OpenAI-compatible
routes, the same answers as /ai/run, and the README's examples run as written. Errors: test_local_openai_errors.py."""

import base64
import json
import re
import subprocess

import cloudflare
import httpx
import numpy as np
import openai
import pytest

from components.local import MODELS
from components.workers_ai import CHAT, EMBEDDINGS, SPEECH, VISION
from tests.conftest import ROOT, served_engine

TOKEN = "dev-token-openai"
SMOL = "@local/smollm2-135m-instruct"
MINI = "@local/all-minilm-l6-v2"
QUESTION = [{"role": "system", "content": "You are a helpful assistant. Answer in one short sentence."},
            {"role": "user", "content": "What is the capital of France?"}]
GREEDY = {"max_tokens": 24, "temperature": 0, "seed": 1}


@pytest.fixture(scope="module")
def port():
    with served_engine(TOKEN) as port:
        yield port


@pytest.fixture(scope="module")
def oai(port):
    with openai.OpenAI(base_url=f"http://127.0.0.1:{port}/client/v4/accounts/local/ai/v1", api_key=TOKEN,
                       max_retries=0, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def cf(port):
    with cloudflare.Cloudflare(api_token=TOKEN, base_url=f"http://127.0.0.1:{port}/client/v4", max_retries=0,
                               timeout=120) as client:
        yield client


def test_chat_completion_is_openais_shape_and_the_same_answer_as_ai_run(oai, cf):
    reply = oai.chat.completions.create(model=SMOL, messages=QUESTION, **GREEDY)
    assert isinstance(reply, openai.types.chat.ChatCompletion)
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-") and reply.model == SMOL
    [choice] = reply.choices
    assert choice.index == 0 and choice.message.role == "assistant" and choice.finish_reason in ("stop", "length")
    assert "Paris" in choice.message.content
    usage = reply.usage
    assert usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 24
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    classic = cf.ai.run(SMOL, account_id="local", messages=QUESTION, **GREEDY)
    assert classic["response"] == choice.message.content, "one model, one code path: the same greedy answer"
    assert classic["usage"] == usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"})


def test_streamed_chat_is_openais_chunks_ending_with_usage_then_done(oai):
    whole = oai.chat.completions.create(model=SMOL, messages=QUESTION, **GREEDY)
    chunks = list(oai.chat.completions.create(model=SMOL, messages=QUESTION, stream=True,
                                              stream_options={"include_usage": True}, **GREEDY))
    assert all(c.object == "chat.completion.chunk" and c.model == SMOL for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    first, *tokens, finish, usage = chunks
    assert first.choices[0].delta.role == "assistant" and not first.choices[0].delta.content
    assert len(tokens) >= 3 and all(c.choices[0].delta.content and c.choices[0].finish_reason is None for c in tokens)
    assert "".join(c.choices[0].delta.content for c in tokens) == whole.choices[0].message.content
    assert finish.choices[0].finish_reason == whole.choices[0].finish_reason and not finish.choices[0].delta.content
    assert usage.choices == [] and usage.usage.model_dump() == whole.usage.model_dump()
    assert all(c.usage is None for c in chunks[:-1])


def test_a_stream_without_include_usage_has_no_usage_chunk_and_ends_with_done(port):
    body = {"model": SMOL, "messages": QUESTION, "stream": True, **GREEDY}
    with httpx.stream("POST", f"http://127.0.0.1:{port}/client/v4/accounts/local/ai/v1/chat/completions",
                      headers={"authorization": f"Bearer {TOKEN}"}, json=body, timeout=120) as raw:
        assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("data: ") for line in raw.read().decode().split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all("usage" not in chunk and len(chunk["choices"]) == 1 for chunk in chunks)
    assert [chunk["choices"][0]["finish_reason"] for chunk in chunks].count(None) == len(chunks) - 1


@pytest.mark.parametrize("stream", [False, True])
def test_a_reply_cut_by_max_tokens_finishes_with_length(oai, stream):
    story = [{"role": "user", "content": "Write a long story about a dragon who bakes bread."}]
    if stream:
        chunks = list(oai.chat.completions.create(model=SMOL, messages=story, max_tokens=3, stream=True,
                                                  stream_options={"include_usage": True}))
        reason, usage = chunks[-2].choices[0].finish_reason, chunks[-1].usage
    else:
        reply = oai.chat.completions.create(model=SMOL, messages=story, max_completion_tokens=3)
        reason, usage = reply.choices[0].finish_reason, reply.usage
    assert reason == "length" and usage.completion_tokens == 3


def test_openai_message_forms_are_read_as_workers_ai_messages(oai):
    """A developer role (newer SDKs) is the system prompt; content given as text parts is the same text."""
    parts = [{"role": "developer", "content": QUESTION[0]["content"]},
             {"role": "user", "content": [{"type": "text", "text": "What is the capital "},
                                          {"type": "text", "text": "of France?"}]}]
    reply = oai.chat.completions.create(model=SMOL, messages=parts, **GREEDY)
    assert reply.choices[0].message.content == oai.chat.completions.create(
        model=SMOL, messages=QUESTION, **GREEDY).choices[0].message.content


def test_embeddings_float_and_base64_are_the_vectors_ai_run_gives(oai, cf):
    texts = ["A cat sits on the mat.", "A kitten rests on a rug.", "A cat sits on the mat."]
    default = oai.embeddings.create(model=MINI, input=texts)  # the SDK asks for base64 and decodes it
    floats = oai.embeddings.create(model=MINI, input=texts, encoding_format="float")
    classic = cf.ai.run(MINI, account_id="local", text=texts)
    assert classic["shape"] == [3, 384]
    for response in (default, floats):
        assert response.object == "list" and response.model == MINI
        assert [item.index for item in response.data] == [0, 1, 2]
        assert np.allclose([item.embedding for item in response.data], classic["data"], atol=1e-7)
        assert response.usage.prompt_tokens == response.usage.total_tokens > 3 * 2  # [CLS] … [SEP] each
    assert np.isclose(np.dot(floats.data[0].embedding, floats.data[1].embedding), np.dot(*classic["data"][:2]))


def test_embeddings_of_one_string_in_raw_base64(port):
    response = httpx.post(f"http://127.0.0.1:{port}/client/v4/accounts/local/ai/v1/embeddings",
                          headers={"authorization": f"Bearer {TOKEN}"},
                          json={"model": MINI, "input": "one sentence", "encoding_format": "base64"}, timeout=60)
    [item] = response.json()["data"]
    vector = np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4")
    assert vector.shape == (384,) and np.isclose(np.linalg.norm(vector), 1, atol=1e-5)


def test_the_model_lists_of_both_sdks_name_every_local_model(oai, cf):
    listed = oai.models.list().data
    assert [m.id for m in listed] == list(MODELS) and {m.object for m in listed} == {"model"}
    assert {m.owned_by for m in listed} == {"local"} and all(m.created > 0 for m in listed)
    assert oai.models.retrieve(MINI).id == MINI
    catalogue = {m["name"]: m["task"]["name"] for m in cf.ai.models.list(account_id="local")}
    assert catalogue == {SMOL: CHAT, "@local/whisper-tiny-en": SPEECH, "@local/efficientnet-lite0": VISION,
                         MINI: EMBEDDINGS}


def test_the_cloudflare_sdk_reads_each_models_schema(cf):
    for name in MODELS:
        schema = cf.ai.models.schema.get(account_id="local", model=name).to_dict()
        assert set(schema) == {"input", "output"} and schema["input"] and schema["output"]


# ── the README's examples, as written ─────────────────────────────────────────────────────────────

SECTION = (ROOT / "README.md").read_text(encoding="utf-8").split("#### A local Workers AI endpoint", 1)[1].split("\n#", 1)[0]
PYTHON = re.findall(r"```python\n(.*?)```", SECTION, re.S)
CURL = [code for code in re.findall(r"```bash\n(.*?)```", SECTION, re.S) if "curl" in code]


def as_served(code: str, port: int) -> str:
    """The example pointed at this test's engine: its port, and its token where the README says "any"."""
    code = code.replace("http://127.0.0.1:8788", f"http://127.0.0.1:{port}")
    return re.sub(r'(api_key|api_token)="any"', rf'\1="{TOKEN}"', code).replace("Bearer any", f"Bearer {TOKEN}")


def test_the_section_shows_both_sdks_and_both_routes():
    assert len(PYTHON) == 2 and "from openai import" in PYTHON[0] and "from cloudflare import" in PYTHON[1]
    assert len(CURL) == 1 and "/ai/run/" in CURL[0] and "/ai/v1/chat/completions" in CURL[0]


@pytest.mark.parametrize("code", PYTHON, ids=["openai", "cloudflare"])
def test_readme_sdk_example_runs(code, port, capsys):
    exec(compile(as_served(code, port), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    if "from openai" in code:
        assert "\n2 384\n" in printed and str(list(MODELS)) in printed
    else:
        assert "[2, 384]" in printed and "'maximum': 8192" in printed and "('@local/whisper-tiny-en'" in printed


def test_readme_curl_example_streams_both_shapes(port):
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", as_served(CURL[0], port)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    events = [line.removeprefix("data: ") for line in run.stdout.split("\n\n") if line.strip()]
    assert events.count("[DONE]") == 2, "two streams, each closed"
    shapes = [json.loads(event) for event in events if event != "[DONE]"]
    assert any("response" in event for event in shapes)  # Workers AI's events
    assert any(event.get("object") == "chat.completion.chunk" for event in shapes)  # OpenAI's

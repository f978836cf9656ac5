"""The "How it works" panels: the exact requests an answer sent, never the token, with retries and refusals."""

import asyncio
import json

import gradio as gr
import pytest

from components.tabs import embeddings, speech, vision
from components.ui import how_it_works
from components.core.usage import session_key
from components.workers_ai._trace import recent
from tests.conftest import ACCOUNT_ID, ASSETS, TOKEN, collect
from tests.fake_workers_ai import Fault


def page(session: str) -> gr.Request:
    return gr.Request(headers={}, client={"host": "127.0.0.1", "port": 1}, session_hash=session)


def shown(session: str, action: str) -> str:
    return how_it_works.describe_trace(recent((session_key(page(session)), action)))


def test_an_image_is_shown_as_raw_bytes_with_the_account_and_token_as_placeholders(client, fake):
    asyncio.run(vision.classify(str(ASSETS / "cat-chelsea.png"), "@cf/microsoft/resnet-50", request=page("v1")))
    text = shown("v1", "classify")
    size = (ASSETS / "cat-chelsea.png").stat().st_size
    assert "1 request to Workers AI" in text
    assert f"POST {fake.base_url}/accounts/{{account_id}}/ai/run/@cf/microsoft/resnet-50" in text
    assert "Authorization: Bearer $CLOUDFLARE_API_TOKEN" in text
    assert "Content-Type: application/octet-stream" in text
    assert f"Content-Length: {size}" in text and f"{size:,} bytes of binary data" in text
    assert "→ HTTP 200, application/json" in text
    assert TOKEN not in text and ACCOUNT_ID not in text


def test_json_bodies_are_shown_with_long_values_shortened(client, fake):
    sentences = "\n".join(f"Sentence number {i} about the weather." for i in range(30))
    asyncio.run(embeddings.similarity(sentences, "@cf/baai/bge-small-en-v1.5", request=page("e1")))
    text = shown("e1", "similarity")
    assert "Content-Type: application/json" in text
    assert '"Sentence number 0 about the weather."' in text
    assert "… 24 more" in text, "30 texts: the first six are listed, the rest counted"


def test_base64_audio_reads_as_one_shortened_line(client, fake):
    wav = ASSETS / "speech-fox.wav"
    asyncio.run(speech.transcribe(str(wav), "@cf/openai/whisper-large-v3-turbo", request=page("s1")))
    text = shown("s1", "transcribe")
    assert '"audio": "' in text and "characters in all)" in text
    assert len(text) < 3_000, "the 220 KB base64 body is not pasted into the page"


def test_what_is_kept_of_a_request_is_bounded_whatever_was_sent(client, fake):
    """The record itself, not only the page, holds a shortened body: 2,000 kept captures stay a few MB."""
    from components.workers_ai import recent

    wav = ASSETS / "speech-fox.wav"
    asyncio.run(speech.transcribe(str(wav), "@cf/openai/whisper-large-v3-turbo", request=page("s2")))
    kept = recent(("s2", "transcribe"))
    assert kept and all(len(json.dumps(entry.body_json)) < 1_000 for entry in kept)


def test_a_retried_request_shows_both_attempts(client, fake):
    fake.fail(Fault.error(429, 3040, "Capacity temporarily exceeded"))
    asyncio.run(vision.classify(str(ASSETS / "coffee-cup.png"), "@cf/microsoft/resnet-50", request=page("v2")))
    text = shown("v2", "classify")
    assert "2 requests to Workers AI" in text
    assert "→ HTTP 429" in text and "→ HTTP 200" in text


def test_a_connection_failure_says_there_was_no_answer(client, fake):
    fake.fail(*[Fault.reset_connection()] * 3)
    with pytest.raises(gr.Error):
        asyncio.run(vision.classify(str(ASSETS / "coffee-cup.png"), "@cf/microsoft/resnet-50", request=page("v3")))
    assert "→ no answer after" in shown("v3", "classify")


def test_a_refused_call_shows_that_nothing_was_sent(client, fake, budget):
    budget(per_visitor=0.000001)
    with pytest.raises(gr.Error):
        asyncio.run(vision.classify(str(ASSETS / "coffee-cup.png"), "@cf/microsoft/resnet-50", request=page("v4")))
    assert "nothing was sent" in shown("v4", "classify")
    assert not fake.requests


def test_sessions_see_only_their_own_requests(client, fake):
    asyncio.run(vision.classify(str(ASSETS / "cat-chelsea.png"), "@cf/microsoft/resnet-50", request=page("mine")))
    assert "Nothing sent yet" in shown("someone-else", "classify")


def test_a_prompt_cannot_break_out_of_the_code_block():
    entry = how_it_works.SentRequest("POST", "https://x/run/m", "application/json", 10,
                                     {"messages": [{"role": "user", "content": "``` <script>alert(1)</script>"}]})
    trace = how_it_works.Trace()
    trace.append(entry)
    text = how_it_works.describe_trace(trace)
    assert "````http" in text, "the fence is longer than any run of backticks inside"


def test_every_tab_has_its_explainer():
    assert set(how_it_works.EXPLAINERS) == {"chat", "classify", "transcribe", "embeddings", "documents", "playground"}


def test_the_chat_panel_shows_the_whole_answer_judge_included(client, fake):
    from components.tabs import chat, chat_routing
    from tests.routing_fixtures import COMPLEX_PROMPT, EDGE_MODEL, SEVENTY_B

    fake.stream_tokens, fake.token_delay = [f"w{i} " for i in range(40)], 0.01  # the reply grows in many steps
    outputs = collect(chat.respond("Hello", [], EDGE_MODEL, "", 64, 0.6, chat_routing.SINGLE_MODEL,
                             request=page("c1")))
    assert len(outputs) >= 6
    for index, (_, line, panel) in enumerate(outputs):
        line_changed = index == 0 or line != outputs[index - 1][1] or index == len(outputs) - 1
        assert isinstance(panel, str) == line_changed, "the panel goes with a new statistics line, not per token"
    single = outputs[-1][2]
    assert single == shown("c1", chat.PAGE_ANSWER)
    assert "1 request to Workers AI" in single and '"stream": true' in single
    assert "→ HTTP 200, a stream of server-sent events" in single

    outputs = collect(chat.respond(COMPLEX_PROMPT, [], EDGE_MODEL, "", 64, 0.6, chat_routing.AUTO_ROUTE,
                             request=page("c1")))
    routed = outputs[-1][2]
    assert "/ai/run/@cf/baai/bge-small-en-v1.5" in routed, "the judge's embedding request comes first"
    assert f"/ai/run/{SEVENTY_B}" in routed, "then the escalated answer"


@pytest.mark.parametrize(("field", "value"), [("max_tokens", "lots"), ("max_tokens", 100_000), ("temperature", 9),
                                               ("temperature", None)])
def test_api_numbers_out_of_range_get_a_sentence(api, fake, field, value):
    from gradio_client.exceptions import AppError

    arguments = {"message": "Hello", "max_tokens": 64, "temperature": 0.5, field: value}
    with pytest.raises(AppError, match=r"must be a number between"):
        api.predict(**arguments, api_name="/chat")
    assert not fake.requests, "nothing is sent"


def test_only_the_account_segment_is_masked_not_a_model_id_that_contains_it():
    """Offline the account id is "local", and the models are "@local/…": only the path segment is hidden."""
    import httpx

    from components.workers_ai import _trace

    with _trace.capture(("unit", "mask")) as trace:
        _trace.record(httpx.Request("POST", "http://offline.invalid/client/v4/accounts/local/ai/run/@local/m"), "local")
    assert trace[0].url == "http://offline.invalid/client/v4/accounts/{account_id}/ai/run/@local/m"

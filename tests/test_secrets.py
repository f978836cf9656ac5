"""Secret scan: with a recognisable token configured, it never appears in the page, /config, /gradio_api/info,
the logs, error messages or downloaded files — even when the upstream echoes it back. The same for the Anthropic
key that Auto-route escalates with."""

import logging

import httpx
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from tests.conftest import ASSETS, TOKEN
from tests.fake_anthropic import AnthropicFault
from tests.fake_workers_ai import Fault
from tests.routing_fixtures import *  # noqa: F403 (the fake Anthropic API and its fixtures)
from tests.routing_fixtures import ANTHROPIC_KEY, COMPLEX_PROMPT


def test_the_token_never_leaks(api, served, fake, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # the most talkative the app and its libraries can be
    seen = [httpx.get(served + path).text for path in ("", "config", "gradio_api/info")]

    seen.append(api.predict("Hello", api_name="/chat"))
    text, vtt, srt, _player = api.predict(handle_file(str(ASSETS / "speech-fox.wav")), api_name="/transcribe")
    seen += [text, open(vtt, encoding="utf-8").read(), open(srt, encoding="utf-8").read()]
    seen.append(str(api.predict(handle_file(str(ASSETS / "cat-chelsea.png")), api_name="/classify")))

    # An upstream that echoes the token in its error message: the client scrubs it before anyone sees it.
    fake.fail(Fault.error(400, 5006, f"AiError: Bad input: header was Bearer {TOKEN}"))
    with pytest.raises(AppError) as caught:
        api.predict("Hello", api_name="/chat")
    seen.append(str(caught.value))
    assert "[redacted]" in str(caught.value)
    fake.fail(Fault.error(401, 10000, "Authentication error"))
    with pytest.raises(AppError) as caught:
        api.predict("Hello", api_name="/chat")
    seen.append(str(caught.value))

    out, err = capfd.readouterr()
    seen += [caplog.text, out, err]
    leaks = [chunk[:200] for chunk in seen if TOKEN in chunk]
    assert not leaks, leaks
    assert any("Bearer" in r.headers.get("authorization", "") for r in fake.requests), "the token was sent upstream"


def test_the_anthropic_key_never_leaks(api, served, fake, anthropic, fake_anthropic, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    seen = [httpx.get(served + path).text for path in ("", "config", "gradio_api/info")]
    seen.append(str(api.predict(COMPLEX_PROMPT, api_name="/chat_routed")))
    # An upstream that echoes the key: the client scrubs it before the fallback note shows the reason.
    fake_anthropic.fail(AnthropicFault.error(400, "invalid_request_error", f"x-api-key {ANTHROPIC_KEY} is odd"))
    reply, route = api.predict(COMPLEX_PROMPT, api_name="/chat_routed")
    seen.append(str(route))
    assert route["route"] == "fallback" and "[redacted]" in route["note"]
    fake_anthropic.fail(AnthropicFault.error(401, "authentication_error", "invalid x-api-key"))
    seen.append(str(api.predict(COMPLEX_PROMPT, api_name="/chat_routed")))
    out, err = capfd.readouterr()
    seen += [caplog.text, out, err]
    leaks = [chunk[:200] for chunk in seen if ANTHROPIC_KEY in chunk]
    assert not leaks, leaks
    assert fake_anthropic.requests[0].headers["x-api-key"] == ANTHROPIC_KEY, "the key was sent upstream"

"""Auto-route through the launched app: the public /chat_routed endpoint, /chat unchanged, the API description
(the Anthropic key scan is in test_secrets.py)."""

import httpx

from tests.fake_anthropic import AnthropicFault
from tests.routing_fixtures import *  # noqa: F403
from tests.routing_fixtures import COMPLEX_PROMPT, SEVENTY_B, SIMPLE_PROMPT

FAKE_REPLY = "Hello! I am your friendly assistant — happy to help 🙂."


def test_chat_routed_returns_the_reply_and_the_route(api, fake):
    reply, route = api.predict(SIMPLE_PROMPT, api_name="/chat_routed")
    assert reply == FAKE_REPLY
    assert route["route"] == "edge" and route["verdict"] == "simple" and 0 <= route["score"] < 0.5
    assert route["cost_usd"] > 0 and route["baseline_model"] == SEVENTY_B
    reply, route = api.predict(COMPLEX_PROMPT, max_tokens=64, api_name="/chat_routed")
    assert route["route"] == "escalated" and route["model"] == SEVENTY_B and route["judge"].startswith("embedding")
    assert fake.requests[-1].model == SEVENTY_B and fake.requests[-1].json["max_tokens"] == 64


def test_chat_routed_sends_the_history_it_is_given_and_keeps_none(api, fake):
    history = [{"role": "user", "content": "My name is Ada."}, {"role": "assistant", "content": "Hello, Ada!"}]
    api.predict(SIMPLE_PROMPT, history=history, api_name="/chat_routed")
    assert fake.requests[-1].json["messages"][1:] == [*history, {"role": "user", "content": SIMPLE_PROMPT}]
    api.predict(SIMPLE_PROMPT, api_name="/chat_routed")
    assert fake.requests[-1].json["messages"][1:] == [{"role": "user", "content": SIMPLE_PROMPT}]


def test_chat_routed_escalates_to_anthropic_and_falls_back(api, fake, anthropic, fake_anthropic):
    reply, route = api.predict(COMPLEX_PROMPT, api_name="/chat_routed")
    assert reply == "".join(fake_anthropic.tokens) and route["model"] == "claude-sonnet-4-5"
    fake_anthropic.fail(*[AnthropicFault.error(529, "overloaded_error", "Overloaded")] * 3)
    reply, route = api.predict(COMPLEX_PROMPT, api_name="/chat_routed")
    assert reply == FAKE_REPLY and route["route"] == "fallback" and "overloaded" in route["note"]


def test_chat_is_unchanged_and_routing_is_described_for_api_and_mcp(api, served, fake):
    assert api.predict(message="Hello", model="@cf/zai-org/glm-4.7-flash", system_prompt="", max_tokens=32,
                       temperature=0.2, api_name="/chat") == FAKE_REPLY
    assert [r.model for r in fake.requests] == ["@cf/zai-org/glm-4.7-flash"], "plain /chat never judges"
    info = httpx.get(served + "gradio_api/info").json()["named_endpoints"]
    routed = info["/chat_routed"]
    assert [p["parameter_name"] for p in routed["parameters"]] == [
        "message", "model", "system_prompt", "max_tokens", "temperature", "history"]
    from components.tabs.chat_routing import chat_routed

    args = chat_routed.__doc__.split("Args:")[1].split("Returns:")[0]
    assert all(f"{name}:" in args for name in ("message", "model", "system_prompt", "max_tokens", "temperature",
                                                "history")), "each API parameter is described for MCP"
    assert [p["parameter_name"] for p in info["/chat"]["parameters"]] == [
        "message", "model", "system_prompt", "max_tokens", "temperature", "history"]


def test_the_route_mode_control_is_on_the_page(served):
    config = httpx.get(served + "config").json()
    radios = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "route-mode"]
    assert radios and radios[0]["props"]["choices"] == [["Single model", "Single model"], ["Auto-route", "Auto-route"]]

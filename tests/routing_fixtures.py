"""Fixtures for the Auto-route tests: a fake Anthropic API on loopback, wired in through the environment.

Import them into a test module with `from tests.routing_fixtures import *  # noqa: F403`.
"""

from __future__ import annotations

import pytest

from tests.conftest import collect
from tests.fake_anthropic import FakeAnthropic

ANTHROPIC_KEY = "sk-ant-api03-TEST-SECRET-5e4d3c2b1a"
ANTHROPIC_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL", "ROUTING_ESCALATION_MODEL")
SEVENTY_B = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
EDGE_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast"
EMBED_MODEL = "@cf/baai/bge-small-en-v1.5"
SIMPLE_PROMPT = "What is the capital of Australia?"
COMPLEX_PROMPT = "Prove that there are infinitely many prime numbers, and explain each step of the argument."


@pytest.fixture(autouse=True)
def no_anthropic_env(monkeypatch):
    """Never the developer's own key: tests set the Anthropic environment explicitly."""
    from components.core.routing import use_anthropic

    for name in ANTHROPIC_ENV:
        monkeypatch.delenv(name, raising=False)
    use_anthropic(None)
    yield
    use_anthropic(None)


@pytest.fixture(autouse=True)
def fresh_judge():
    """Each test starts with a judge that has not embedded its examples yet (it keeps them per model)."""
    from components.core.routing import router

    router._default_judge = None
    yield
    router._default_judge = None


@pytest.fixture(scope="session")
def fake_anthropic_server():
    with FakeAnthropic(api_key=ANTHROPIC_KEY) as server:
        yield server


@pytest.fixture
def fake_anthropic(fake_anthropic_server):
    fake_anthropic_server.reset()
    yield fake_anthropic_server
    fake_anthropic_server.reset()


@pytest.fixture
def anthropic(fake_anthropic, monkeypatch):
    """ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL point at the fake; the client's retries do not sleep but record
    how long they would have."""
    from components.core.routing import Anthropic, AnthropicSettings, use_anthropic

    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    slept: list[float] = []

    async def no_sleep(seconds):
        slept.append(seconds)

    instance = Anthropic(AnthropicSettings.from_env(), sleep=no_sleep)
    instance.slept = slept
    use_anthropic(instance)
    yield instance
    use_anthropic(None)


def route(message, history=None, model="", system_prompt="", max_tokens=256, temperature=0.6, **kwargs):
    """Run one routed answer to the end: (final reply, final RouteInfo, every (reply, info) seen)."""
    from components.core.routing import routed_answer

    outputs = collect(routed_answer(message, history or [], model, system_prompt, max_tokens, temperature,
                                    **kwargs))
    reply, info = outputs[-1]
    assert info.finished
    return reply, info, outputs


__all__ = ["ANTHROPIC_KEY", "COMPLEX_PROMPT", "EDGE_MODEL", "EMBED_MODEL", "SEVENTY_B", "SIMPLE_PROMPT",
           "anthropic", "fake_anthropic", "fake_anthropic_server", "fresh_judge", "no_anthropic_env", "route"]

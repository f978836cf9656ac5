"""A fake of Anthropic's Messages API (`POST /v1/messages`, streaming and not), as a real HTTP server on loopback.

    with FakeAnthropic(api_key="sk-ant-test") as fake:
        fake.fail(AnthropicFault.error(529, "overloaded_error", "Overloaded"))
        ...  # point ANTHROPIC_BASE_URL at fake.base_url
"""

from .server import AnthropicFault, FakeAnthropic

__all__ = ["AnthropicFault", "FakeAnthropic"]

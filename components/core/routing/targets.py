"""Where a hard question goes: a large Workers AI model, or Anthropic's Messages API when ANTHROPIC_API_KEY is set.

- With ANTHROPIC_API_KEY: Claude (ANTHROPIC_MODEL, default claude-sonnet-4-5), priced in dollars from
  anthropic_prices.json, and metered in neurons at Workers AI's rate ($0.011 per 1,000), so that one budget bounds
  both providers.
- Otherwise, on Workers AI: ROUTING_ESCALATION_MODEL, default @cf/meta/llama-3.3-70b-instruct-fp8-fast, priced in
  neurons like every Workers AI call (and metered against the budgets like one). A value that is not a model id
  is logged once and the default is used instead.
- Offline (no Cloudflare account): none. The offline engine has no stronger model, and the offline mode promises
  that nothing leaves the machine, so a complex question gets an "escalation unavailable offline" message.

The environment is read at each call (it is a dictionary lookup), so tests and a restarted app see changes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from .. import settings
from ..backend import is_offline
from ...workers_ai import USD_PER_NEURON, Estimate, InvalidModelIdError, check_model_id, estimate, short_name
from ...anthropic import Anthropic, AnthropicSettings, price_usd

WORKERS_AI, ANTHROPIC = "workers-ai", "anthropic"
DEFAULT_ESCALATION_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"

log = logging.getLogger("routing")


@dataclass(frozen=True)
class Target:
    """A model that answers escalated questions."""

    provider: str  # WORKERS_AI or ANTHROPIC
    model: str

    @property
    def label(self) -> str:
        """'llama-3.3-70b-instruct-fp8-fast', 'claude-sonnet-4-5 (Anthropic)'."""
        return f"{self.model} (Anthropic)" if self.provider == ANTHROPIC else short_name(self.model)

    def cost_usd(self, input_tokens: int, output_tokens: int) -> float | None:
        """List price of a call of that size; None when unknown."""
        return self.estimate(input_tokens, output_tokens).usd

    def estimate(self, input_tokens: int, output_tokens: int) -> Estimate:
        """A call of that size in neurons, for the ledger: Anthropic's dollars at Workers AI's rate."""
        if self.provider != ANTHROPIC:
            return estimate(self.model, input_tokens=input_tokens, output_tokens=output_tokens)
        dollars = price_usd(self.model, input_tokens, output_tokens)
        basis = f"{input_tokens:,} → {output_tokens:,} tokens"
        return Estimate(self.model, None if dollars is None else dollars / USD_PER_NEURON, None, basis)


def escalation_target(env: Mapping[str, str] | None = None) -> Target | None:
    """The live escalation target, or None offline."""
    if is_offline():
        return None
    anthropic = AnthropicSettings.from_env(settings.environment(env))
    if anthropic.configured:
        return Target(ANTHROPIC, anthropic.model)
    return Target(WORKERS_AI, _escalation_model(settings.read("ROUTING_ESCALATION_MODEL", env)))


@functools.cache  # one warning per bad value, not one per question
def _escalation_model(value: str) -> str:
    """ROUTING_ESCALATION_MODEL when it is a model id; the default otherwise (blank, or a bad value, logged)."""
    if not value:
        return DEFAULT_ESCALATION_MODEL
    try:
        return check_model_id(value)
    except InvalidModelIdError as exc:
        log.warning("ROUTING_ESCALATION_MODEL ignored, escalating to %s: %s", DEFAULT_ESCALATION_MODEL,
                    exc.user_message)
        return DEFAULT_ESCALATION_MODEL


def baseline_target(target: Target | None) -> Target:
    """What "send everything to the big model" is measured against: the target, or offline the Workers AI
    model a configured account would escalate to."""
    return target or Target(WORKERS_AI, DEFAULT_ESCALATION_MODEL)


_anthropic: Anthropic | None = None


def anthropic_client() -> Anthropic:
    """The Anthropic client for the current environment (one installed with `use_anthropic` wins)."""
    return _anthropic or Anthropic(AnthropicSettings.from_env(settings.environment()))


def use_anthropic(client: Anthropic | None) -> None:
    """Install an Anthropic client explicitly (tests: no retry sleeps), or None to read the environment again."""
    global _anthropic
    _anthropic = client

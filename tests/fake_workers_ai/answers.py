"""What a media model answers: a JSON result or a raw body, and the neurons the call cost.

The media runners return an `Answer`; the handler sends `result` in the envelope, or `data` as the whole body with
its `content_type` (a raw PNG, an MP3), and the `cf-ai-neurons` header when `neurons` is known (and
`fake.media_neurons` is on; `fake.neurons_header`, when set, overrides it for every model).

The neurons are computed from the contract's prices (shared/docs/workers-ai-contract.md §6b), the way the
service meters them: flux 4.8 per 512×512 tile + 9.6 per step, stable-diffusion-xl-lightning free in beta,
melotts 18.63 per minute of audio made, aura-2-en 2,727 (aura-1 1,364) per 1,000 characters, m2m100 31,050 per
million tokens in and out. DETR and LLaVA have no published price: no header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FLUX_PER_TILE = 4.8
FLUX_PER_STEP = 9.6
MELO_PER_MINUTE = 18.63
AURA_PER_1K_CHARACTERS = {"aura-2": 2727.0, "aura-1": 1364.0}
M2M100_PER_M_TOKENS = 31050.0


@dataclass
class Answer:
    result: Any = None
    data: bytes | None = None
    content_type: str = "application/json"
    neurons: float | None = None


def header_value(neurons: float) -> str:
    """'57.6', '0', '0.012345': what the header carries."""
    return f"{round(neurons, 6):g}" if neurons < 1e6 else f"{neurons:.0f}"


def tiles(width: int, height: int) -> int:
    """512×512 tiles an image of that size is billed as (a part tile counts whole)."""
    return -(-width // 512) * -(-height // 512)

"""What a call costs in neurons, estimated from the price list in prices.json (the only place prices live).

Workers AI bills neurons: $0.011 per 1,000, the first 10,000 of each UTC day free. A price is a rate per unit
of input (tokens in and out, minutes of audio, images); an estimate multiplies the rates by the amounts a call
used. It is an *estimate* — Cloudflare's bill is the truth — so everything shown says "est.".

Where the amounts come from (the callers decide, this module only multiplies):
- chat: the `usage` the stream reports (prompt and completion tokens);
- embeddings: Workers AI reports no token counts, so they are counted (components/tokens.py), or bounded by
  `token_bound`: no tokeniser makes more tokens than the text has UTF-8 bytes;
- speech: the recording's duration; image classification: one image per call;
- media (the Playground, components/workers_ai/_run_cost.py): 512×512 tiles and steps of a generated image,
  characters spoken, minutes of audio made; or, better, the `cf-ai-neurons` header the answer carried.

A model the price list does not know may still be priced from its catalogue entry (`price_from_catalogue`: the
catalogue's dollars at $0.011 per 1,000 neurons), and its estimates say so. A model without a price is
"price unknown", never a guess. The offline engine's models are priced as the
Cloudflare model they stand in for (`stand_ins` in prices.json), so offline answers show what they would cost.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ._catalogue import ModelInfo

_TABLE = json.loads(Path(__file__).with_name("prices.json").read_text())

USD_PER_NEURON: float = _TABLE["usd_per_1000_neurons"] / 1000
FREE_NEURONS_PER_DAY: int = _TABLE["free_neurons_per_day"]
# Tokens a chat template adds around each message (role markers, separators): Llama 3 adds 4-5, a margin on top.
TEMPLATE_TOKENS_PER_MESSAGE = 8
REPORTED = "as reported by Cloudflare"  # how a cost taken from the `cf-ai-neurons` header is marked
FROM_CATALOGUE = "at the catalogue's price"  # how an estimate priced from the model's catalogue entry is marked

# The units a rate can be given in, and how many of the call's amounts make one unit.
_UNITS = {
    "per_m_input_tokens": 1_000_000,
    "per_m_output_tokens": 1_000_000,
    "per_audio_minute": 60,  # amounts in seconds
    "per_m_images": 1_000_000,
}
# The units of generated media, kept in `Price.media_rates` (components/core/costs.py lists `rates` by `_UNITS`).
_MEDIA_UNITS = {
    "per_512_tile": 1,  # a 512×512 part of a generated image (a part tile counts whole)
    "per_step": 1,  # a diffusion step
    "per_k_characters": 1_000,  # amounts in characters
    "per_request": 1,  # one run (the catalogue's "per inference request")
}
UNIT_LABELS: Mapping[str, str] = MappingProxyType({
    "per_m_input_tokens": "per million input tokens",
    "per_m_output_tokens": "per million output tokens",
    "per_audio_minute": "per audio minute",
    "per_m_images": "per million images",
    "per_512_tile": "per 512×512 tile",
    "per_step": "per step",
    "per_k_characters": "per 1,000 characters",
    "per_request": "per request",
})
# The catalogue's price units (`ModelInfo.price`, in dollars) that a run's amounts measure: the price list's unit
# each is, and how many of the catalogue's units make one of it (only "per image" differs in size).
CATALOGUE_UNITS: Mapping[str, tuple[str, int]] = MappingProxyType({
    "per m input tokens": ("per_m_input_tokens", 1),
    "per m output tokens": ("per_m_output_tokens", 1),
    "per audio minute": ("per_audio_minute", 1),
    "per image": ("per_m_images", 1_000_000),
    "per 512 by 512 tile": ("per_512_tile", 1),
    "per step": ("per_step", 1),
    "per 1k characters": ("per_k_characters", 1),
    "per inference request": ("per_request", 1),
})
# Rates the catalogue gives beside the ones above, for other ways of calling the model, not as more to pay: input
# the service cached (cheaper: counting every input token at the full rate bounds it) and streaming sessions.
_ALTERNATIVE_UNITS = frozenset({"per m cached input tokens", "per audio minute (websocket)"})


@dataclass(frozen=True)
class Price:
    """The neuron rates of one Cloudflare model, keyed by unit: `rates` in tokens, audio and images (`_UNITS`),
    `media_rates` in tiles, steps and characters (`_MEDIA_UNITS`); `defaults` are the width, height and steps a
    run gets when it does not say (an image model's)."""

    model: str
    rates: Mapping[str, float]
    media_rates: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    defaults: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    from_catalogue: bool = False  # converted from the catalogue's dollars, not read from prices.json


PRICES: Mapping[str, Price] = MappingProxyType({
    name: Price(name, MappingProxyType({unit: float(entry[unit]) for unit in _UNITS if unit in entry}),
                MappingProxyType({unit: float(entry[unit]) for unit in _MEDIA_UNITS if unit in entry}),
                MappingProxyType(dict(entry.get("defaults", {}))))
    for name, entry in _TABLE["models"].items()
})
STAND_INS: Mapping[str, str] = MappingProxyType(dict(_TABLE["stand_ins"]))


def price_of(model: str) -> Price | None:
    """The price that applies to `model` (its stand-in's, for an offline model), or None when unknown."""
    return PRICES.get(STAND_INS.get(model, model))


def price_from_catalogue(info: ModelInfo) -> Price | None:
    """The price of `info`'s model from its catalogue entry (`ModelInfo.price`, dollars), in neurons at $0.011
    per 1,000. None without a price, or when one of its units is not one a run can be measured in (a part of the
    bill would be left out). The price list comes first: use this for a model `price_of` does not know."""
    rates: dict[str, float] = {}
    media: dict[str, float] = {}
    for unit, dollars in info.price:
        key = " ".join(unit.lower().split())
        if key in _ALTERNATIVE_UNITS:
            continue
        if key not in CATALOGUE_UNITS:
            return None
        ours, size = CATALOGUE_UNITS[key]
        (rates if ours in _UNITS else media)[ours] = dollars * size / USD_PER_NEURON
    if not rates and not media:
        return None
    return Price(info.name, MappingProxyType(rates), MappingProxyType(media), from_catalogue=True)


def usd(neurons: float) -> float:
    return neurons * USD_PER_NEURON


def token_bound(text: str) -> int:
    """The most tokens `text` can be under any tokeniser a model uses (byte-level BPE, SentencePiece with byte
    fallback, WordPiece): one per UTF-8 byte. "~4 characters a token" holds for English only and undercounts
    Chinese, emoji or punctuation up to 4×, so a budget reserved with it could be overspent 4×."""
    return len(text.encode("utf-8", "surrogatepass"))


def prompt_bound(messages: list[dict]) -> int:
    """The most tokens a chat prompt can be: each message's text plus its template tokens."""
    return sum(token_bound(str(m.get("content", ""))) + TEMPLATE_TOKENS_PER_MESSAGE for m in messages)


@dataclass(frozen=True)
class Estimate:
    """What one call is estimated to cost. `neurons` is None when the price is unknown."""

    model: str
    neurons: float | None
    priced_as: str | None = None  # the Cloudflare model whose price was used (a stand-in for offline models)
    basis: str = ""  # what was counted: "1,000 → 500 tokens", "90 s of audio", "1 image"
    measured: bool = False  # True: the figure is what Cloudflare said the call cost (`cf-ai-neurons`), no estimate
    from_catalogue: bool = False  # priced from the model's catalogue entry (`price_from_catalogue`)

    @property
    def known(self) -> bool:
        return self.neurons is not None

    @property
    def usd(self) -> float | None:
        return None if self.neurons is None else usd(self.neurons)

    def describe(self, offline: bool = False, basis: bool = True) -> str:
        """'est. 21.6 neurons ≈ $0.00024 · 1,000 → 500 tokens'; offline, what it would cost on Workers AI.
        `basis=False` leaves out what was counted, for a line that shows it already."""
        if self.neurons is None:
            return f"price unknown for {short_name(self.model)}"
        if self.measured:  # worded as components/core/usage.py words a cost the answers reported
            text = f"{format_neurons(self.neurons)} neurons ≈ {format_usd(self.usd)}"
            shown = self.basis if basis and self.basis else ""
            if REPORTED not in shown:
                shown = f"{shown} · {REPORTED}".lstrip(" ·")
            return f"{text} · {shown}"
        text = f"est. {format_neurons(self.neurons)} neurons ≈ {format_usd(self.usd)}"
        if offline:
            text = f"Workers AI would charge {text}"
            if self.priced_as and self.priced_as != self.model:
                text += f" (as {short_name(self.priced_as)})"
        text = f"{text} · {self.basis}" if basis and self.basis else text
        return f"{text} · {FROM_CATALOGUE}" if self.from_catalogue else text


def estimate(
    model: str, *, input_tokens: int = 0, output_tokens: int = 0, audio_seconds: float = 0.0, images: int = 0,
    tiles: int = 0, steps: int = 0, characters: int = 0, requests: int = 0, price: Price | None = None,
) -> Estimate:
    """Neurons for a call to `model` that used these amounts, at `price` (default: the price list's). Unknown when
    the model has no price, or has none for one of the amounts used (an image sent to a text model)."""
    amounts = {
        "per_m_input_tokens": input_tokens,
        "per_m_output_tokens": output_tokens,
        "per_audio_minute": audio_seconds,
        "per_m_images": images,
        "per_512_tile": tiles,
        "per_step": steps,
        "per_k_characters": characters,
        "per_request": requests,
    }
    basis = ", ".join(filter(None, (_basis(input_tokens, output_tokens, audio_seconds, images),
                                    _media_basis(tiles, steps, characters, requests))))
    price = price or price_of(model)
    if price is None:
        return Estimate(model, None, None, basis)
    rates, per = {**price.rates, **price.media_rates}, {**_UNITS, **_MEDIA_UNITS}
    neurons = 0.0
    for unit, amount in amounts.items():
        if amount:
            if unit not in rates:
                return Estimate(model, None, price.model, basis)
            neurons += rates[unit] * amount / per[unit]
    return Estimate(model, neurons, price.model, basis, from_catalogue=price.from_catalogue)


def _media_basis(tiles: int, steps: int, characters: int, requests: int) -> str:
    parts = []
    if tiles:
        parts.append("1 tile of 512×512" if tiles == 1 else f"{tiles:,} tiles of 512×512")
    if steps:
        parts.append("1 step" if steps == 1 else f"{steps:,} steps")
    if characters:
        parts.append("1 character" if characters == 1 else f"{characters:,} characters")
    if requests:
        parts.append("1 request" if requests == 1 else f"{requests:,} requests")
    return ", ".join(parts)


def _basis(input_tokens: int, output_tokens: int, audio_seconds: float, images: int) -> str:
    parts = []
    if output_tokens:
        parts.append(f"{input_tokens:,} → {output_tokens:,} tokens")
    elif input_tokens:
        parts.append(f"{input_tokens:,} tokens")
    if audio_seconds:
        minutes = audio_seconds / 60
        seconds = f"{audio_seconds:.1f}" if audio_seconds < 10 else f"{audio_seconds:.0f}"
        parts.append(f"{minutes:.1f} min of audio" if minutes >= 2 else f"{seconds} s of audio")
    if images:
        parts.append("1 image" if images == 1 else f"{images:,} images")
    return ", ".join(parts)


def short_name(model: str) -> str:
    """'@cf/meta/llama-3.1-8b-instruct-fast' → 'llama-3.1-8b-instruct-fast'."""
    return model.rsplit("/", 1)[-1]


def format_neurons(neurons: float) -> str:
    """Three significant digits below 100 (0.228, 21.6, 1.5), whole numbers with separators above (1,234)."""
    if neurons >= 100:
        return f"{neurons:,.0f}"
    text = _significant(neurons, 3)
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_usd(amount: float) -> str:
    """Cents from a dollar up ($12.34), two significant digits below ($0.00024): one call costs very little."""
    text = _significant(amount, 2)
    return f"${amount:,.2f}" if amount == 0 or float(text) >= 1 else f"${text}"


def _significant(value: float, digits: int) -> str:
    if value == 0:
        return "0"
    rounded = float(f"{value:.{digits}g}")  # round first: 0.0999 to two digits is 0.10, not 0.100
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:.{decimals}f}"

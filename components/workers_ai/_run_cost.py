"""What one run of any model cost: `run_estimate(model, payload, output, info)`, for the Playground's cost line.

The answer's own `cf-ai-neurons` header is the best figure (vectorize-contract.md §4): when `output` carries one
the estimate is that, marked measured. Otherwise the price list (prices.json) is multiplied by what the run used;
for a model it does not know, the price of the model's catalogue entry `info` (`price_from_catalogue`), marked
"at the catalogue's price". The amounts are found in the payload and the output:
- tokens in: the output's `usage.prompt_tokens`, else a bound of the prompt, messages or text (`token_bound`);
- tokens out: `usage.completion_tokens`, else a bound of the text that came back (a translation's too); before
  the run, `max_tokens` (or the default 256) for a generation, the input's bound for a translation;
- tiles and steps of a generated image: the payload's width, height and steps (or num_steps), else the model's
  defaults in prices.json (1024×1024 when it gives none; steps it gives none of are unknown unless free);
- characters spoken (Aura): the payload's `text`;
- minutes of audio: the input's audio for speech recognition (its WAV or MP3 header and frames), the output's for
  speech synthesis (melotts' base64 MP3 or a raw MP3/WAV body); before a synthesis has run, a bound of
  `SPOKEN_SECONDS_PER_CHARACTER` per character of its text (about three times a normal speaking pace);
- one image per classification; one request per run.
None when the model has no price, or when an amount it is priced by cannot be known (yet).
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from ._audio_length import audio_seconds
from ._catalogue import ModelInfo
from ._outputs import ModelOutput, generated_text, usage_of
from ._pricing import Estimate, Price, estimate, price_from_catalogue, price_of, prompt_bound, token_bound

DEFAULT_MAX_TOKENS = 256  # contract §3: a generation's max_tokens when the body does not say
MAX_AUDIO_BYTES = 64 * 1024 * 1024  # base64 audio larger than this is not decoded to be measured
# A recording's length before the run is bounded by its size at 8 kbit/s (below any speech codec a caller would
# use): a WAV or MP3 header is the sender's claim, and a 20 MB file claiming 0 s would pass any budget.
MIN_AUDIO_BYTES_PER_SECOND = 1000
MIN_WAV_BYTES_PER_SECOND = 8000  # uncompressed: 8 kHz, 8-bit, mono is the least any WAV holds per second
SPOKEN_SECONDS_PER_CHARACTER = 0.2  # speech runs at ~15 characters a second; this bounds a slow voice with pauses


def run_estimate(model: str, payload: dict | bytes | None, output: ModelOutput | None = None,
                 info: ModelInfo | None = None) -> Estimate | None:
    """What running `model` on `payload` cost (`output`: what came back; None: before the run, a bound). `info`,
    the model's catalogue entry, prices a model the price list does not know; None when no price is known."""
    counted = _counted(model, payload, output, run_price(model, info))
    if output is not None and output.neurons is not None:
        return Estimate(model, output.neurons, model, counted.basis if counted else "", measured=True)
    return counted if counted is not None and counted.known else None


def run_price(model: str, info: ModelInfo | None = None) -> Price | None:
    """The price list's price of `model`, else its catalogue entry's (`info`, when it is `model`'s), else None."""
    price = price_of(model)
    if price is None and info is not None and info.name == model:
        price = price_from_catalogue(info)
    return price


def _counted(model: str, payload: dict | bytes | None, output: ModelOutput | None,
             price: Price | None) -> Estimate | None:
    if price is None:
        return None
    units = {*price.rates, *price.media_rates}
    body = payload if isinstance(payload, dict) else {}
    result = output.result if output is not None else None
    usage = usage_of(result)
    amounts: dict[str, Any] = {}
    if "per_512_tile" in units:
        width = _count(body.get("width"), price.defaults.get("width", 1024))
        height = _count(body.get("height"), price.defaults.get("height", 1024))
        amounts["tiles"] = -(-width // 512) * -(-height // 512)
    if "per_step" in units:
        amounts["steps"] = _count(body.get("steps", body.get("num_steps")), price.defaults.get("steps", -1))
        if amounts["steps"] < 0:  # how many steps the model takes by default is not known
            if price.media_rates["per_step"]:
                return None
            amounts["steps"] = 0
    if "per_k_characters" in units:
        text = body.get("text", body.get("prompt"))
        amounts["characters"] = len(text) if isinstance(text, str) else 0
    if "per_audio_minute" in units:
        seconds = _audio_seconds(payload, body, output)
        if seconds is None:
            return None
        amounts["audio_seconds"] = seconds
    if "per_m_images" in units:
        amounts["images"] = 1
    if "per_request" in units:
        amounts["requests"] = 1
    if "per_m_input_tokens" in units:
        amounts["input_tokens"] = _count(usage.get("prompt_tokens"), _input_bound(body))
    if "per_m_output_tokens" in units:
        amounts["output_tokens"] = _count(usage.get("completion_tokens"), _output_bound(body, output))
    return estimate(model, price=price, **amounts)


def _count(value: Any, default: int) -> int:
    """A whole amount the body gives (JSON Schema counts 8.0 as the integer 8, so a whole float is one too), else
    `default`: what the model then uses."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return math.ceil(value)
    return default


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _input_bound(body: dict) -> int:
    messages = body.get("messages")
    if isinstance(messages, list):
        return prompt_bound([m for m in messages if isinstance(m, dict)])
    if isinstance(body.get("prompt"), str):
        return prompt_bound([{"content": body["prompt"]}])
    return sum(token_bound(text) for text in _texts(body.get("text")))


def _output_bound(body: dict, output: ModelOutput | None) -> int:
    if output is not None:
        result = output.result
        if isinstance(result, dict) and isinstance(result.get("translated_text"), str):
            return token_bound(result["translated_text"])
        return token_bound(generated_text(result))
    for key in ("max_tokens", "max_completion_tokens"):
        if key in body:  # zero (or nonsense) leaves the model its default
            return _count(body[key], 0) or DEFAULT_MAX_TOKENS
    if "messages" in body or "prompt" in body:
        return DEFAULT_MAX_TOKENS
    return _input_bound(body)  # a translation: about as long as what it translates


def _audio_seconds(payload: dict | bytes | None, body: dict, output: ModelOutput | None) -> float | None:
    """The audio a run is billed by: its input's (speech recognition), else its output's (speech synthesis)."""
    heard = payload if isinstance(payload, bytes) else _bytes_of(body.get("audio"))
    if heard:
        if output is None:  # before the run: a bound that no header written by the sender can shrink
            wav = heard[:4] == b"RIFF" and heard[8:12] == b"WAVE"
            floor = MIN_WAV_BYTES_PER_SECOND if wav else MIN_AUDIO_BYTES_PER_SECOND
            return max(audio_seconds(heard) or 0.0, len(heard) / floor)
        return _transcribed_seconds(output) or audio_seconds(heard)  # the model's own measure first
    if output is None:
        text = body.get("prompt", body.get("text"))
        return SPOKEN_SECONDS_PER_CHARACTER * len(text) if isinstance(text, str) and text else None
    if output.data is not None:
        return audio_seconds(output.data)
    result = output.result
    spoken = _bytes_of(result.get("audio")) if isinstance(result, dict) else None
    return audio_seconds(spoken) if spoken else None


def _bytes_of(value: Any) -> bytes | None:
    """Audio given as an array of 0-255 integers or as base64."""
    if isinstance(value, list):
        try:
            return bytes(value)
        except (TypeError, ValueError):
            return None
    if isinstance(value, str) and len(value) <= MAX_AUDIO_BYTES * 4 // 3 + 4:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def _transcribed_seconds(output: ModelOutput | None) -> float | None:
    """The duration a transcription reports (whisper-large-v3-turbo), or where its last word ends."""
    result = output.result if output is not None else None
    if not isinstance(result, dict):
        return None
    info = result.get("transcription_info")
    if isinstance(info, dict) and isinstance(info.get("duration"), (int, float)):
        return float(info["duration"])
    words = result.get("words")
    if isinstance(words, list) and words and isinstance(words[-1], dict):
        end = words[-1].get("end")
        return float(end) if isinstance(end, (int, float)) else None
    return None

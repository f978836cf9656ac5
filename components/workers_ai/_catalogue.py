"""The live model list (`GET …/ai/models/search`, every page), per task or whole, cached, with a built-in fallback.

Each item's `price` property is kept as the catalogue gives it, in US dollars per the catalogue's own unit:

    {"property_id": "price", "value": [{"unit": "per M input tokens", "price": 0.045, "currency": "USD"}, …]}

`ModelInfo.price` holds the (unit, usd) pairs; entries in another currency, without a unit or with a price that is
not a number of zero or more are left out. What a run costs in neurons is the price list's business
(components/workers_ai/_pricing.py: `price_from_catalogue`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ._errors import ProtocolError, WorkersAIError
from ._model_id import is_model_id

log = logging.getLogger("workers_ai")

CHAT, VISION, SPEECH, EMBEDDINGS = (
    "Text Generation",
    "Image Classification",
    "Automatic Speech Recognition",
    "Text Embeddings",
)
_TABLE = json.loads((Path(__file__).with_name("models.json")).read_text())
PER_PAGE = 100
MAX_PAGES = 20  # a bound, not an expectation: the catalogue is a few pages


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str = ""
    deprecation_date: str | None = None
    beta: bool = False
    task: str = ""  # the catalogue's task name: "Text Generation", "Text-to-Image"…; "" when not known
    price: tuple[tuple[str, float], ...] = ()  # (unit, USD) as the catalogue words them: ("per step", 0.0)

    @property
    def price_text(self) -> str:
        """'$0.03 per 1k characters'; 'free (beta)' (or 'free') when every rate is zero; '' without a price."""
        if not self.price:
            return ""
        if all(usd == 0 for _, usd in self.price):
            return "free (beta)" if self.beta else "free"
        return ", ".join(f"${_plain(usd)} {unit}" for unit, usd in self.price)

    @property
    def label(self) -> str:
        """What a dropdown shows: the short name, flagged when deprecated or beta."""
        short = self.name.split("/")[-1]
        if self.deprecation_date:
            return f"{short} ⚠ deprecated {self.deprecation_date}"
        return f"{short} (beta)" if self.beta else short

    @classmethod
    def from_item(cls, item: dict) -> ModelInfo:
        props = {p.get("property_id"): p.get("value") for p in item.get("properties") or [] if isinstance(p, dict)}
        task = item.get("task")
        return cls(
            name=str(item["name"]),
            description=str(item.get("description") or ""),
            deprecation_date=props.get("planned_deprecation_date") or None,
            beta=str(props.get("beta", "")).lower() == "true",
            task=str(task.get("name") or "") if isinstance(task, dict) else "",
            price=parse_price(props.get("price")),
        )


def parse_price(value) -> tuple[tuple[str, float], ...]:
    """The catalogue's `price` value (a list of {unit, price, currency}; some answers send it as a JSON string)
    as (unit, usd) pairs; whatever cannot be read is left out, never guessed."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    if not isinstance(value, list):
        return ()
    found = []
    for entry in value:
        if not isinstance(entry, dict):
            continue
        unit, usd, currency = entry.get("unit"), entry.get("price"), entry.get("currency", "USD")
        if not isinstance(unit, str) or not unit.strip() or str(currency).strip().upper() != "USD":
            continue
        if isinstance(usd, str):
            try:
                usd = float(usd)
            except ValueError:
                continue
        if isinstance(usd, bool) or not isinstance(usd, (int, float)) or not math.isfinite(usd) or usd < 0:
            continue
        found.append((" ".join(unit.split()), float(usd)))
    return tuple(found)


def _plain(usd: float) -> str:
    """0.0000528 → '0.0000528', 3.0 → '3': six significant digits at most, never an exponent."""
    text = format(Decimal(repr(float(f"{usd:.6g}"))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def default_model(task: str, backend: str = "cloudflare") -> str:
    return _TABLE[backend][task]["default"]


def builtin_models(task: str, backend: str = "cloudflare") -> list[ModelInfo]:
    return [ModelInfo(name, task=task) for name in _TABLE[backend][task]["models"]]


def builtin_catalogue(backend: str = "cloudflare") -> list[ModelInfo]:
    """Every built-in model of `backend`, every task (what `Catalogue.all_models` falls back on)."""
    return [model for task in _TABLE[backend] for model in builtin_models(task, backend)]


ALL = None  # `Catalogue`'s key for the whole catalogue, every task


class Catalogue:
    """Models per task, or all of them, from the live catalogue, cached for `ttl` seconds; the built-in table
    on failure."""

    def __init__(self, client, ttl: float = 600.0, retry_after_failure: float = 60.0) -> None:
        self._client = client
        self._ttl = ttl
        self._retry_after_failure = retry_after_failure
        self._cache: dict[str | None, tuple[float, list[ModelInfo]]] = {}
        self._locks: dict[str | None, asyncio.Lock] = {}

    async def all_models(self) -> list[ModelInfo]:
        """Every model of every task (each with its `task`), sorted by task, deprecated last, then name."""
        return await self.models(ALL)

    async def models(self, task: str | None) -> list[ModelInfo]:
        """The models of `task` (`ALL`, None: every task)."""
        cached = self._cache.get(task)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        lock = self._locks.setdefault(task, asyncio.Lock())
        async with lock:  # one fetch per task, however many visitors open the page at once
            cached = self._cache.get(task)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            try:
                models, ttl = await self._fetch(task), self._ttl
            except WorkersAIError as exc:
                log.warning("model catalogue for %s unavailable (%s): using the built-in list", task or "all tasks",
                            exc)
                models, ttl = self._builtin(task), self._retry_after_failure
            self._cache[task] = (time.monotonic() + ttl, models)
            return models

    def _builtin(self, task: str | None) -> list[ModelInfo]:
        backend = self._client.settings.backend
        if task is ALL:
            return builtin_catalogue(backend)
        return builtin_models(task, backend) if task in _TABLE[backend] else []

    async def _fetch(self, task: str | None) -> list[ModelInfo]:
        found: dict[str, ModelInfo] = {}
        query = {} if task is ALL else {"task": task}
        for page in range(1, MAX_PAGES + 1):
            items, info = await self._client.get_list(
                self._client.settings.models_url, {**query, "per_page": PER_PAGE, "page": page}
            )
            for item in items:
                if isinstance(item, dict) and item.get("name"):
                    model = ModelInfo.from_item(item)
                    found[model.name] = model
            if _last_page(items, info, len(found)):
                break
        models = [model for model in found.values() if is_model_id(model.name)]  # never offer an id runs refuse
        if not models:
            raise ProtocolError("The model catalogue is empty for this task.")
        return sorted(models, key=lambda m: (task is ALL and m.task, m.deprecation_date is not None, m.name))


def _last_page(items: list, info: dict, seen: int) -> bool:
    """Stop at an empty page, at `total_count`, or at a short page when no total is given."""
    total = info.get("total_count")
    if not items or (isinstance(total, int) and seen >= total):
        return True
    return total is None and len(items) < int(info.get("per_page") or PER_PAGE)

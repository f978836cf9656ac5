"""Judges: is a chat message simple enough for the fast edge model, or does it need the escalation target?

Three judges, each answering a `Verdict` (simple or complex, a complexity score 0–1, why, what judging cost):

- `EmbeddingJudge` embeds the message with a small embedding model through core/embeddings.py's `embed`
  (@cf/baai/bge-small-en-v1.5 on Workers AI, the offline engine's MiniLM offline) and compares it with the
  labelled exemplars in labelled_prompts.json: nearest centroid by default, k nearest neighbours on request.
  The exemplars are embedded once per model and kept.
- `KeywordJudge` scores surface features (length, reasoning verbs such as "prove", "design", "compare",
  several questions or constraints, numbers to work with) with fixed weights. Free, instant, no request.
- `LLMJudge` asks a small chat model to answer SIMPLE or COMPLEX.

The default is the embedding judge, because it measured best on the labelled set with leave-one-out (see
bench/bench_judge.py and the "Hybrid routing: the judge" section of bench/README.md): on the offline models it
classified more prompts right than the keyword heuristic and far more than SmolLM2 asked to judge, and it costs
~1/20,000 of a cent per message on Workers AI. If its embedding call fails, the keyword judge decides
instead (the verdict says so), so a judge problem never stops a chat.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..backend import shared_client
from ..embeddings import embed, normalise
from ..tokens import embedding_tokens
from ..usage import metered
from ...workers_ai import CHAT, EMBEDDINGS, Estimate, estimate, generated_text, prompt_bound, usage_of

SIMPLE, COMPLEX = "simple", "complex"
THRESHOLD = 0.5  # a score at or above this is complex
LABELLED_SET = Path(__file__).with_name("labelled_prompts.json")
EMBEDDING_MODELS = {"cloudflare": "@cf/baai/bge-small-en-v1.5", "local": "@local/all-minilm-l6-v2"}
JUDGE_CHAT_MODELS = {"cloudflare": "@cf/meta/llama-3.2-1b-instruct", "local": "@local/smollm2-135m-instruct"}
# Cosine differences between the two centroids are small (a few hundredths): this spreads them over 0–1.
CENTROID_SCALE = 0.04
KNN_K = 7


@dataclass(frozen=True)
class Verdict:
    """What a judge decided about one message."""

    label: str  # SIMPLE or COMPLEX
    score: float  # how complex, 0–1; COMPLEX at THRESHOLD and above
    judge: str  # which judge, e.g. "embedding · bge-small-en-v1.5"
    reason: str = ""  # one short clause: why
    cost: Estimate | None = None  # what judging cost (None: nothing was called)

    @property
    def complex(self) -> bool:
        return self.label == COMPLEX

    def describe(self) -> str:
        """'complex 0.83 (embedding · bge-small-en-v1.5)'."""
        return f"{self.label} {self.score:.2f} ({self.judge})"


def verdict_for(score: float, judge: str, reason: str = "", cost: Estimate | None = None) -> Verdict:
    score = min(1.0, max(0.0, float(score)))
    return Verdict(COMPLEX if score >= THRESHOLD else SIMPLE, score, judge, reason, cost)


def labelled_set(path: Path = LABELLED_SET) -> list[tuple[str, str]]:
    """The labelled prompts as (text, label) pairs."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(item["text"], item["label"]) for item in data["prompts"]]


def backend_name() -> str:
    return shared_client().settings.backend


# ── embeddings ──────────────────────────────────────────────────────────────────────────────


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-60.0, min(60.0, x))))


def centroid_score(vector: np.ndarray, exemplars: np.ndarray, labels: list[str],
                   exclude: int | None = None) -> tuple[float, str]:
    """Complexity from the cosine to each class centroid (`exclude`: an exemplar left out, for leave-one-out)."""
    keep = np.array([i != exclude for i in range(len(labels))])
    is_complex = np.array([label == COMPLEX for label in labels]) & keep
    is_simple = np.array([label == SIMPLE for label in labels]) & keep
    complex_centre = normalise(exemplars[is_complex].mean(axis=0))
    simple_centre = normalise(exemplars[is_simple].mean(axis=0))
    to_complex, to_simple = float(vector @ complex_centre), float(vector @ simple_centre)
    reason = f"cosine to complex examples {to_complex:.2f}, to simple {to_simple:.2f}"
    return _sigmoid((to_complex - to_simple) / CENTROID_SCALE), reason


def knn_score(vector: np.ndarray, exemplars: np.ndarray, labels: list[str], k: int = KNN_K,
              exclude: int | None = None) -> tuple[float, str]:
    """Complexity as the similarity-weighted share of complex labels among the k nearest exemplars."""
    similarities = exemplars @ vector
    if exclude is not None:
        similarities[exclude] = -np.inf
    nearest = np.argsort(-similarities)[:k]
    weights = np.maximum(similarities[nearest], 1e-6)
    complex_weight = sum(w for i, w in zip(nearest, weights) if labels[i] == COMPLEX)
    votes = sum(1 for i in nearest if labels[i] == COMPLEX)
    return float(complex_weight / weights.sum()), f"{votes} of the {k} most similar examples are complex"


class _ModelJudge:
    """A judge that calls a model: the one it was given, else its kind's model for the current backend."""

    MODELS: dict[str, str]  # backend → model id
    KIND: str  # what `name` calls it

    def __init__(self, model: str | None = None) -> None:
        self._model = model

    @property
    def model(self) -> str:
        return self._model or self.MODELS.get(backend_name(), self.MODELS["cloudflare"])

    @property
    def name(self) -> str:
        return f"{self.KIND} · {self.model.rsplit('/', 1)[-1]}"


class EmbeddingJudge(_ModelJudge):
    """Nearest centroid (or kNN) over the labelled exemplars' embeddings."""

    MODELS, KIND = EMBEDDING_MODELS, "embedding"

    def __init__(self, model: str | None = None, method: str = "centroid",
                 examples: list[tuple[str, str]] | None = None) -> None:
        super().__init__(model)
        self.method = method
        self.examples = examples if examples is not None else labelled_set()
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = asyncio.Lock()

    async def exemplars(self, request=None) -> tuple[np.ndarray, Estimate | None]:
        """The exemplars' vectors for the current model, embedded (and metered) on first use only."""
        model = self.model
        async with self._lock:
            if model in self._vectors:
                return self._vectors[model], None
            texts = [text for text, _ in self.examples]
            cost = estimate(model, input_tokens=embedding_tokens(texts, model))
            async with metered(request, "route-judge", EMBEDDINGS, cost) as meter:
                self._vectors[model] = await embed(texts, model)
                meter.record()
            return self._vectors[model], cost

    async def judge(self, message: str, request=None) -> Verdict:
        # Embedding the examples is a one-off for the whole process (metered when it happens, to whoever asked
        # first); a verdict's cost is what judging this message cost, which is what every message pays.
        exemplars, _once = await self.exemplars(request)
        cost = estimate(self.model, input_tokens=embedding_tokens([message], self.model))
        async with metered(request, "route-judge", EMBEDDINGS, cost) as meter:
            vector = (await embed([message], self.model))[0]
            meter.record()
        labels = [label for _, label in self.examples]
        if self.method == "knn":
            score, reason = knn_score(vector, exemplars, labels)
        else:
            score, reason = centroid_score(vector, exemplars, labels)
        return verdict_for(score, self.name, reason, cost)


# ── keywords ────────────────────────────────────────────────────────────────────────────────

_REASONING = re.compile(
    r"\b(prove|proof|derive|design|architect\w*|compare|comparison|analy[sz]e|analysis|evaluate|assess|critic\w*|"
    r"trade-?offs?|justify|step by step|walk me through|reason|implement|refactor|debug|diagnos\w*|optimi[sz]e|"
    r"strateg\w*|plan|policy|investigat\w*|interpret|estimate|why|how should|pros and cons|arguments?|"
    r"implications?|consequences?|in detail|detailed|explain how|explain why|outline)\b", re.I)
_TECHNICAL = re.compile(
    r"\b(algorithm|complexity|concurren\w*|deadlock|distributed|database|schema|index\w*|kubernetes|latency|"
    r"security|attack|theorem|equation|regression|gradient|statistic\w*|economic\w*|legal|contract|clause|gdpr|"
    r"physics|quantum|ethic\w*|philosoph\w*|migrat\w*|scal\w*|consisten\w*|memory|invest\w*|debt|diagnos\w*)\b",
    re.I)
_SIMPLE = re.compile(
    r"^(hi|hello|hey|thanks|thank you)\b|\b(translate|synonyms?|spell|plural|capital of|what is the|who wrote|"
    r"how many|how do you say|one sentence|one-line|one line|short joke|haiku|title|quick|fix the typos|rewrite|"
    r"convert|recommend|suggest|list the|extract|classify the sentiment)\b", re.I)
_WEIGHTS = {"bias": -1.6, "reasoning": 1.1, "technical": 0.7, "simple": -1.3, "words": 0.035, "numbers": 0.25,
            "clauses": 0.4}


def keyword_features(message: str) -> dict[str, float]:
    words = len(message.split())
    return {
        "reasoning": min(3, len(_REASONING.findall(message))),
        "technical": min(3, len(_TECHNICAL.findall(message))),
        "simple": min(2, len(_SIMPLE.findall(message))),
        "words": min(words, 60),
        "numbers": min(4, len(re.findall(r"\d+(?:[.,]\d+)?", message))),
        "clauses": min(3, message.count(",") + message.count(";") + message.count("?") - 1),
    }


class KeywordJudge:
    """A fixed-weight logistic score over surface features: no request, no cost."""

    name = "keywords"

    def score(self, message: str) -> tuple[float, str]:
        features = keyword_features(message)
        logit = _WEIGHTS["bias"] + sum(_WEIGHTS[k] * max(v, 0) for k, v in features.items())
        cues = [k for k in ("reasoning", "technical", "simple") if features[k]]
        reason = (f"{features['words']:.0f} words" + (", cues: " + ", ".join(cues) if cues else ", no cues"))
        return _sigmoid(logit), reason

    async def judge(self, message: str, request=None) -> Verdict:
        score, reason = self.score(message)
        return verdict_for(score, self.name, reason)


# ── a small chat model ──────────────────────────────────────────────────────────────────────

LLM_JUDGE_PROMPT = (
    "You sort questions for a help desk. A SIMPLE question has a short factual or creative answer a small model "
    "can give (greetings, facts, translations, rewording, short lists). A COMPLEX question needs multi-step "
    "reasoning, analysis, design, proofs, debugging or expert judgement. Reply with one word: SIMPLE or COMPLEX."
)


class LLMJudge(_ModelJudge):
    """A small chat model asked for one word; it reports no probabilities, so the score is 0, 0.5 or 1."""

    MODELS, KIND = JUDGE_CHAT_MODELS, "small LLM"

    async def judge(self, message: str, request=None) -> Verdict:
        payload = {"messages": [{"role": "system", "content": LLM_JUDGE_PROMPT},
                                {"role": "user", "content": f"Question: {message}\nAnswer SIMPLE or COMPLEX."}],
                   "max_tokens": 4, "temperature": 0}
        prompt = prompt_bound(payload["messages"])
        upper = estimate(self.model, input_tokens=prompt, output_tokens=4)
        async with metered(request, "route-judge", CHAT, upper) as m:
            result = await shared_client().run(self.model, payload)
            usage = usage_of(result)
            cost = estimate(self.model, input_tokens=usage.get("prompt_tokens", prompt),
                            output_tokens=usage.get("completion_tokens", 4))
            m.record(cost)
        word = generated_text(result).strip().upper()
        score = 1.0 if "COMPLEX" in word else 0.0 if "SIMPLE" in word else 0.5
        return verdict_for(score, self.name, f"the model said {word[:20]!r}", cost)


JUDGES = {"embedding": EmbeddingJudge, "keywords": KeywordJudge, "llm": LLMJudge}

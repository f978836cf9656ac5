"""Hybrid routing for the chat tab: a cheap judge decides, per message, whether the fast edge model answers or
the question is escalated to a stronger model (a large Workers AI model, or Claude with ANTHROPIC_API_KEY).

    judge.py      the judges (embedding nearest-centroid by default; keywords; a small LLM) and the labelled set
    anthropic.py  a streaming Messages API client on httpx, with its price table
    targets.py    which escalation target is live
    router.py     one message: judge → edge or escalate (fall back to the edge on failure; offline message)
    summary.py    the session's split and the money saved against sending everything to the big model
"""

from ...anthropic import Anthropic, AnthropicError, AnthropicSettings, price_usd
from .judge import COMPLEX, SIMPLE, EmbeddingJudge, KeywordJudge, LLMJudge, Verdict, labelled_set
from .router import EDGE, ESCALATED, FALLBACK, OFFLINE, OFFLINE_ESCALATION, RouteInfo, default_judge, routed_answer
from .summary import RouteSummary, SummaryStore, summaries
from .targets import ANTHROPIC, WORKERS_AI, Target, escalation_target, use_anthropic

__all__ = [
    "ANTHROPIC", "COMPLEX", "EDGE", "ESCALATED", "FALLBACK", "OFFLINE", "OFFLINE_ESCALATION", "SIMPLE", "WORKERS_AI",
    "Anthropic", "AnthropicError", "AnthropicSettings", "EmbeddingJudge", "KeywordJudge", "LLMJudge", "RouteInfo",
    "RouteSummary", "SummaryStore", "Target", "Verdict", "default_judge", "escalation_target", "labelled_set",
    "price_usd", "routed_answer", "summaries", "use_anthropic",
]

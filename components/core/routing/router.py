"""Auto-route one chat message: judge it, then answer it at the edge or escalate it.

    async for reply, info in routed_answer(message, history, edge_model, system_prompt, max_tokens, temperature):
        ...  # reply: the answer so far; info: the route, the verdict, the cost (info.finished at the end)

- simple → the edge model (the chat tab's model, a fast 8B by default) through the shared Workers AI client;
- complex → the escalation target (targets.py): a large Workers AI model, streamed and metered like any chat
  answer, or Claude through the Anthropic client;
- the escalation fails (an error before or during its stream, or a budget that cannot cover the big model) →
  the edge model answers instead, and the route line says what failed;
- offline → complex questions get an "escalation unavailable offline" message, followed by the local model's
  attempt, labelled as such.

Every answer carries what it cost (the judge included) and what the same tokens would have cost on the
"everything to the big model" baseline, which the session summary adds up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

from .. import conversation
from ..backend import is_offline, model_or_default
from ..errors import InputProblem, user_message
from ..usage import metered
from ...workers_ai import CHAT, coalesce, format_usd, prompt_bound, short_name, token_bound
from ...anthropic import AnthropicError
from .judge import EmbeddingJudge, KeywordJudge, Verdict
from .targets import ANTHROPIC, Target, anthropic_client, baseline_target, escalation_target

log = logging.getLogger("routing")

JUDGING, EDGE, ESCALATED, FALLBACK, OFFLINE = "judging", "edge", "escalated", "fallback", "offline"
OFFLINE_ESCALATION = (
    "**Escalation unavailable offline.** The judge rated this question complex, and the offline engine has no "
    "stronger model to send it to: with a Cloudflare account configured it would go to Llama 3.3 70B on Workers AI "
    "(or to Claude, with ANTHROPIC_API_KEY set as well).\n\n*The local model's attempt, for what it is worth:*\n\n"
)

_default_judge: EmbeddingJudge | None = None


def default_judge() -> EmbeddingJudge:
    """The embedding judge: the most accurate on the labelled set (bench/bench_judge.py), and nearly free."""
    global _default_judge
    if _default_judge is None:
        _default_judge = EmbeddingJudge()
    return _default_judge


@dataclass
class RouteInfo:
    """Which way one message went, why, and what it cost."""

    route: str  # JUDGING, EDGE, ESCALATED, FALLBACK or OFFLINE
    model: str  # the model that answers
    baseline: Target  # "everything to the big model"
    target: Target | None = None  # the escalation target (None offline)
    verdict: Verdict | None = None
    note: str = ""  # what went wrong with an escalation, or why there was none
    input_tokens: int = 0
    output_tokens: int = 0
    answer_usd: float | None = None  # None while streaming, or for a model without a price
    baseline_usd: float | None = None
    stats: str = ""  # the chat tab's statistics line (tokens, speed), for Workers AI answers
    offline: bool = False
    finished: bool = False
    started: float = field(default_factory=time.perf_counter)

    @property
    def judge_usd(self) -> float:
        return (self.verdict.cost.usd or 0.0) if self.verdict and self.verdict.cost else 0.0

    @property
    def spent_usd(self) -> float | None:
        return None if self.answer_usd is None else self.answer_usd + self.judge_usd

    @property
    def at_edge(self) -> bool:
        return self.route in (EDGE, FALLBACK, OFFLINE)

    def headline(self) -> str:
        """'Edge → llama-3.1-8b-instruct-fast' and its kin."""
        name = short_name(self.model)
        if self.route == JUDGING:
            return "Judging the question…"
        if self.route == EDGE:
            return f"Edge → {name}"
        if self.route == ESCALATED:
            return f"Escalated → {self.target.label if self.target else name}"
        if self.route == FALLBACK:
            return f"Edge fallback → {name}"
        return f"Escalation unavailable offline → local {name}"

    def line(self) -> str:
        """The route line under an answer: route, verdict and score, cost (and the failure, if any)."""
        parts = [f"**{self.headline()}**"]
        if self.verdict:
            parts.append(f"judge: {self.verdict.describe()}" + (f" — {self.verdict.reason}" if self.verdict.reason else ""))
        if self.finished:
            would = "would cost" if self.offline else "cost"
            spent = "price unknown" if self.spent_usd is None else f"≈ {format_usd(self.spent_usd)}"
            text = f"{would} {spent}"
            if self.judge_usd:
                text += f" (judge {format_usd(self.judge_usd)})"
            if self.baseline_usd is not None and self.route != ESCALATED:
                text += f" · on {self.baseline.label}: ≈ {format_usd(self.baseline_usd)}"
            parts.append(text)
        elif self.route != JUDGING:
            parts.append("streaming…")
        line = " · ".join(parts)
        if self.note:
            line += f"  \n⚠️ {self.note}"
        if self.stats and self.finished:
            line += f"  \n{self.stats}"
        return line

    def to_dict(self) -> dict:
        """The route as plain data, for the API."""
        return {
            "route": self.route, "model": self.model, "at_edge": self.at_edge,
            "escalation_target": self.target.model if self.target else None,
            "verdict": self.verdict.label if self.verdict else None,
            "score": round(self.verdict.score, 4) if self.verdict else None,
            "judge": self.verdict.judge if self.verdict else None,
            "reason": self.verdict.reason if self.verdict else None,
            "note": self.note, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "cost_usd": self.spent_usd, "judge_cost_usd": self.judge_usd,
            "baseline_model": self.baseline.model, "baseline_cost_usd": self.baseline_usd,
            "offline_estimate": self.offline,
        }


def clean_history(history: list[dict] | None) -> list[dict]:
    """The conversation without the offline notice, which is the app talking, not the model."""
    turns = []
    for turn in history or []:
        content = turn.get("content") if isinstance(turn, dict) else None
        if isinstance(content, str) and content.startswith(OFFLINE_ESCALATION):
            turn = {**turn, "content": content.removeprefix(OFFLINE_ESCALATION)}
        turns.append(turn)
    return turns


async def routed_answer(
    message: str, history: list[dict] | None, edge_model: str | None, system_prompt: str, max_tokens: float,
    temperature: float, request=None, judge=None,
) -> AsyncIterator[tuple[str, RouteInfo]]:
    """Judge `message`, then stream its answer along the chosen route: yields (reply so far, route info)."""
    message = conversation.check_input(message, max_tokens, temperature, system_prompt)
    history = clean_history(history)
    edge_model = model_or_default(edge_model, CHAT)
    target = escalation_target()
    info = RouteInfo(JUDGING, edge_model, baseline_target(target), target, offline=is_offline())
    yield "", info
    info.verdict = await _judge(judge or default_judge(), message, request)
    args = (message, history, system_prompt, max_tokens, temperature, request)

    if not info.verdict.complex:
        info.route = EDGE
        async for reply in _workers_ai(info, edge_model, *args):
            yield reply, info
    elif target is None:
        info.route, info.note = OFFLINE, "No escalation target offline: the local model's attempt is labelled as such."
        async for reply in _workers_ai(info, edge_model, *args):
            yield OFFLINE_ESCALATION + reply, info
    else:
        info.route, info.model = ESCALATED, target.model
        reply = ""
        try:
            escalate = _anthropic if target.provider == ANTHROPIC else _workers_ai
            async for reply in escalate(info, target.model, *args):
                yield reply, info
        except Exception as exc:
            reason = exc.user_message if isinstance(exc, AnthropicError) else user_message(exc)
            log.warning("escalation to %s failed (%s): answering at the edge", target.model, type(exc).__name__)
            info.route, info.model = FALLBACK, edge_model
            info.note = f"Escalation to {target.label} failed: {reason} Answered by the edge model instead."
            info.stats, info.answer_usd = "", None
            async for reply in _workers_ai(info, edge_model, *args):
                yield reply, info
    info.finished = True
    yield reply if info.route != OFFLINE else OFFLINE_ESCALATION + reply, info


async def _judge(judge, message: str, request) -> Verdict:
    """The judge's verdict; if its call fails (not a budget refusal), the keyword judge decides instead."""
    try:
        return await judge.judge(message, request)
    except InputProblem:
        raise
    except Exception as exc:
        reason = exc.user_message if hasattr(exc, "user_message") else type(exc).__name__
        log.warning("routing judge failed (%s): the keyword judge decides", reason)
        verdict = await KeywordJudge().judge(message)
        return replace(verdict, reason=f"{verdict.reason}; the {getattr(judge, 'name', 'judge')} judge failed")


async def _workers_ai(info: RouteInfo, model: str, message, history, system_prompt, max_tokens, temperature,
                      request) -> AsyncIterator[str]:
    """Stream a Workers AI (or offline) answer through the metered `conversation.answer`."""
    reply = ""
    async for reply, stats in conversation.answer(message, history, model, system_prompt, max_tokens, temperature, request):
        yield reply
    info.input_tokens = stats.prompt_tokens if stats.prompt_tokens is not None else stats.prompt_estimate
    info.output_tokens = stats.completion_tokens if stats.completion_tokens is not None else stats.chunks
    info.answer_usd = stats.cost.usd if stats.cost else None
    info.baseline_usd = info.baseline.cost_usd(info.input_tokens, info.output_tokens)
    stats.cost = None  # the route line shows the cost once, with the judge's
    info.stats = stats.line()


async def _anthropic(info: RouteInfo, model: str, message, history, system_prompt, max_tokens, temperature,
                     request) -> AsyncIterator[str]:
    """Stream Claude's answer, metered like any paid call: its upper bound (the prompt's tokens at most, plus
    max_tokens) is reserved against the budgets before the request, and it is charged the usage it reports
    (Anthropic's dollars in neurons at Workers AI's rate, so one budget bounds both)."""
    messages = conversation.build_messages(message, history, system_prompt or "")
    target = info.target or Target(ANTHROPIC, model)
    upper = target.estimate(prompt_bound(messages), int(max_tokens))
    reply, chunks, reply_bytes = "", 0, 0
    input_tokens = output_tokens = None
    async with metered(request, "chat", CHAT, upper) as meter:
        stream = anthropic_client().stream(messages, max_tokens=int(max_tokens), temperature=temperature,
                                           model=model)
        async for batch in coalesce(stream, conversation.UPDATE_INTERVAL):  # paced like the Workers AI answers
            grown = False
            for delta in batch:
                input_tokens = delta.input_tokens if delta.input_tokens is not None else input_tokens
                output_tokens = delta.output_tokens if delta.output_tokens is not None else output_tokens
                if delta.text:
                    reply += delta.text
                    chunks += 1
                    reply_bytes += token_bound(delta.text)
                    grown = True
            if grown:
                yield reply
        info.input_tokens = input_tokens if input_tokens is not None else prompt_bound(messages)
        info.output_tokens = output_tokens if output_tokens is not None else min(reply_bytes, int(max_tokens))
        meter.record(target.estimate(info.input_tokens, info.output_tokens))
    info.answer_usd = target.cost_usd(info.input_tokens, info.output_tokens)
    info.baseline_usd = info.answer_usd
    info.stats = f"{info.input_tokens} → {info.output_tokens} tokens · {model}"
    yield reply


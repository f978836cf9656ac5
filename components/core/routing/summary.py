"""The session summary of Auto-route: how many answers stayed at the edge, and the money that saved.

    "82% at the edge (9 of 11 answers; 2 escalated) · spent ≈ $0.00041 · saved ≈ $0.0032 (89%) vs sending
     everything to llama-3.3-70b-instruct-fp8-fast"

"Saved" compares what the session spent (judge included) with what the same tokens would have cost on the
baseline, the escalation target, for every answer — list prices, before Workers AI's free daily allocation.
Answers whose cost is unknown (a model without a price) are counted but left out of both sums, and the line
says so. Summaries live in memory per page session, the MAX_SESSIONS most recent, like the ledger's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from ..usage import MAX_SESSIONS
from ...workers_ai import format_usd
from .router import ESCALATED, FALLBACK, OFFLINE, RouteInfo

EMPTY = "*Auto-route summary: no routed answers yet — pick **Auto-route** and ask something.*"


@dataclass
class RouteSummary:
    """Running totals of one session's routed answers."""

    answers: int = 0
    at_edge: int = 0
    escalated: int = 0
    fallbacks: int = 0
    unavailable: int = 0
    unpriced: int = 0
    spent_usd: float = 0.0
    baseline_usd: float = 0.0
    baseline_label: str = ""
    offline: bool = False

    def add(self, info: RouteInfo) -> None:
        self.answers += 1
        self.at_edge += info.at_edge
        self.escalated += info.route == ESCALATED
        self.fallbacks += info.route == FALLBACK
        self.unavailable += info.route == OFFLINE
        self.baseline_label = info.baseline.label
        self.offline = info.offline
        if info.spent_usd is None or info.baseline_usd is None:
            self.unpriced += 1
        else:
            self.spent_usd += info.spent_usd
            self.baseline_usd += info.baseline_usd

    @property
    def edge_share(self) -> float:
        return self.at_edge / self.answers if self.answers else 0.0

    @property
    def saved_usd(self) -> float:
        return self.baseline_usd - self.spent_usd

    @property
    def saved_share(self) -> float:
        return self.saved_usd / self.baseline_usd if self.baseline_usd else 0.0

    def line(self) -> str:
        if not self.answers:
            return EMPTY
        counts = [f"{self.at_edge} of {self.answers} answers", f"{self.escalated} escalated"]
        if self.fallbacks:
            counts.append(f"{self.fallbacks} fell back to the edge")
        if self.unavailable:
            counts.append(f"{self.unavailable} unavailable offline")
        spend, save = ("would spend", "would save") if self.offline else ("spent", "saved")
        money = f"{spend} ≈ {format_usd(self.spent_usd)}"
        if self.saved_usd >= 0:
            money += f" · {save} ≈ {format_usd(self.saved_usd)} ({self.saved_share:.0%}) vs sending everything to "
        else:
            money += f" · ≈ {format_usd(-self.saved_usd)} more than sending everything to "
        money += self.baseline_label
        if self.offline:
            money += " (Workers AI list prices)"
        if self.unpriced:
            money += f" · {self.unpriced} answer(s) without a known price left out"
        return f"**{self.edge_share:.0%} at the edge** ({'; '.join(counts)}) · {money}"


class SummaryStore:
    """One RouteSummary per page session (thread-safe), the most recent MAX_SESSIONS kept."""

    def __init__(self, capacity: int = MAX_SESSIONS) -> None:
        self.capacity = capacity
        self._sessions: OrderedDict[str, RouteSummary] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session: str, info: RouteInfo) -> RouteSummary:
        with self._lock:
            summary = self._sessions.pop(session, None) or RouteSummary()
            summary.add(info)
            self._sessions[session] = summary
            while len(self._sessions) > self.capacity:
                self._sessions.popitem(last=False)
            return summary

    def get(self, session: str) -> RouteSummary:
        with self._lock:
            return self._sessions.get(session) or RouteSummary()


summaries = SummaryStore()

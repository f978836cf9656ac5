"""The page header: what this is, which backend is live (never the token), and today's neurons."""

from __future__ import annotations

import html

import gradio as gr

from ..core.backend import backend_label
from ..core.usage import session_key, shared_ledger, visitor_key
from ..workers_ai import FREE_NEURONS_PER_DAY, Settings, format_neurons


# The "start here" line: each tab, in the order of the tab bar, and what it shows (one click on its example, or
# opening it). A new tab is one line here.
START_HERE: list[tuple[str, str]] = [
    ("Chat", "streams an answer"),
    ("Vision", "labels a photo"),
    ("Speech", "transcribes, with subtitles"),
    ("Embeddings", "compares sentences by meaning"),
    ("Documents", "answers, citing sources"),
    ("Playground", "runs any model of the catalogue: images, speech, translation"),
    ("Cost", "prices it all"),
]


def start_here_html(tabs: list[tuple[str, str]] = START_HERE) -> str:
    """'Start here: one click on an example — Chat streams an answer · Vision labels a photo · …'"""
    items = " · ".join(f'<b>{html.escape(tab)}</b><span class="shows"> {html.escape(shows)}</span>'
                       for tab, shows in tabs)
    return (f'<p class="start-here" data-testid="start-here"><span class="start-here-lead">Start here:</span> '
            f"one click on an example — {items}.</p>")


def header_html(settings: Settings) -> str:
    state = {"local": "offline"}.get(settings.backend, "live" if settings.configured else "off")
    return f"""
<div class="app-header">
  <div>
    <h1>Workers AI showcase</h1>
    <p>Chat, vision, speech, embeddings, your documents and the whole model catalogue — one client, one API.</p>
  </div>
  <span class="backend-badge backend-{state}" data-testid="backend-badge">{html.escape(backend_label(settings))}</span>
</div>
{start_here_html()}
"""


def meter_html(request: gr.Request | None = None) -> str:
    """'Today (est.): 1,234 / 10,000 free neurons · you: 56', with a bar for the share of the free allocation.
    Offline, the same figures for what the calls would have cost on Workers AI. No request: no "you"."""
    ledger = shared_ledger()
    snapshot = ledger.snapshot(visitor_key(request), session_key(request))
    budgets = ledger.budgets
    lead = "If this were Workers AI, today" if ledger.backend == "local" else "Today"
    text = f"{lead} (est.): <b>{format_neurons(snapshot.total)}</b> / {FREE_NEURONS_PER_DAY:,} free neurons"
    if budgets.total is not None:
        text += f" · budget {format_neurons(budgets.total)}"
    if request is not None:
        text += f" · you: <b>{format_neurons(snapshot.visitor)}</b>"
        if budgets.per_visitor is not None:
            text += f" of {format_neurons(budgets.per_visitor)}"
    share = min(100.0, 100 * snapshot.total / FREE_NEURONS_PER_DAY)
    over = " meter-over" if snapshot.total > FREE_NEURONS_PER_DAY else ""
    title = "Estimated from the price list; neurons are counted per UTC day and reset at 00:00 UTC."
    return (f'<div class="usage-meter{over}" data-testid="usage-meter" title="{title}"><span>{text}</span>'
            f'<span class="meter-bar" aria-hidden="true"><span style="width: {share:.1f}%"></span></span></div>')


def refresh_meter(request: gr.Request) -> str:
    """The meter for this visitor: on page load and after each answer (private events)."""
    return meter_html(request)


CSS = """
.app-header { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; justify-content: space-between;
              padding: 0.25rem 0 0.5rem; }
.app-header h1 { margin: 0; font-size: 1.6rem; }
.app-header p { margin: 0.15rem 0 0; opacity: 0.75; }
.backend-badge { border-radius: 999px; padding: 0.3rem 0.8rem; font-size: 0.85rem; font-weight: 600;
                 border: 1px solid var(--border-color-primary); white-space: nowrap; }
.backend-live { background: #f6821f1a; border-color: #f6821f; color: var(--body-text-color); }
.backend-off { background: var(--background-fill-secondary); }
.backend-offline { background: #2563eb14; border-color: #2563eb; }
.start-here { margin: 0 0 0.25rem; font-size: 0.85rem; line-height: 1.45; }
.start-here-lead { font-weight: 700; color: #f6821f; }
@media (max-width: 640px) { .start-here .shows { display: none; } }  /* a phone: the tabs' names only */
.loading-note { font-size: 0.85rem; opacity: 0.85; }
.setup-notice { border-left: 4px solid #f6821f; padding-left: 0.75rem; }
.answer-stats, .answer-cost { font-size: 0.85rem; opacity: 0.8; min-height: 1.5rem; }
.usage-meter-block { margin-top: calc(-1 * var(--layout-gap)); }
.usage-meter { display: flex; flex-wrap: wrap; gap: 0.3rem 0.75rem; align-items: center; justify-content: flex-end;
               font-size: 0.85rem; }
.usage-meter .meter-bar { width: 9rem; height: 0.45rem; border-radius: 999px; overflow: hidden;
                          background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.usage-meter .meter-bar > span { display: block; height: 100%; background: #f6821f; }
.usage-meter.meter-over .meter-bar > span { background: #dc2626; }
"""

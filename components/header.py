"""The page header: what this is, and which backend is live (never the token)."""

from __future__ import annotations

import html

from .backend import backend_label
from .workers_ai import Settings


def header_html(settings: Settings) -> str:
    state = {"local": "offline"}.get(settings.backend, "live" if settings.configured else "off")
    return f"""
<div class="app-header">
  <div>
    <h1>Workers AI showcase</h1>
    <p>Streaming chat, image classification, speech to text and embeddings — one client, one API.</p>
  </div>
  <span class="backend-badge backend-{state}" data-testid="backend-badge">{html.escape(backend_label(settings))}</span>
</div>
"""


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
.setup-notice { border-left: 4px solid #f6821f; padding-left: 0.75rem; }
.answer-stats { font-size: 0.85rem; opacity: 0.8; min-height: 1.5rem; }
"""

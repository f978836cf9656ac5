"""The core: what the app does, without a page. No gradio here, nothing from `components.ui` or `components.tabs`.

Settings, errors, the backend choice, the ledger and metering, visitors, and the logic of each task (chat,
embeddings, vision, speech, routing, cost estimates). Tabs and public endpoints call it; so can any script.
"""

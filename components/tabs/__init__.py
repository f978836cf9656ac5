"""One module per tab: its layout, its events and its public API/MCP endpoints. app.py composes them."""

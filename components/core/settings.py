"""Every environment variable the app reads, in one place, with what it means.

The clients keep their own `from_env(env)` (components/workers_ai, components/local, components/anthropic.py are
usable alone); everything above them reads the environment through this module, and this list is the only full
one: the README's settings table, the test suite's clean environment and the checks in tests/test_settings.py
are made from it.

Each variable says who reads it:

- APP: the app itself, through `read` here (components/core, app.py);
- CLIENT: a client, through its own `from_env(env)` or, for the offline engine, its own lookup. The core hands a
  client `environment(env)`, never os.environ by another road;
- GRADIO: Gradio or the Hugging Face libraries; the app only documents it, or sets it before they are imported
  (a `guard`: `os.environ.setdefault`, so a value already set wins).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

APP, CLIENT, GRADIO = "app", "client", "gradio"


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str
    default: str = ""  # how the default reads in the README ("" = none)
    secret: bool = False  # never logged, shown or returned
    read_by: str = APP  # APP, CLIENT or GRADIO (above)
    guard: bool = False  # set by the app before Gradio or the hub libraries load, unless already set


VARIABLES: tuple[Variable, ...] = (
    # Cloudflare: the Workers AI client (components/workers_ai/_config.py)
    Variable("CLOUDFLARE_ACCOUNT_ID", "your account id (required for Workers AI; without it and a token the app "
             "runs on the offline engine)", read_by=CLIENT),
    Variable("CLOUDFLARE_API_TOKEN", "an API token with Workers AI Read + Edit (required). Pasted whitespace or a "
             "leading `Bearer ` is cleaned up", secret=True, read_by=CLIENT),
    Variable("CLOUDFLARE_BASE_URL", "REST API base (point it at a test server or proxy)",
             "https://api.cloudflare.com/client/v4", read_by=CLIENT),
    Variable("CLOUDFLARE_AI_GATEWAY", "an AI Gateway id: model runs then go to "
             "`https://gateway.ai.cloudflare.com/v1/{account}/{gateway}/workers-ai/{model}`", read_by=CLIENT),
    Variable("CLOUDFLARE_AI_GATEWAY_TOKEN", "the gateway's token, sent as `cf-aig-authorization` (authenticated "
             "gateways only)", secret=True, read_by=CLIENT),
    Variable("CLOUDFLARE_AI_GATEWAY_URL", "gateway base", "https://gateway.ai.cloudflare.com/v1", read_by=CLIENT),
    # Ask your documents: where the vectors live (components/core/documents/index.py)
    Variable("VECTORIZE_INDEX", "a Vectorize index name: with a Cloudflare account configured, the documents' "
             "chunks and vectors are stored there (created on first use for the embedding model's dimensions, "
             "cosine; the token then needs Vectorize Edit too) instead of the embedded index; a value that is not "
             "an index name (1-64 letters, digits, - or _) is ignored with a warning",
             "none: the embedded index (numpy + SQLite, see `DEMO_STATE_DIR`)"),
    # The offline engine (components/local)
    Variable("LOCAL_CHAT_THREADS", "CPU threads the offline chat model (and Whisper) may use",
             "the CPUs this process may use", read_by=CLIENT),
    Variable("LOCAL_ENGINE_TOKEN", "the bearer token `python -m components.local` requires (as `--token`); "
             "required to listen beyond 127.0.0.1", secret=True, read_by=CLIENT),
    # Routing (components/core/routing/targets.py; ANTHROPIC_* through components/anthropic.py)
    Variable("ANTHROPIC_API_KEY", "escalate to Claude (sent only in the request header; never shown, logged or "
             "echoed)", secret=True, read_by=CLIENT),
    Variable("ANTHROPIC_MODEL", "the Claude model (prices: `components/anthropic_prices.json`)",
             "claude-sonnet-4-5", read_by=CLIENT),
    Variable("ANTHROPIC_BASE_URL", "Messages API base (point it at a test server)", "https://api.anthropic.com",
             read_by=CLIENT),
    Variable("ROUTING_ESCALATION_MODEL", "the Workers AI escalation model without an Anthropic key; a value that "
             "is not a model id is ignored with a warning", "@cf/meta/llama-3.3-70b-instruct-fp8-fast"),
    # Cost and budgets (components/core/usage.py, components/core/visitors.py)
    Variable("DEMO_NEURON_BUDGET_PER_VISITOR", "neurons one visitor may use per UTC day; a value that is not a "
             "number stops the app", "no limit"),
    Variable("DEMO_NEURON_BUDGET_TOTAL", "neurons the whole app may use per UTC day; a value that is not a number "
             "stops the app", "no limit"),
    Variable("DEMO_STATE_DIR", "a folder for the ledger (`usage-<backend>.sqlite3`, shared by every process using "
             "the folder, so a restart or a second worker keeps the day's count) and its visitor-hash key, and for "
             "the embedded document index (`documents/`, one SQLite file per embedding model: the chunks' text and "
             "vectors; components/core/documents/embedded.py)",
             "none: the count lives in memory and the documents in `~/.cache/workers-ai-showcase/documents`"),
    Variable("DEMO_TRUSTED_PROXY_HOPS", "how many proxies of yours append to `X-Forwarded-For` (0: the header is "
             "ignored); a value that is not 0-10 stops the app", "1 on a Hugging Face Space, else 0"),
    Variable("SPACE_ID", "set by Hugging Face Spaces (do not set it yourself): on a Space "
             "`DEMO_TRUSTED_PROXY_HOPS` defaults to 1"),
    # Gradio's own, which the app sets, relies on or documents
    Variable("GRADIO_SERVER_NAME", "where the app listens (use `0.0.0.0` in a container)", "127.0.0.1"),
    Variable("GRADIO_SERVER_PORT", "the port the app listens on", "7860", read_by=GRADIO),
    Variable("GRADIO_MCP_SERVER", "`True` serves every public endpoint as an MCP tool at `/gradio_api/mcp/`",
             "off", read_by=GRADIO),
    Variable("GRADIO_ANALYTICS_ENABLED", "Gradio's usage statistics: the app sets `False` before Gradio loads "
             "unless it is already set", "False", read_by=GRADIO, guard=True),
    Variable("HF_HUB_DISABLE_TELEMETRY", "the Hugging Face libraries' telemetry: the app sets `1` before Gradio "
             "loads unless it is already set", "1", read_by=GRADIO, guard=True),
    Variable("HF_HUB_OFFLINE", "no Hugging Face hub lookups: the offline engine sets `1` (its models are loaded from "
             "files, never downloaded)", "1 once the offline engine starts", read_by=GRADIO, guard=True),
    Variable("GRADIO_IS_E2E_TEST", "Gradio's switch for its own end-to-end tests: a closed session's state is "
             "dropped after 1 s instead of an hour (the app's copy of Gradio's session state, "
             "`components/ui/gradio_patches.py`, honours it as Gradio does); leave it unset", read_by=GRADIO),
    Variable("SHOWCASE_GRADIO_PATCHES", "`0` turns off every patch of Gradio's internals "
             "(components/ui/gradio_patches.py); on a Gradio other than the pinned one they are off whatever this "
             "says", "1"),
)

BY_NAME = {variable.name: variable for variable in VARIABLES}
SECRETS = frozenset(variable.name for variable in VARIABLES if variable.secret)


def environment(env: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """The mapping settings are read from: `env` when given (tests), else the process environment at this moment."""
    return os.environ if env is None else env


def raw(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The variable's value exactly as set (None when unset), for messages that quote it. Only listed names."""
    if name not in BY_NAME:
        raise KeyError(f"{name} is not a setting of this app: add it to components/core/settings.py")
    return environment(env).get(name)


def read(name: str, env: Mapping[str, str] | None = None) -> str:
    """The variable's value, stripped ("" when unset). Only the names listed in VARIABLES may be read."""
    return (raw(name, env) or "").strip()


def gradio_patches_enabled(env: Mapping[str, str] | None = None) -> bool:
    """SHOWCASE_GRADIO_PATCHES: on unless set to 0, false, no or off."""
    return read("SHOWCASE_GRADIO_PATCHES", env).lower() not in ("0", "false", "no", "off")

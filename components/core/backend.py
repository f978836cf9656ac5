"""Which backend the app talks to, decided once: Cloudflare when an account is configured, else the offline engine.

Tabs ask this module for the shared client and never learn which backend answers: both speak the same
Workers AI REST contract (the offline engine through an in-process transport, see components/local).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from .errors import InputProblem
from .settings import environment
from ..workers_ai import Catalogue, InvalidModelIdError, Settings, WorkersAI, check_model_id
from ..workers_ai import default_model as _default_model

log = logging.getLogger("showcase")

_client: WorkersAI | None = None
_catalogue: Catalogue | None = None


def client_from_env(env: Mapping[str, str] | None = None) -> WorkersAI:
    """Cloudflare if CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN are set; otherwise the offline engine."""
    cloudflare = Settings.from_env(environment(env))
    if cloudflare.configured:
        return WorkersAI(cloudflare)
    try:
        from ..local import offline_client

        return offline_client()
    except ImportError as exc:  # the offline stack is optional (e.g. a cloud-only Space): the tabs say what to set
        log.warning("no Cloudflare account and no offline engine (%s): install it with `make run`", exc)
        return WorkersAI(cloudflare)


def shared_client() -> WorkersAI:
    """The app's one client, chosen from the environment on first use."""
    global _client
    if _client is None:
        _client = client_from_env()
    return _client


def shared_catalogue() -> Catalogue:
    global _catalogue
    if _catalogue is None:
        _catalogue = Catalogue(shared_client())
    return _catalogue


def use_client(client: WorkersAI) -> None:
    """Install the shared client explicitly (tests, or an app that picks its backend itself)."""
    global _client, _catalogue
    _client, _catalogue = client, Catalogue(client)


def is_offline() -> bool:
    return shared_client().settings.backend == "local"


def default_model(task: str) -> str:
    """The default model of `task` on the live backend."""
    return _default_model(task, shared_client().settings.backend)


def model_or_default(model: str | None, task: str) -> str:
    """The model id a caller gave, or the live backend's default for `task` when blank.

    Any id of the model-id grammar is accepted (components/workers_ai/_model_id.py); anything else, such as
    `../../user/tokens/verify`, is refused here with InputProblem, before any budget, file or request.
    """
    model = model.strip() if isinstance(model, str) else model
    if not model:
        return default_model(task)
    try:
        return check_model_id(model)
    except InvalidModelIdError as exc:
        raise InputProblem(exc.user_message) from None


def backend_label(settings: Settings) -> str:
    """'Cloudflare Workers AI · account …1a2b' (never the token), or the offline engine."""
    if settings.backend == "local":
        return "Offline · small local models"
    if not settings.configured:
        return "Not configured · set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN"
    label = f"Cloudflare Workers AI · account {settings.account_hint}"
    if settings.gateway_id:
        label += f" · via AI Gateway “{settings.gateway_id}”"
    return label

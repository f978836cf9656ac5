"""Where requests go and how they authenticate, read once from the environment.

Names follow wrangler and the official SDK: CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN, CLOUDFLARE_BASE_URL.
CLOUDFLARE_AI_GATEWAY (a gateway id) sends model runs through AI Gateway instead; CLOUDFLARE_AI_GATEWAY_TOKEN
authenticates an authenticated gateway. The token is kept out of `repr` so it cannot leak through a log line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._model_id import check_model_id

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_GATEWAY_URL = "https://gateway.ai.cloudflare.com/v1"


def _clean(value: str | None) -> str | None:
    """Strip the whitespace a copy-paste brings (a trailing newline makes Cloudflare answer 6003)."""
    value = (value or "").strip()
    return value or None


@dataclass(frozen=True)
class Settings:
    account_id: str | None = None
    api_token: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL
    gateway_id: str | None = None
    gateway_token: str | None = field(default=None, repr=False)
    gateway_url: str = DEFAULT_GATEWAY_URL
    backend: str = "cloudflare"  # or "local": the offline engine, which has a model table of its own

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        token = _clean(env.get("CLOUDFLARE_API_TOKEN"))
        if token and token.lower().startswith("bearer "):
            token = token[7:].strip()  # a pasted "Bearer …" would otherwise be sent as "Bearer Bearer …"
        return cls(
            account_id=_clean(env.get("CLOUDFLARE_ACCOUNT_ID")),
            api_token=token,
            base_url=(_clean(env.get("CLOUDFLARE_BASE_URL")) or DEFAULT_BASE_URL).rstrip("/"),
            gateway_id=_clean(env.get("CLOUDFLARE_AI_GATEWAY")),
            gateway_token=_clean(env.get("CLOUDFLARE_AI_GATEWAY_TOKEN")),
            gateway_url=(_clean(env.get("CLOUDFLARE_AI_GATEWAY_URL")) or DEFAULT_GATEWAY_URL).rstrip("/"),
        )

    @property
    def configured(self) -> bool:
        return bool(self.account_id and self.api_token)

    def run_url(self, model: str) -> str:
        """The model goes into the path as is: `@` and `/` unencoded, as Cloudflare expects. So it must be a model
        id (InvalidModelIdError otherwise): `../../user/tokens/verify` would send the token elsewhere."""
        model = check_model_id(model)
        if self.gateway_id:
            return f"{self.gateway_url}/{self.account_id}/{self.gateway_id}/workers-ai/{model}"
        return f"{self.base_url}/accounts/{self.account_id}/ai/run/{model}"

    @property
    def models_url(self) -> str:
        """The catalogue lives on the REST API, also when runs go through a gateway."""
        return f"{self.base_url}/accounts/{self.account_id}/ai/models/search"

    @property
    def schema_url(self) -> str:
        """One model's input/output JSON Schemas (`?model=…`); on the REST API, like the catalogue."""
        return f"{self.base_url}/accounts/{self.account_id}/ai/models/schema"

    def headers(self) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self.api_token}"}
        if self.gateway_id and self.gateway_token:
            headers["cf-aig-authorization"] = f"Bearer {self.gateway_token}"
        return headers

    @property
    def account_hint(self) -> str:
        """The last four characters of the account id: enough to recognise it, not to copy it."""
        return f"…{self.account_id[-4:]}" if self.account_id else ""

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.api_token, self.gateway_token) if s)

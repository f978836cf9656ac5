"""A contract-faithful fake of Cloudflare's Workers AI REST API, as a real HTTP server.

    with FakeWorkersAI(account_id=..., token=...) as fake:
        fake.fail(Fault.error(429, 3040, "Capacity temporarily exceeded", retry_after=1))
        ...  # point the client at fake.base_url / fake.gateway_url

Run `python -m tests.fake_workers_ai --port 8787` to serve it for the app by hand.
"""

from .fake import DEFAULT_ACCOUNT_ID, DEFAULT_TOKEN, FakeWorkersAI
from .faults import Fault
from .handler import RecordedRequest
from .registry import MODELS

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_TOKEN", "MODELS", "FakeWorkersAI", "Fault", "RecordedRequest"]

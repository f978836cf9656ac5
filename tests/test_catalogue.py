"""The model catalogue: every page, cached, flagged, and a built-in list when it cannot be read."""

import asyncio

from components.workers_ai import CHAT, SPEECH, Catalogue, WorkersAI, builtin_models
from tests.conftest import make_settings
from tests.fake_workers_ai import Fault


def catalogue_requests(fake):
    return [r for r in fake.requests if r.path.endswith("/ai/models/search")]


def test_all_pages_are_read_and_deprecated_models_flagged(client, fake):
    models = asyncio.run(Catalogue(client).models(CHAT))
    names = [m.name for m in models]
    assert "@cf/meta/llama-3.1-8b-instruct-fast" in names and "@cf/zai-org/glm-4.7-flash" in names
    assert len(catalogue_requests(fake)) > 1, "the fake pages its answers: more than one page must be read"
    assert all(r.query["task"] == CHAT for r in catalogue_requests(fake))
    deprecated = next(m for m in models if m.name == "@cf/meta/llama-3.1-8b-instruct")
    assert deprecated.label.endswith("deprecated 2026-05-30")
    assert names.index("@cf/meta/llama-3.1-8b-instruct") > names.index("@cf/zai-org/glm-4.7-flash")


def test_catalogue_is_cached(client, fake):
    catalogue = Catalogue(client)

    async def twice():
        await catalogue.models(SPEECH)
        seen = len(catalogue_requests(fake))
        await catalogue.models(SPEECH)
        return seen

    seen = asyncio.run(twice())
    assert seen >= 1 and len(catalogue_requests(fake)) == seen


def test_unreadable_catalogue_falls_back_to_the_built_in_table(fake):
    client = WorkersAI(make_settings(fake, api_token="wrong"))
    models = asyncio.run(Catalogue(client).models(CHAT))
    assert [m.name for m in models] == [m.name for m in builtin_models(CHAT)]


def test_catalogue_server_error_falls_back(client, fake):
    fake.fail(*[Fault.error(500, 7009, "down")] * 3, model="catalogue")
    models = asyncio.run(Catalogue(client).models(CHAT))
    assert models == builtin_models(CHAT)

"""Model schemas and the whole catalogue through the client, against the real fake server on loopback: every schema
fetched once however many ask, None for a model that publishes none, typed errors, failures kept briefly."""

from __future__ import annotations

import asyncio
import time

import pytest

from components.workers_ai import (
    CHAT,
    Catalogue,
    DeprecatedModelError,
    InvalidModelIdError,
    ModelNotFoundError,
    ModelSchema,
    NotConfiguredError,
    ProtocolError,
    Schemas,
    ServerError,
    Settings,
    WorkersAI,
    builtin_catalogue,
    builtin_models,
)
from tests.conftest import make_settings
from tests.fake_workers_ai import MODELS, Fault
from tests.fake_workers_ai.schemas import schema_of
from tests.media_models import FLUX, LLAVA

PUBLISHED = sorted(name for name, info in MODELS.items() if info.has_schema and not info.deprecated)


def run(coro):
    return asyncio.run(coro)


def schema_requests(fake, model: str | None = None) -> int:
    return sum(1 for r in fake.requests if r.path.endswith("/ai/models/schema")
               and (model is None or r.query.get("model") == model))


def test_every_published_schema_arrives_whole(client, fake):
    async def every():
        return {name: await client.schema(name) for name in PUBLISHED}

    found = run(every())
    for name, schema in found.items():
        assert isinstance(schema, ModelSchema)
        assert {"input": schema.input, "output": schema.output} == schema_of(MODELS[name].kind), name
    assert schema_requests(fake) == len(PUBLISHED)
    flux = found[FLUX].input["properties"]
    assert flux["prompt"]["maxLength"] == 2048 and flux["steps"]["maximum"] == 8
    assert found["@cf/bytedance/stable-diffusion-xl-lightning"].output["contentType"] == "image/png"


def test_many_callers_at_once_make_one_request_then_the_cache_answers(client, fake):
    fake.fail(Fault.hang(0.2), model="catalogue")  # the first answer is slow: every caller arrives while it waits

    async def crowd():
        return await asyncio.gather(*(client.schema(FLUX) for _ in range(25)))

    answers = run(crowd())
    assert all(a == answers[0] for a in answers) and schema_requests(fake, FLUX) == 1
    assert run(client.schema(FLUX)) == answers[0] and schema_requests(fake, FLUX) == 1


def test_a_model_without_a_schema_is_none_and_that_is_cached_too(client, fake):
    assert run(client.schema(LLAVA)) is None
    assert run(client.schema(LLAVA)) is None
    assert schema_requests(fake, LLAVA) == 1


def test_unknown_deprecated_and_invalid_models_raise_their_typed_errors(client, fake):
    with pytest.raises(ModelNotFoundError, match="does not know the model @cf/nobody/nothing"):
        run(client.schema("@cf/nobody/nothing"))
    with pytest.raises(DeprecatedModelError, match="deprecated on 2026-05-30"):
        run(client.schema("@cf/meta/llama-3.1-8b-instruct"))
    with pytest.raises(InvalidModelIdError):
        run(client.schema("../../user/tokens/verify"))
    assert schema_requests(fake) == 2, "an id that is not a model id is never sent"


def test_a_failure_is_kept_only_briefly(client, fake):
    schemas = Schemas(client, retry_after_failure=0.3)
    fake.fail(*[Fault.error(500, 7009, "Upstream unavailable")] * 3, model="catalogue")
    with pytest.raises(ServerError):
        run(schemas.get(FLUX))
    assert schema_requests(fake, FLUX) == 3  # retried like any call, then given up
    with pytest.raises(ServerError):
        run(schemas.get(FLUX))  # within the pause: the failure again, nothing sent
    assert schema_requests(fake, FLUX) == 3
    time.sleep(0.35)
    assert run(schemas.get(FLUX)).input["required"] == ["prompt"]
    assert schema_requests(fake, FLUX) == 4


def test_an_answer_that_is_not_a_schema_is_a_protocol_error(client, fake):
    fake.fail(Fault.raw(200, '{"result": ["not", "a", "schema"], "success": true}', "application/json"),
              model="catalogue")
    with pytest.raises(ProtocolError, match="not a schema"):
        run(client.fetch_schema(FLUX))


def test_without_an_account_nothing_is_asked():
    with pytest.raises(NotConfiguredError):
        run(WorkersAI(Settings()).schema(FLUX))


# ── the whole catalogue ─────────────────────────────────────────────────────────────────────


def catalogue_requests(fake) -> list:
    return [r for r in fake.requests if r.path.endswith("/ai/models/search")]


def test_all_models_reads_every_page_of_every_task_with_each_models_task(client, fake):
    catalogue = Catalogue(client)
    models = run(catalogue.all_models())
    by_name = {m.name: m for m in models}
    assert set(by_name) == set(MODELS)
    assert len(catalogue_requests(fake)) > 3 and all("task" not in r.query for r in catalogue_requests(fake))
    assert by_name[FLUX].task == "Text-to-Image" and by_name["@cf/meta/m2m100-1.2b"].task == "Translation"
    assert by_name["@cf/deepgram/aura-2-en"].task == "Text-to-Speech" and by_name[LLAVA].beta
    assert by_name["@cf/meta/llama-3.1-8b-instruct"].deprecation_date == "2026-05-30"
    tasks = [m.task for m in models]
    assert tasks == sorted(tasks), "grouped by task"
    chat = [m for m in models if m.task == CHAT]
    assert chat[-1].deprecation_date, "deprecated models last within their task"
    asked = len(catalogue_requests(fake))
    assert run(catalogue.all_models()) == models and len(catalogue_requests(fake)) == asked  # cached


def test_per_task_models_carry_their_task_and_the_api_is_unchanged(client):
    models = run(Catalogue(client).models(CHAT))
    assert models and all(m.task == CHAT for m in models)
    assert all(m.task == CHAT for m in builtin_models(CHAT))


def test_all_models_falls_back_to_the_built_in_table_with_tasks(fake):
    client = WorkersAI(make_settings(fake, api_token="wrong"))
    models = run(Catalogue(client).all_models())
    assert models == builtin_catalogue()
    tasks = {m.task for m in models}
    assert {"Text Generation", "Text-to-Image", "Text-to-Speech", "Translation"} <= tasks
    assert next(m for m in models if m.name == FLUX).task == "Text-to-Image"

"""The model catalogue: every page, cached, flagged, and a built-in list when it cannot be read."""

import asyncio

import pytest

from components.workers_ai import CHAT, SPEECH, Catalogue, ModelInfo, WorkersAI, builtin_models
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


# ── the catalogue's prices ──────────────────────────────────────────────────────────────────


def item(*properties, name="@cf/someone/model"):
    return {"name": name, "task": {"name": "Text-to-Image"},
            "properties": [{"property_id": key, "value": value} for key, value in properties]}


def test_a_price_is_kept_as_the_catalogue_gives_it_and_read_as_a_sentence():
    aura = ModelInfo.from_item(item(("price", [{"unit": "per 1k characters", "price": 0.03, "currency": "USD"}])))
    assert aura.price == (("per 1k characters", 0.03),) and aura.price_text == "$0.03 per 1k characters"
    llm = ModelInfo.from_item(item(("price", [
        {"unit": "per M input tokens", "price": 0.045, "currency": "USD"},
        {"unit": "per M output tokens", "price": 0.384, "currency": "USD"}])))
    assert llm.price_text == "$0.045 per M input tokens, $0.384 per M output tokens"
    flux = ModelInfo.from_item(item(("price", [{"unit": "per 512 by 512 tile", "price": 5.28e-05, "currency": "USD"},
                                               {"unit": "per step", "price": 3, "currency": "USD"}])))
    assert flux.price_text == "$0.0000528 per 512 by 512 tile, $3 per step"  # never 5.28e-05


def test_a_price_of_zero_everywhere_is_free_and_no_price_is_nothing():
    zero = [{"unit": "per step", "price": 0, "currency": "USD"}]
    assert ModelInfo.from_item(item(("beta", "true"), ("price", zero))).price_text == "free (beta)"
    assert ModelInfo.from_item(item(("price", zero))).price_text == "free"
    bare = ModelInfo.from_item(item(("context_window", "8192")))
    assert bare.price == () and bare.price_text == ""
    assert ModelInfo("@cf/meta/llama-3.1-8b-instruct-fast").price_text == ""  # the built-in table has no prices


@pytest.mark.parametrize("value", [
    None, "nonsense", 42, {"unit": "per step", "price": 1}, [], ["per step"],
    [{"unit": "", "price": 1, "currency": "USD"}], [{"price": 1, "currency": "USD"}],
    [{"unit": "per step", "price": "a lot", "currency": "USD"}], [{"unit": "per step", "price": -1}],
    [{"unit": "per step", "price": float("nan")}], [{"unit": "per step", "price": True}],
    [{"unit": "per step", "price": None}], [{"unit": "per step", "price": 1, "currency": "EUR"}],
])
def test_a_price_that_cannot_be_read_is_left_out(value):
    info = ModelInfo.from_item(item(("price", value), ("beta", "true")))
    assert info.price == () and info.price_text == "" and info.beta


def test_readable_entries_beside_garbage_are_kept_and_the_entry_stays_hashable():
    value = ["junk", {"unit": " per  step ", "price": "0.5"}, {"unit": "per step", "price": -2},
             {"unit": "per audio minute", "price": 1, "currency": "usd"}]
    info = ModelInfo.from_item(item(("price", value)))
    assert info.price == (("per step", 0.5), ("per audio minute", 1.0))  # no currency means USD, the only one
    as_json = ModelInfo.from_item(item(("price", '[{"unit": "per step", "price": 0.25, "currency": "USD"}]')))
    assert as_json.price == (("per step", 0.25),)
    assert {info, as_json, ModelInfo.from_item(item(("price", value)))} == {info, as_json}


def test_the_fakes_catalogue_prices_arrive_on_each_model(client, fake):
    models = {m.name: m for m in asyncio.run(Catalogue(client).all_models())}
    assert models["@cf/deepgram/aura-2-en"].price_text == "$0.03 per 1k characters"
    assert models["@cf/bytedance/stable-diffusion-xl-lightning"].price_text == "free (beta)"
    assert models["@cf/black-forest-labs/flux-1-schnell"].price == (("per 512 by 512 tile", 0.0000528),
                                                                    ("per step", 0.000106))
    assert models["@cf/myshell-ai/melotts"].price_text == "$0.000205 per audio minute"
    assert models["@cf/meta/m2m100-1.2b"].price_text == "$0.342 per M input tokens, $0.342 per M output tokens"
    assert models["@cf/moonshotai/kimi-k2.5"].price[-1] == ("per M cached input tokens", 0.1)
    assert models["@cf/facebook/detr-resnet-50"].price == () and models["@cf/facebook/detr-resnet-50"].price_text == ""

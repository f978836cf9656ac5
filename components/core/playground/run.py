"""One Playground run, without a page: find the model's task and schema, check the body, charge, send, show.

    form = await model_form(model)              # the input form, from the model's schema (cached by the client)
    async for shown in run(model, body, request):   # several while a text streams, else one
        ...

Every run is metered like any call of the app (components/core/usage.py): its bound is reserved before anything is
sent, it is settled at what it cost (the `cf-ai-neurons` header when Workers AI sends one, else the price list),
and its requests are recorded for the "How it works" panel under the action "playground".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ...workers_ai import CHAT, Estimate, ModelInfo, ModelOutput, ModelSchema, ProtocolError, run_estimate
from ..backend import is_offline, shared_catalogue, shared_client
from ..errors import InputProblem
from ..usage import metered
from .form import Form, Variant, form_of
from .outputs import TEXT, Shown, shown
from .payload import body_from_json, check, encoded, read_file

ACTION = "playground"
MAX_RECENT_FORMS = 256  # forms kept for the page's render; only models the backend knows ever get one
_recent: OrderedDict[str, ModelForm] = OrderedDict()
NEEDS_ACCOUNT = ("{what} needs a Cloudflare account: this demo runs offline on small local models, and none of them "
                 "{does}. Set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN and restart (see the README).")


@dataclass(frozen=True)
class ModelForm:
    """What the page needs to offer a model: its catalogue entry, its schema (None: it publishes none), its form."""

    model: str
    info: ModelInfo | None
    schema: ModelSchema | None
    form: Form

    @property
    def task(self) -> str:
        return self.info.task if self.info else ""


async def catalogue() -> list[ModelInfo]:
    """Every model of the live backend's catalogue, all tasks (cached; the built-in list when it is unreachable)."""
    return await shared_catalogue().all_models()


async def model_info(model: str) -> ModelInfo | None:
    return next((m for m in await catalogue() if m.name == model), None)


async def model_form(model: str) -> ModelForm:
    """The model's catalogue entry, schema and form. A model without a schema gets a form with no variants (the page
    offers raw JSON); one the catalogue does not list is refused before any request."""
    info = await model_info(model)
    if info is None:  # only the catalogue's models: each other id would cost a schema request on the owner's token
        raise InputProblem(f"{model} is not in the Workers AI catalogue: pick a model from the list.")
    schema = await shared_client().schema(model)
    made = ModelForm(model, info, schema, form_of(schema.input if schema else None, info.task))
    _recent[model] = made
    _recent.move_to_end(model)
    while len(_recent) > MAX_RECENT_FORMS:
        _recent.popitem(last=False)
    return made


def recent_form(model: str | None) -> ModelForm | None:
    """The form `model_form` made last for `model`, without waiting (the page's form is built in a synchronous
    render from a model id kept in the session: Gradio hashes session state, and a form holds dicts)."""
    return _recent.get(model) if model else None


def needs_account(what: str, does: str) -> None:
    """Refuse, in one sentence, a task the offline engine has no model for."""
    if is_offline():
        raise InputProblem(NEEDS_ACCOUNT.format(what=what, does=does))


def streams(form: ModelForm, body: dict | bytes) -> bool:
    """Whether to stream this run: a text generation whose schema offers `stream` (or, without a schema, whose
    body asks for it), unless the body says no. Any other model answers whole, whatever the body asks."""
    if not isinstance(body, dict) or body.get("stream") is False or form.task != CHAT:
        return False
    return form.form.streams if form.schema else bool(body.get("stream"))


async def run(form: ModelForm, body: dict | bytes, request) -> AsyncIterator[Shown]:
    """Run `form.model` on `body` for `request`'s visitor. Yields the text so far while a generation streams, then
    the whole answer; otherwise the answer once."""
    model, task = form.model, form.task or "Playground"
    # prices.json first, else the catalogue's own price; unknown: refused where a budget applies
    upper = run_estimate(model, body, None, info=form.info) or Estimate(model, None)
    async with metered(request, ACTION, task, upper) as meter:
        if streams(form, body):
            text, usage = "", {}
            async for delta in shared_client().stream(model, {k: v for k, v in body.items() if k != "stream"}):
                text += delta.text
                usage = delta.usage or usage
                if delta.text:
                    yield Shown(TEXT, text=text, value={"response": text}, summary=f"{len(text):,} characters")
            output = ModelOutput(result={"response": text, "usage": usage})
            meter.record(run_estimate(model, body, output, info=form.info) or upper)
            yield Shown(TEXT, text=text, value={"response": text, "usage": usage}, summary=f"{len(text):,} characters")
            return
        whole = {k: v for k, v in body.items() if k != "stream"} if isinstance(body, dict) else body
        output = await shared_client().invoke(model, whole)
        meter.record(run_estimate(model, body, output, info=form.info) or upper)
    yield shown(output.result, output.data, output.content_type, form.schema.output if form.schema else None)


async def run_once(form: ModelForm, body: dict | bytes, request) -> Shown:
    """The whole answer of `run` (for API callers that do not stream)."""
    last = None
    async for last in run(form, body, request):
        pass
    if last is None:
        raise ProtocolError(f"{form.model} answered nothing: try again.")
    return last


async def run_checked(model: str, body: dict, request) -> Shown:
    """Run a body built in code (the first-class tasks) after checking it against the model's own schema."""
    form = await model_form(model)
    return await run_once(form, checked(form, body), request)


def checked(form: ModelForm, body: dict) -> dict:
    """`body` once the schema variant it is meant for admits it (InputProblem with the reason otherwise)."""
    variant = pick_variant(form.form, body)
    check(body, variant.schema if variant else None, variant)
    return body


def pick_variant(form: Form, body: dict) -> Variant | None:
    """The variant a JSON body is meant for: all its required fields present, most of its fields used."""
    def fit(variant: Variant) -> tuple[int, int]:
        required = [f.name for f in variant.fields if f.required]
        return sum(n in body for n in required) - len(required), sum(n in body for n in variant.names)

    candidates = [v for v in form.variants if v.raw_body is None]
    return max(candidates, key=fit) if candidates else None


def body_for_api(form: ModelForm, inputs_json: str, file: str | None) -> dict | bytes:
    """An API caller's body (or the page's JSON): `inputs_json`, and a `file` sent raw (when the model takes a bare
    file) or put into the chosen variant's file field, encoded as its schema asks. Reads files: run it in a thread."""
    variants = form.form.variants
    if not (inputs_json or "").strip():
        if not file:
            raise InputProblem("Give the model's input as inputs_json (a JSON object), or a file for models that "
                               "take one.")
        if any(v.raw_body is not None for v in variants) or not variants:
            return read_file(file)
        body = {}
    else:
        body = body_from_json(inputs_json)
    variant = pick_variant(form.form, body)
    if file:
        target = next((f for f in (variant.fields if variant else ()) if f.binary and f.name not in body), None)
        if target is None:
            raise InputProblem(f"{form.model} has no file input left to put the file in: send inputs_json alone, "
                               "or the file alone.")
        body[target.name] = encoded(target, file)
    return checked(form, body)

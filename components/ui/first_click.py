"""One click, one result: what the tabs share to show a visitor a result the moment they click an example.

- `answer` runs an example through the tab's own endpoint function (metered and budgeted like any call) or hands
  back the answer this backend already gave for it with that model (components/core/first_results.py), with the
  cost line and the "How it works" text that say which of the two happened.
- `on_example` runs a tab's function when one of its `gr.Examples` is clicked, privately (no API endpoint, no MCP
  tool), and brings the header meter up to date afterwards.
- `model_notice` puts a note in a tab that, on the tab's first visit while its offline model is not in memory,
  says how long loading takes, and loads it ahead of the first answer.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path

import gradio as gr
from gradio.context import Context

from ..core.backend import is_offline
from ..core.errors import InputProblem
from ..core import scratch
from ..core.first_results import Answer, first_results
from ..core.model_loading import load_ahead, loading_note
from ..core.usage import session_key, shared_ledger
from ..workers_ai import recent
from .endpoints import concurrency_limit
from .how_it_works import describe_trace
from .panels import after_answer, describe

# Kept speech answers name subtitle files that core/scratch.py removes after an hour: reuse them for half that.
FILE_ANSWER_MAX_AGE = scratch.MAX_AGE_SECONDS // 2


def _where() -> str:
    return "the offline engine" if is_offline() else "Workers AI"


def reused_cost(kept: Answer) -> str:
    when = time.strftime("%H:%M UTC", time.gmtime(kept.made))
    return f"Example answered at {when} on {_where()} and reused: nothing sent, no neurons spent."


def reused_requests(kept: Answer, button: str) -> str:
    when = time.strftime("%H:%M:%S UTC", time.gmtime(kept.made))
    return (f"*Nothing was sent for this example: {_where()} answered it with this model at {when}, and that answer "
            f"was shown again. Press **{button}** to send the request now.*")


async def answer(key: Hashable | None, run: Callable[[], Awaitable], action: str, request, button: str,
                 files: bool = False) -> tuple:
    """(value, cost line, How-it-works text) for an example: `run()` computes it (the tab's endpoint function,
    metered as `action`); with a `key`, an answer already kept for it on this backend is reused instead. An
    answer whose value names `files` (every str in it that is a path) is reused only while they are there, and
    for FILE_ANSWER_MAX_AGE at most."""
    if key is None:
        value, kept = await run(), None
    else:
        kept = await first_results().get(key, run, FILE_ANSWER_MAX_AGE if files else None,
                                         _files_exist if files else None)
        value = kept.value
    if kept is not None and kept.reused:
        return value, reused_cost(kept), reused_requests(kept, button)
    session = session_key(request)
    return value, describe(shared_ledger().last(session, action)), describe_trace(recent((session, action)))


def example_file(chosen: tuple[int, list] | None) -> str:
    """The file of the example a visitor clicked, as the tab listed it (assets/), from the examples' dataset value
    (index, row). Not Gradio's copy in its cache: the file itself, which no cache clean-up removes."""
    if not chosen or not chosen[1]:
        raise InputProblem("Click one of the examples.")
    return str(chosen[1][0])


def _files_exist(value) -> bool:
    return all(Path(item).is_file() for item in value if isinstance(item, str) and Path(item).is_absolute())


def on_example(examples: gr.Examples, fn, inputs: list, outputs: list, *, action: str,
               cost: gr.Markdown, requests: gr.Markdown, meter: gr.HTML | None = None):
    """When an example of `examples` is clicked (Gradio first fills its inputs in), run `fn(*inputs)` into
    `outputs` + [cost, requests]: privately, queued like the tab's button. A failure empties the cost line and
    shows what was sent, as after a button's answer; either way the header meter follows."""
    ran = examples.load_input_event.then(fn, inputs, [*outputs, cost, requests], api_visibility="private",
                                          concurrency_limit=concurrency_limit())
    after_answer(ran.success, action, meter=meter)
    after_answer(ran.failure, action, cost=cost, requests=requests, meter=meter)
    return ran


def enclosing_tab() -> gr.Tab | None:
    """The gr.Tab the components being built go into, or None (a tab module rendered on its own)."""
    block = Context.block
    while block is not None and not isinstance(block, gr.Tab):
        block = getattr(block, "parent", None)
    return block


def model_notice(model: gr.Dropdown, load: bool = True):
    """A note, shown when the enclosing tab is opened while `model` (the dropdown's value) is an offline model not
    loaded yet: 'Loading Whisper tiny.en (about 1 s, first time only)…'. With `load`, the model then loads (once per
    process) and the note goes. Returns the tab's select event, for a first result to follow it; None outside a
    tab. Neither event is queued: a note never waits behind (or counts against) the visitor's own jobs."""
    note = gr.Markdown(visible=False, elem_classes="loading-note")
    tab = enclosing_tab()
    if tab is None:
        return None
    quiet = dict(api_visibility="private", queue=False, show_progress="hidden")
    opened = tab.select(_show_note, model, note, **quiet)
    if load:
        opened.then(_load, model, note, **quiet)
    return opened


def announce_loading(model: str, progress) -> None:
    """While an offline model loads for an answer, say so (and for how long) in the answer's progress bar."""
    if progress is not None and (note := loading_note(model)):
        progress(0, desc=note)


def _show_note(model: str):
    note = loading_note(model or "")
    return gr.update(value=f"*{note}*", visible=True) if note else gr.update(visible=False)


async def _load(model: str):
    try:
        await load_ahead(model or "")
    except Exception:  # the answer that needs it will say what is wrong, in its own place
        pass
    return gr.update(visible=False)

"""`python app.py` with candidate fixes patched in at start-up, to measure them before anyone changes the app.
Not the app's behaviour: a benchmark experiment only (bench_cloud_concurrency.py --what-if …).

    WHATIF=coalesce,no-mpl-probe .venv/bin/python bench/_app_whatif.py

- `coalesce`: the chat's streaming generator (`components.chat._answer`, used by both `/chat` and the page) yields
  the newest cumulative reply only: deltas that arrive while Gradio is still sending the previous update are merged
  into the next one (a reader task drains the stream into a queue). Idle, that is one event per token as now;
  under load, fewer and larger events instead of a backlog.
- `no-mpl-probe`: Gradio wraps every call and every streamed iteration in `utils.MatplotlibBackendMananger`, which
  runs `import matplotlib` twice; matplotlib is not installed here, and a failed import is not cached, so each
  iteration searches sys.path again. Marking it absent in sys.modules makes that import fail at once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
WHATIF = {name.strip() for name in os.environ.get("WHATIF", "").split(",") if name.strip()}

if "no-mpl-probe" in WHATIF and importlib.util.find_spec("matplotlib") is None:
    sys.modules["matplotlib"] = None  # `import matplotlib` now raises ImportError without a sys.path search

import app  # noqa: E402
from components import chat  # noqa: E402

_DONE = object()


def coalescing(answer):
    """Wrap an async generator of cumulative values: yield the newest one each time the consumer asks."""

    async def wrapper(*args, **kwargs):
        queue: asyncio.Queue = asyncio.Queue()

        async def pump():
            try:
                async for item in answer(*args, **kwargs):
                    queue.put_nowait(item)
            except Exception as exc:  # handed over to the consumer, raised there
                queue.put_nowait(exc)
                return
            queue.put_nowait(_DONE)

        reader = asyncio.ensure_future(pump())
        try:
            while True:
                item = await queue.get()
                while item is not _DONE and not isinstance(item, Exception) and not queue.empty():
                    following = queue.get_nowait()
                    if following is _DONE or isinstance(following, Exception):
                        yield item  # the newest value before the end or the error
                    item = following
                if item is _DONE:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            reader.cancel()

    return wrapper


if "coalesce" in WHATIF:
    chat._answer = coalescing(chat._answer)

if __name__ == "__main__":
    app.main()

"""Optional modules that are not installed, recorded as absent once.

Some libraries probe for an optional module with `import x` inside a function that runs on every request; when
the module is not installed, each failed import searches the whole sys.path again (~80 µs on the build machine).
Recording the absence (`sys.modules[name] = None`) makes the import fail at once with the ImportError
(`ModuleNotFoundError`) those libraries expect. A module that is installed is left alone. Measured cases:
- `matplotlib`, probed twice per streamed Gradio update (components/gradio_tuning.py);
- `sniffio`, probed by httpcore for every request and every lock it makes (`current_async_library`): ~7 probes,
  ~0.6 ms, per streamed Workers AI or Anthropic request (anyio 4 no longer needs sniffio, so it is not installed).
"""

from __future__ import annotations

import importlib.util
import sys


def mark_absent(*names: str) -> None:
    for name in names:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # `import name` now raises ModuleNotFoundError without a search

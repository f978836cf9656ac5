"""One click, one result (issue 17): is keeping the examples' answers worth it, and how long does a model's first load
take? Prints Markdown tables; nothing leaves the machine.

1. Per example, through the tab's own handler (components/tabs/*: `_example`, `_compare_example`, `_first_result`):
   the time of an answer computed now (models already loaded) against the same click answered from the kept answer
   (core/first_results.py), as a ratio, on the offline engine and on the fake Workers AI server (loopback: Cloudflare
   adds its network time and bills neurons on top).
2. Each offline model's first use in a fresh process: the load, and the first answer against a later one (the
   figures components/core/model_loading.py quotes).

    .venv/bin/python bench/bench_first_click.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import ACCOUNT_ID, ASSETS, PYTHON, ROOT, TOKEN, fake_server

FIRST_USE = """
import asyncio, json, sys, time
from components.core import backend
from components.local import MODELS, offline_client
backend.use_client(offline_client())
name, kind = sys.argv[1], sys.argv[2]
started = time.perf_counter(); MODELS[name].get(); load = time.perf_counter() - started
from components.core import embeddings, speech, vision
async def once():
    if kind == "vision":
        await vision.classify_file("assets/cat-chelsea.png", name, None)
    elif kind == "speech":
        await speech.transcribe_file("assets/speech-fox.wav", name, "", "transcribe", None)
    elif kind == "embeddings":
        await embeddings.compare(["a cat on a mat", "a kitten on a rug"], name)
    else:
        async for _ in backend.shared_client().stream(name, {"messages": [{"role": "user", "content": "Hi"}],
                                                                "max_tokens": 8}):
            pass
times = []
for _ in range(3):
    started = time.perf_counter(); asyncio.run(once()); times.append(time.perf_counter() - started)
print(json.dumps({"load": load, "first": times[0], "later": min(times[1:])}))
"""
MODELS = [("@local/smollm2-135m-instruct", "chat"), ("@local/whisper-tiny-en", "speech"),
          ("@local/efficientnet-lite0", "vision"), ("@local/all-minilm-l6-v2", "embeddings")]


def clicks(tmp: Path):
    """(name, coroutine factory) for each example click, through the tabs' handlers, as Gradio hands it over."""
    from components.tabs import embeddings, speech, vision

    cat = str(shutil.copy(ASSETS / "cat-chelsea.png", tmp / "cat-chelsea.png"))
    fox = str(shutil.copy(ASSETS / "speech-fox.wav", tmp / "speech-fox.wav"))
    return [
        ("Vision: cat example", lambda: vision._example(cat, "")),
        ("Speech: fox example (3.8 s)", lambda: speech._example(fox, "", "", "transcribe")),
        ("Embeddings: an example set", lambda: embeddings._compare_example(embeddings.EXAMPLE_SENTENCES, "")),
        ("Embeddings: the tab's first result", lambda: embeddings._first_result(False, "")),
    ]


def measure(client, repeats: int, tmp: Path) -> list[tuple[str, float, float]]:
    """(click, computed ms, reused ms), medians, all in one event loop as in the app: the store is emptied before
    each computed run."""
    from components.core import backend
    from components.core.first_results import first_results

    backend.use_client(client)

    async def run() -> list[tuple[str, float, float]]:
        rows = []
        for name, click in clicks(tmp):
            await click()  # warm: models loaded, first-call set-up done
            computed, reused = [], []
            for _ in range(repeats):
                first_results().forget()
                started = time.perf_counter()
                await click()
                computed.append(time.perf_counter() - started)
                started = time.perf_counter()
                await click()
                reused.append(time.perf_counter() - started)
            rows.append((name, 1000 * statistics.median(computed), 1000 * statistics.median(reused)))
        return rows

    return asyncio.run(run())


def table(title: str, rows) -> None:
    print(f"\n### {title}\n\n| click | computed now | reused | ratio |\n|---|---:|---:|---:|")
    for name, computed, reused in rows:
        print(f"| {name} | {computed:.1f} ms | {reused:.2f} ms | {computed / reused:.0f}× |")


def first_use() -> None:
    import json

    print("\n### First use of each offline model (fresh process)\n\n| model | load | first answer | later answer |"
          "\n|---|---:|---:|---:|")
    for name, kind in MODELS:
        run = subprocess.run([PYTHON, "-c", FIRST_USE, name, kind], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
        if run.returncode:
            print(f"| {name} | failed: {run.stderr.strip().splitlines()[-1]} | | |")
            continue
        got = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"| {name} | {got['load']:.2f} s | {got['first']:.2f} s | {got['later']:.2f} s |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from components import workers_ai
    from components.local import offline_client

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; medians of {args.repeats}")
    with tempfile.TemporaryDirectory() as tmp:
        table("Offline engine", measure(offline_client(), args.repeats, Path(tmp)))
        with fake_server() as fake:
            settings = workers_ai.Settings(account_id=ACCOUNT_ID, api_token=TOKEN, base_url=fake.base_url)
            table("Fake Workers AI server (loopback)", measure(workers_ai.WorkersAI(settings), args.repeats, Path(tmp)))
    first_use()


if __name__ == "__main__":
    sys.exit(main())

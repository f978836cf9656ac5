"""The offline engine, measured in one fresh process: cold start of each model, throughput through the engine
(the app's path: shared client → in-process transport → engine), and peak RSS with all four loaded.

    .venv/bin/python bench/bench_offline.py [--rounds 3]

Prints a Markdown table for bench/README.md. Not a test: the numbers depend on the machine and its load
(the load average is printed with them). Chat tokens/s against bare xllamacpp: bench/bench_local_chat.py.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import statistics
import sys
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ASSETS = ROOT / "assets"


def rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getnframes() / wav.getframerate()


async def measure(rounds: int) -> list[tuple[str, str]]:
    from components.local import MODELS, offline_client

    client = offline_client()
    rows: list[tuple[str, str]] = [("RSS before any model", f"{rss_mb():.0f} MB")]
    image = (ASSETS / "coffee-cup.png").read_bytes()
    speech = {name: (ASSETS / name).read_bytes() for name in ("speech-fox.wav", "speech-weather.wav")}
    sentences = [f"Sentence number {i} talks about {topic}." for i, topic in
                 enumerate(["cats", "the stock market", "edge computing", "bread", "the weather"] * 20)]
    chat = {"messages": [{"role": "system", "content": "You are a helpful assistant."},
                         {"role": "user", "content": "Write a long story about a dragon who bakes bread."}],
            "max_tokens": 128, "temperature": 0, "seed": 1}

    async def first_call(model: str, call) -> None:
        started = time.perf_counter()
        await call()
        rows.append((f"cold start {model} (load + first answer)",
                     f"{time.perf_counter() - started:.2f} s (load {MODELS[model].load_seconds:.2f} s)"))

    async def chat_once():
        return [d async for d in client.stream("@local/smollm2-135m-instruct", chat)]

    await first_call("@local/smollm2-135m-instruct", chat_once)
    await first_call("@local/whisper-tiny-en", lambda: client.run_bytes("@local/whisper-tiny-en", speech["speech-fox.wav"]))
    await first_call("@local/efficientnet-lite0", lambda: client.run_bytes("@local/efficientnet-lite0", image))
    await first_call("@local/all-minilm-l6-v2", lambda: client.run("@local/all-minilm-l6-v2", {"text": sentences[:8]}))
    rows.append(("peak RSS with all four loaded", f"{rss_mb():.0f} MB"))

    speeds = []
    for _ in range(rounds):
        started, arrivals = time.perf_counter(), []
        async for delta in client.stream("@local/smollm2-135m-instruct", chat):
            if delta.text:
                arrivals.append(time.perf_counter())
        speeds.append((len(arrivals) - 1) / (arrivals[-1] - arrivals[0]))
    rows.append(("chat decode through the engine", f"{statistics.median(speeds):.1f} tokens/s"))

    for name, data in speech.items():
        factors = []
        for _ in range(rounds):
            started = time.perf_counter()
            await client.run_bytes("@local/whisper-tiny-en", data)
            factors.append((time.perf_counter() - started) / wav_seconds(data))
        rows.append((f"Whisper real-time factor, {name} ({wav_seconds(data):.1f} s)", f"{statistics.median(factors):.2f}"))

    started, count = time.perf_counter(), 10 * rounds
    for _ in range(count):
        await client.run_bytes("@local/efficientnet-lite0", image)
    rows.append(("image classification", f"{count / (time.perf_counter() - started):.1f} images/s"))

    started = time.perf_counter()
    for _ in range(rounds):
        await client.run("@local/all-minilm-l6-v2", {"text": sentences})
    rows.append(("embeddings (batches of 100)", f"{len(sentences) * rounds / (time.perf_counter() - started):.0f} sentences/s"))
    rows.append(("peak RSS at the end", f"{rss_mb():.0f} MB"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = asyncio.run(measure(args.rounds))
    load1, load5, _ = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load1:.1f}/{load5:.1f}, medians of {args.rounds} rounds\n")
    print("| measure | result |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()

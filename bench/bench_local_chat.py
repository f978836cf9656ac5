"""Offline chat speed: bare xllamacpp vs ChatModel.stream vs the whole engine path, in one run, same prompt.

The engine path is what the app uses: shared client → in-process transport → engine → SSE → client decoder.

    .venv/bin/python bench/bench_local_chat.py [--threads N] [--rounds 5] [--max-tokens 128]

Decode tokens/s is measured where the tokens arrive: (tokens − 1) / (last arrival − first arrival), so it excludes
prompt processing; llama.cpp's own `predicted_per_second` is shown next to it. Both paths run at temperature 0 with
the same seed, so they produce the same tokens. Not a test: numbers depend on the machine and on whatever else
is using its CPUs (check the load average printed with the table).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a long story about a dragon who learns to bake bread."},
]


def bare_run(server, max_tokens: int) -> dict:
    """One streamed request straight through xllamacpp's callback: arrival time of every content chunk."""
    arrivals, final = [], {}
    started = time.perf_counter()

    def on_chunk(chunk) -> bool:
        now = time.perf_counter()
        for choice in chunk.get("choices") or []:
            if (choice.get("delta") or {}).get("content"):
                arrivals.append(now)
        if chunk.get("timings"):
            final.update(chunk)
        return False

    request = {"messages": MESSAGES, "max_tokens": max_tokens, "temperature": 0.0, "seed": 1, "stream": True,
               "cache_prompt": False, "stream_options": {"include_usage": True}}
    server.handle_chat_completions(request, on_chunk)
    return _summary(started, arrivals, final.get("timings", {}).get("predicted_per_second"))


def model_run(model, max_tokens: int) -> dict:
    arrivals = []
    started = time.perf_counter()
    for event in model.stream(MESSAGES, max_tokens=max_tokens, temperature=0, seed=1):
        if event["text"]:
            arrivals.append(time.perf_counter())
    return _summary(started, arrivals, None)


def engine_run(client, max_tokens: int) -> dict:
    """Through the shared Workers AI client and the in-process engine, SSE decoding included."""
    import asyncio

    async def go():
        arrivals = []
        started = time.perf_counter()
        payload = {"messages": MESSAGES, "max_tokens": max_tokens, "temperature": 0, "seed": 1}
        async for delta in client.stream("@local/smollm2-135m-instruct", payload):
            if delta.text:
                arrivals.append(time.perf_counter())
        return _summary(started, arrivals, None)

    return asyncio.run(go())


def _summary(started: float, arrivals: list[float], server_tps) -> dict:
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else float("nan")
    return {"tokens": len(arrivals), "first_token_s": arrivals[0] - started if arrivals else float("nan"),
            "tps": (len(arrivals) - 1) / span if span and span > 0 else float("nan"), "server_tps": server_tps}


def median(rows: list[dict], key: str) -> float:
    values = [row[key] for row in rows if row[key] is not None]
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="default: the module's default_threads()")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    started = time.perf_counter()
    import xllamacpp

    from components.local import chat_model

    import_s = time.perf_counter() - started
    threads = args.threads or chat_model.default_threads()

    started = time.perf_counter()
    bare = xllamacpp.Server(chat_model.server_params(threads))
    bare_load_s = time.perf_counter() - started
    model = chat_model.ChatModel.load(threads=threads)
    from components.local import offline_client

    engine = offline_client()

    bare_run(bare, 8)  # one short warm-up each (the engine's loads its model here)
    model_run(model, 8)
    engine_run(engine, 8)
    bare_rows, model_rows, engine_rows = [], [], []
    for _ in range(args.rounds):  # interleaved, so a burst of load elsewhere hits all alike
        bare_rows.append(bare_run(bare, args.max_tokens))
        model_rows.append(model_run(model, args.max_tokens))
        engine_rows.append(engine_run(engine, args.max_tokens))

    load1, load5, _ = os.getloadavg()
    print(f"xllamacpp {getattr(xllamacpp, '__version__', '?')}, {chat_model.MODEL_FILE}, threads={threads}, "
          f"cpus={os.cpu_count()}, load average {load1:.1f}/{load5:.1f}, {args.rounds} rounds × "
          f"{median(bare_rows, 'tokens'):.0f} tokens, medians")
    print(f"import xllamacpp + module: {import_s:.2f} s | cold load (bare Server): {bare_load_s:.2f} s | "
          f"second load (ChatModel.load): {model.load_seconds:.2f} s")
    print()
    print("| path | decode tok/s | llama.cpp predicted/s | first token |")
    print("|---|---|---|---|")
    for name, rows in (("bare xllamacpp callback", bare_rows), ("ChatModel.stream", model_rows),
                       ("engine via shared client (the app's path)", engine_rows)):
        server_tps = median(rows, "server_tps")
        print(f"| {name} | {median(rows, 'tps'):.1f} | {'' if server_tps != server_tps else f'{server_tps:.1f}'} | "
              f"{median(rows, 'first_token_s') * 1000:.0f} ms |")
    print(f"\nChatModel.stream / bare: {median(model_rows, 'tps') / median(bare_rows, 'tps'):.2f}")
    print(f"engine / bare: {median(engine_rows, 'tps') / median(bare_rows, 'tps'):.2f} (target ≥ 0.90)")


if __name__ == "__main__":
    main()

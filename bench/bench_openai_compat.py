"""The served offline engine's OpenAI-compatible route against its Workers AI route (issue 16): streamed decode
tokens/s through `POST …/ai/v1/chat/completions` vs `POST …/ai/run/@local/smollm2-135m-instruct`. Target ≥ 0.95×.

    .venv/bin/python bench/bench_openai_compat.py [--rounds 8] [--max-tokens 128] [--threads N]

One engine (`python -m components.local`, a child process, as a developer runs it) and one client process; the same
messages, max tokens, temperature 0 and seed on both routes, so both stream the very same tokens (checked). The routes
alternate, and which goes first alternates each round, so a burst of load elsewhere hits both alike. Each run is read
as its client would: raw SSE with httpx for both routes (the same parsing work), and the official `openai` SDK's
stream as a third row (what LangChain and friends see). Decode tokens/s counts where the text arrives:
(events with text − 1) / (last arrival − first arrival), so prompt processing is left out; first-token time is shown
beside it. The verdict takes the median of the per-round ratios: each pair ran back to back, so a burst of other
work shifts both of a pair far more often than it separates them. The engine's CPU time per token (from /proc, all its threads) is shown too: on a machine shared with
other work the wall-clock rate swings with their load, the CPU a route spends per token hardly does. Not a test:
the numbers depend on the machine and its load (printed with the table).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from _harness import ROOT, free_port, load_line, median, table, verdict

import httpx

MODEL = "@local/smollm2-135m-instruct"
TOKEN = "bench-openai-compat"
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Write a long story about a dragon who learns to bake bread."},
]
TARGET = 0.95


def start_engine(port: int, threads: int | None) -> subprocess.Popen:
    env = dict(os.environ)
    if threads:
        env["LOCAL_CHAT_THREADS"] = str(threads)
    engine = subprocess.Popen([sys.executable, "-m", "components.local", "--port", str(port), "--token", TOKEN],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return engine
        except httpx.TransportError:
            time.sleep(0.05)
    engine.kill()
    raise TimeoutError("the engine did not start within 120 s")


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread: llama.cpp's included) the engine process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measured(pid: int, run) -> dict:
    """`run()` with the engine's CPU time per token beside it: the route's own cost, which another process's load
    on the machine barely moves (the wall-clock rate, on a shared machine, it does)."""
    before = cpu_seconds(pid)
    row = run()
    row["cpu_ms_per_token"] = (cpu_seconds(pid) - before) * 1000 / max(row["tokens"], 1)
    return row


def sse_run(http: httpx.Client, url: str, body: dict, text_of) -> dict:
    """One streamed request; the arrival time and text of every event that carries text."""
    arrivals, texts = [], []
    started = time.perf_counter()
    with http.stream("POST", url, json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            if text := text_of(json.loads(line[6:])):
                arrivals.append(time.perf_counter())
                texts.append(text)
    return summary(started, arrivals, "".join(texts))


def workers_ai_text(event: dict) -> str:
    return event.get("response") or ""


def openai_text(event: dict) -> str:
    choices = event.get("choices") or [{}]
    return (choices[0].get("delta") or {}).get("content") or ""


def sdk_run(client, max_tokens: int) -> dict:
    arrivals, texts = [], []
    started = time.perf_counter()
    for chunk in client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=max_tokens,
                                                temperature=0, seed=1, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            arrivals.append(time.perf_counter())
            texts.append(chunk.choices[0].delta.content)
    return summary(started, arrivals, "".join(texts))


def summary(started: float, arrivals: list[float], text: str) -> dict:
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    return {"tokens": len(arrivals), "tps": (len(arrivals) - 1) / span if span > 0 else float("nan"),
            "first_token_s": arrivals[0] - started if arrivals else float("nan"), "text": text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None,
                        help="the engine's LOCAL_CHAT_THREADS (default: every CPU). 1 keeps llama.cpp's threads from "
                             "spin-waiting on each other when the machine is busy with other work")
    args = parser.parse_args()

    import openai

    port = free_port()
    base = f"http://127.0.0.1:{port}/client/v4/accounts/local/ai"
    engine = start_engine(port, args.threads)
    try:
        with httpx.Client(headers={"authorization": f"Bearer {TOKEN}"}, timeout=300) as http, \
                openai.OpenAI(base_url=f"{base}/v1", api_key=TOKEN, max_retries=0, timeout=300) as sdk:
            body = {"messages": MESSAGES, "max_tokens": args.max_tokens, "temperature": 0, "seed": 1, "stream": True}
            runs = {
                "`/ai/run` (Workers AI SSE)": lambda: sse_run(http, f"{base}/run/{MODEL}", body, workers_ai_text),
                "`/ai/v1/chat/completions` (OpenAI chunks)": lambda: sse_run(
                    http, f"{base}/v1/chat/completions", {**body, "model": MODEL}, openai_text),
                "`/ai/v1/chat/completions` via the `openai` SDK": lambda: sdk_run(sdk, args.max_tokens),
            }
            for run in runs.values():  # warm-up: loads the model, fills caches; not counted
                run()
            rows: dict[str, list[dict]] = {name: [] for name in runs}
            names = list(runs)
            for round_ in range(args.rounds):
                order = names if round_ % 2 == 0 else names[::-1]
                for name in order:
                    rows[name].append(measured(engine.pid, runs[name]))
    finally:
        engine.terminate()
        engine.wait(10)

    texts = {row["text"] for results in rows.values() for row in results}
    baseline = median([r["tps"] for r in rows[names[0]]])
    base_cpu = median([r["cpu_ms_per_token"] for r in rows[names[0]]])
    print(f"{MODEL}, {args.rounds} rounds × {args.max_tokens} max tokens, temperature 0, seed 1, "
          f"engine threads {args.threads or 'default (every CPU)'}; "
          f"{'the same text on every route and run' if len(texts) == 1 else f'{len(texts)} DIFFERENT texts'}")
    print(load_line() + "\n")
    table_rows = []
    for name, results in rows.items():
        tps = median([r["tps"] for r in results])
        cpu = median([r["cpu_ms_per_token"] for r in results])
        table_rows.append([name, f"{median([r['tokens'] for r in results]):.0f}", f"{tps:.1f}",
                           f"{min(r['tps'] for r in results):.1f}–{max(r['tps'] for r in results):.1f}",
                           f"{median([r['first_token_s'] for r in results]) * 1000:.0f} ms", f"{tps / baseline:.3f}",
                           f"{cpu:.2f} ms", f"{cpu / base_cpu:.3f}"])
    print(table(["route", "events with text", "decode tok/s (median)", "range", "first token", "÷ /ai/run",
                 "engine CPU per token", "÷ /ai/run"], table_rows))
    ratio = median([r["tps"] for r in rows[names[1]]]) / baseline
    per_round = [v["tps"] / r["tps"] for v, r in zip(rows[names[1]], rows[names[0]])]
    paired = median(per_round)
    print(f"\n/ai/v1/chat/completions ÷ /ai/run, decode tokens/s: {paired:.3f} as the median of the per-round "
          f"ratios (each round runs both back to back), {ratio:.3f} as the ratio of the medians; target ≥ {TARGET}: "
          f"{verdict(paired >= TARGET)}")
    print(f"per-round ratios: {', '.join(f'{x:.2f}' for x in per_round)}")
    cpu_ratio = median([r["cpu_ms_per_token"] for r in rows[names[1]]]) / base_cpu
    print(f"engine CPU per token, /ai/v1/chat/completions ÷ /ai/run: {cpu_ratio:.3f} (≤ 1/{TARGET} = "
          f"{1 / TARGET:.3f} keeps the route's own cost within the target): {verdict(cpu_ratio <= 1 / TARGET)}")


if __name__ == "__main__":
    main()

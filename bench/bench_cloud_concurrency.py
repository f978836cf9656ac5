"""Concurrency: 50 simultaneous streamed chats through the app vs one chat alone.

    .venv/bin/python bench/bench_cloud_concurrency.py [--chats 50] [--tokens 60] [--rate 30] [--first-token-delay 0.2]

Each chat is the app's public `/chat` by raw HTTP to Gradio's queue; the fake answers every one with the same
stream (a first-token delay, then `--tokens` distinct words at `--rate` tokens/s: ~2.2 s by default, a typical
short answer). One chat alone is timed three times (median); then all the chats are started at once and the wall
time runs from the first POST to the last token. Target: ≤ 1.3×. Two cases:
- existing sessions: 50 visitors whose pages are open (a browser's session exists from page load, when the app's
  `demo.load` fills the model lists), each sending a message — the sessions are made by a warm-up chat each;
- new sessions: 50 raw-HTTP callers without a session, so Gradio builds 50 sessions during the burst.
The fake's `max_in_flight` shows whether the app really had them all streaming at once; the app's CPU time per
delivered token event shows what one process can sustain.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from _harness import (
    app_token_times, raw_http, cpu_seconds, distinct_tokens, fake_process, median, quantile, report, running_app,
    verdict,
)

TARGET_RATIO = 1.3


async def one_chat(http, url: str, label: str, tokens: int, session: str | None) -> tuple[float, float, float]:
    """(POST time, first token, last token) of one streamed chat through the app."""
    started, arrivals = await app_token_times(http, url, label, tokens, session)
    if len(arrivals) != tokens:
        raise RuntimeError(f"{label}: {len(arrivals)} of {tokens} tokens arrived")
    return started, arrivals[0], arrivals[-1]


async def burst(http, url: str, chats: int, tokens: int, label: str,
                sessions: list[str] | None = None) -> tuple[float, list[tuple[float, float, float]]]:
    began = time.perf_counter()
    runs = await asyncio.gather(*(one_chat(http, url, f"{label} {i}", tokens, sessions[i] if sessions else None)
                                  for i in range(chats)))
    return max(run[2] for run in runs) - began, runs


async def measure(fake, url: str, pid: int | None, chats: int, tokens: int) -> dict[str, dict]:
    sessions = [uuid.uuid4().hex for _ in range(chats)]
    results = {}
    async with raw_http() as http:
        await burst(http, url, chats, tokens, "warm-up", sessions)  # sessions, and connections to the app and fake
        for case, use in (("existing", sessions), ("new", None)):
            singles = []
            for index in range(3):
                wall, _ = await burst(http, url, 1, tokens, f"alone {index}", use)
                singles.append(wall)
            fake.restart_counts()
            cpu_app, cpu_here = cpu_seconds(pid) if pid else 0.0, cpu_seconds()
            wall, runs = await burst(http, url, chats, tokens, "together", use)
            cpu_app, cpu_here = (cpu_seconds(pid) - cpu_app) if pid else None, cpu_seconds() - cpu_here
            began = min(run[0] for run in runs)
            seen = fake.stats()
            # when each chat's request reached the fake (time.monotonic(), perf_counter's clock on Linux)
            to_fake = sorted(at - began for at in seen["request_times"])
            results[case] = {"single": median(singles), "wall": wall, "runs": runs, "to_fake": to_fake,
                             "max_in_flight": seen["max_in_flight"], "cpu_app": cpu_app, "cpu_here": cpu_here}
    return results


def rows_for(result: dict, args) -> list[list[str]]:
    ratio = result["wall"] / result["single"]
    runs = result["runs"]
    first_tokens = [first - start for start, first, _ in runs]
    stream_rates = [(args.tokens - 1) / (last - first) for _, first, last in runs]
    rows = [
        ["one chat alone (median of 3)", f"{result['single']:.2f} s", "", ""],
        [f"{args.chats} chats at once", f"{result['wall']:.2f} s", "", ""],
        ["**ratio**", f"**{ratio:.2f}×**", f"≤ {TARGET_RATIO}×", verdict(ratio <= TARGET_RATIO)],
        ["streams in flight together at the fake (max)", str(result["max_in_flight"]), str(args.chats), ""],
        ["first POST → the chat's request reaches the fake, median / last",
         f"{median(result['to_fake']):.2f} s / {max(result['to_fake']):.2f} s", "", ""],
        ["time to first token under load, median / p90 / max",
         f"{median(first_tokens):.2f} / {quantile(first_tokens, 0.9):.2f} / {max(first_tokens):.2f} s",
         f"{args.first_token_delay:.2f} s alone", ""],
        ["tokens/s per chat under load, median / slowest", f"{median(stream_rates):.1f} / {min(stream_rates):.1f}",
         f"{args.rate:.0f} emitted", ""],
        ["tokens delivered per second, all chats", f"{args.chats * args.tokens / result['wall']:.0f}",
         f"{args.chats * args.rate:.0f} emitted", ""],
    ]
    if result["cpu_app"] is not None:
        rows.append(["CPU during the burst: the app process / this process (HTTP client; the fake runs in its own)",
                     f"{result['cpu_app'] / result['wall']:.0%} / {result['cpu_here'] / result['wall']:.0%} of a core",
                     "", ""])
        rows.append(["app CPU per token delivered",
                     f"{1000 * result['cpu_app'] / (args.chats * args.tokens):.2f} ms", "", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=60)
    parser.add_argument("--rate", type=float, default=30.0, help="tokens per second per chat")
    parser.add_argument("--first-token-delay", type=float, default=0.2)
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    with fake_process(stream_tokens=distinct_tokens(args.tokens), first_token_delay=args.first_token_delay,
                      token_delay=1 / args.rate) as fake:
        with running_app(fake, in_process=args.in_process) as app:
            results = asyncio.run(measure(fake, app.url, app.process and app.process.pid, args.chats, args.tokens))
    how = "in-process" if args.in_process else "run as `python app.py`"
    for case, label in (("existing", "existing sessions (open pages)"), ("new", "a new session per chat")):
        report(f"Concurrency, {label}: {args.chats} streamed chats at once vs one ({args.tokens} tokens at "
               f"{args.rate:.0f} tokens/s after {1000 * args.first_token_delay:.0f} ms; app {how})",
               ["measure", "value", "target", "result"], rows_for(results[case], args))


if __name__ == "__main__":
    main()

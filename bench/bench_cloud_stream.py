"""Stream pass-through: 500 tokens emitted at 200 tokens/s by the fake; how fast does the app deliver them?

    .venv/bin/python bench/bench_cloud_stream.py [--tokens 500] [--rate 200] [--rounds 3]

The fake streams distinct words (" w0", " w1", …) with a fixed gap, calibrated first so that it really emits the
nominal rate (it sleeps the gap after each write, so its write time would otherwise slow it down a little); each
token's arrival is timed at the HTTP client: through the app's `/chat` (raw HTTP to Gradio's queue; the reply is cumulative text, so the word count of
each event says which tokens it brought), through Gradio's floor (bench/_floor_app.py, the same pacing with no
client) and through the bare shared client (what the fake really emitted, as seen on loopback).
Targets: the app's rate ≥ 0.95 × the emitted rate, and its last 100 tokens ≥ 0.95 × as fast as its first 100.

The floor is pulled, not pushed: its function sleeps the gap only after Gradio has sent the previous token, so
its rate shows Gradio's per-token cost (1/floor rate − gap) — the share of the app's per-token budget Gradio uses.
"""

from __future__ import annotations

import argparse
import asyncio

from _harness import (
    app_token_times, raw_http, bare_token_times, distinct_tokens, fake_server, median, report, running_app,
    settings_for, verdict,
)

WINDOW = 100


def rates(arrivals: list[float]) -> tuple[float, float, float]:
    """Tokens/s over the whole stream (first to last token), over the first 100 and over the last 100."""
    def rate(span: list[float]) -> float:
        return (len(span) - 1) / max(span[-1] - span[0], 1e-9)

    return rate(arrivals), rate(arrivals[:WINDOW]), rate(arrivals[-WINDOW:])


async def calibrated_gap(fake, rate: float, tokens: int) -> float:
    """The token_delay that makes the fake emit `rate` tokens/s here: 1/rate less its own per-token overhead."""
    from components.workers_ai import WorkersAI

    client = WorkersAI(settings_for(fake))
    gap = fake.token_delay = 1 / rate
    periods = []
    for index in range(2):
        _, arrivals = await bare_token_times(client, f"calibrate {index}", tokens)
        periods.append((arrivals[-1] - arrivals[0]) / (len(arrivals) - 1))
    await client.aclose()
    return max(0.0, gap - (median(periods) - gap))


async def measure(fake, url: str, floor_url: str, tokens: int, rounds: int) -> dict[str, list[tuple]]:
    from components.workers_ai import WorkersAI

    bare_client = WorkersAI(settings_for(fake))
    results: dict[str, list[tuple]] = {"bare": [], "app": [], "floor": []}
    async with raw_http() as http:
        await app_token_times(http, url, "warm up", 5)  # first connections, first call through the app
        for index in range(rounds):
            for path in ("bare", "app", "floor")[index % 3:] + ("bare", "app", "floor")[:index % 3]:
                if path == "bare":
                    _, arrivals = await bare_token_times(bare_client, f"stream {index}", tokens)
                else:
                    _, arrivals = await app_token_times(http, url if path == "app" else floor_url,
                                                        f"stream {index}", tokens)
                if len(arrivals) != tokens:
                    raise RuntimeError(f"{path}: {len(arrivals)} of {tokens} tokens arrived")
                results[path].append(rates(arrivals))
    await bare_client.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--rate", type=float, default=200.0, help="tokens per second the fake emits")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    with fake_server() as fake:
        fake.stream_tokens = distinct_tokens(args.tokens)
        fake.token_delay = asyncio.run(calibrated_gap(fake, args.rate, min(args.tokens, 200)))
        floor_env = {"FLOOR_FIRST_TOKEN_DELAY": "0", "FLOOR_TOKEN_DELAY": str(1 / args.rate),
                     "FLOOR_TOKENS": str(args.tokens)}
        with running_app(fake, in_process=args.in_process) as app, \
                running_app(fake, script="bench/_floor_app.py", extra_env=floor_env) as floor:
            results = asyncio.run(measure(fake, app.url, floor.url, args.tokens, args.rounds))
        gap = fake.token_delay
    med = {path: [median(r[i] for r in values) for i in range(3)] for path, values in results.items()}
    emitted = med["bare"][0]
    rows = []
    for path, label in (("bare", "bare client (what the fake emitted)"), ("app", "**app `/chat`**"),
                        ("floor", "Gradio floor (bench/_floor_app.py, same pacing, no client)")):
        whole, first, last = med[path]
        rows.append([label, f"{whole:.1f}", f"{whole / emitted:.3f}", f"{whole / args.rate:.3f}", f"{first:.1f}",
                     f"{last:.1f}", f"{last / first:.3f}"])
    app_whole, app_first, app_last = med["app"]
    rows.append(["target (app)", "", "≥ 0.95", "", "", "", "≥ 0.95"])
    rows.append(["result (app)", "", verdict(app_whole / emitted >= 0.95), "", "", "",
                 verdict(app_last / app_first >= 0.95)])
    report(f"Stream pass-through: {args.tokens} tokens at {args.rate:.0f} tokens/s (medians of {args.rounds} "
           f"rounds, app {'in-process' if args.in_process else 'run as `python app.py`'})",
           ["path", "tokens/s", "× emitted", f"× nominal {args.rate:.0f}/s", f"first {WINDOW} tokens/s",
            f"last {WINDOW} tokens/s", "last / first"], rows,
           [f"The fake's token_delay, calibrated to emit {args.rate:.0f}/s: {1000 * gap:.2f} ms. Gradio's own cost "
            f"per streamed token, from the floor: {1000 * (1 / med['floor'][0] - 1 / args.rate):.2f} ms "
            f"(of a {1000 / args.rate:.1f} ms budget per token at this rate)."])


if __name__ == "__main__":
    main()

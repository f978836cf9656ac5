"""Time to first token through the app vs the bare client, on the fake server with a fixed first-token delay.

    .venv/bin/python bench/bench_cloud_ttft.py [--rounds 40] [--first-token-delay 0.1] [--token-delay 0.01]
                                               [--pause 0.02] [--in-process]

All paths hit the same fake on loopback (in a process of its own), interleaved round by round (order rotating): the
bare shared client (`WorkersAI.stream`, no Gradio) and the app's public `/chat` through Gradio's queue by raw HTTP
(POST /gradio_api/call/chat, then the SSE GET, with bench/_rawhttp.py), timed from just before the POST to the
event carrying the first token — once as a new Gradio session per call (a plain raw-HTTP caller) and once in a
session that has asked once before (a browser tab, or a `gradio_client.Client`, after its first message).
The same calls made with httpx show what that client costs the caller. Target: the app adds ≤ 10 ms at the median.
The breakdown of where the time goes is bench/profile_cloud_ttft.py.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid

from _harness import (
    distinct_tokens, fake_process, median, ms, quantile, report, running_app, settings_for, verdict, raw_http,
    app_token_times, bare_token_times,
)
from _rawhttp import HttpxHTTP

TARGET_ADDED_S = 0.010


PATHS = ("bare", "app_new_session", "app_same_session", "floor_new_session", "floor_same_session",
         "app_same_session_httpx")


async def measure(fake, url: str, floor_url: str, rounds: int, warmup: int, tokens: int,
                  pause: float) -> dict[str, list[float]]:
    from components.workers_ai import WorkersAI

    bare_client = WorkersAI(settings_for(fake))
    run = uuid.uuid4().hex
    results: dict[str, list[float]] = {path: [] for path in PATHS}

    def session(path: str, index: int) -> str | None:
        # "one session": a page that has asked once before. Each round gets its own such session, so the
        # history sent upstream is one turn long every time (it would otherwise grow round by round and the
        # app would send ever longer requests than the bare client).
        return f"{run}-{path}-{index}" if "same_session" in path else None

    async with raw_http() as http, HttpxHTTP() as httpx_http:
        async def through_gradio(path: str, index: int, message: str):
            return await app_token_times(httpx_http if path.endswith("httpx") else http,
                                         floor_url if path.startswith("floor") else url, message, tokens,
                                         session(path, index))

        for index in range(warmup + rounds):  # the earlier question of each "one session"
            for path in PATHS:
                if session(path, index):
                    await through_gradio(path, index, "an earlier question")
        for index in range(warmup + rounds):
            shift = index % len(PATHS)
            for path in PATHS[shift:] + PATHS[:shift]:
                await asyncio.sleep(pause)  # the servers have finished the call before, as between a person's turns
                if path == "bare":
                    started, arrivals = await bare_token_times(bare_client, f"hello {index}", tokens)
                else:
                    started, arrivals = await through_gradio(path, index, f"hello {index}")
                if not arrivals:
                    raise RuntimeError(f"{path}: no token arrived")
                if index >= warmup:
                    results[path].append(arrivals[0] - started)
    await bare_client.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--first-token-delay", type=float, default=0.1)
    parser.add_argument("--token-delay", type=float, default=0.01, help="between the later tokens (default 100/s)")
    parser.add_argument("--pause", type=float, default=0.02, help="between calls, for the servers to finish the last")
    parser.add_argument("--in-process", action="store_true", help="launch the app in this process (launch_app)")
    args = parser.parse_args()
    tokens = 5
    with fake_process(stream_tokens=distinct_tokens(tokens), first_token_delay=args.first_token_delay,
                      token_delay=args.token_delay) as fake:
        # the floor's event is configured like the app's /chat (no input/output processing, components/tabs/chat.py)
        floor_env = {"FLOOR_FIRST_TOKEN_DELAY": str(args.first_token_delay), "FLOOR_TOKENS": str(tokens),
                     "FLOOR_TOKEN_DELAY": str(args.token_delay), "FLOOR_PROCESSING": "0"}
        with running_app(fake, in_process=args.in_process) as app, \
                running_app(fake, script="bench/_floor_app.py", extra_env=floor_env) as floor:
            results = asyncio.run(measure(fake, app.url, floor.url, args.rounds, args.warmup, tokens, args.pause))
    bare = results["bare"]
    rows = [["bare client (`WorkersAI.stream`)", ms(median(bare)), ms(quantile(bare, 0.9)), ms(min(bare)), "", "", ""]]
    labels = {"app_new_session": "app `/chat`, a new Gradio session per call",
              "app_same_session": "app `/chat`, calls in one session"}
    for path, label in labels.items():
        values = results[path]
        added = median(values) - median(bare)
        rows.append([label, ms(median(values)), ms(quantile(values, 0.9)), ms(min(values)),
                     f"**{ms(added)}**", "≤ 10 ms", verdict(added <= TARGET_ADDED_S)])
    floor_rows = {"floor_new_session": "Gradio floor (bench/_floor_app.py: same endpoint shape, no client), new session",
                  "floor_same_session": "Gradio floor, calls in one session"}
    for path, label in floor_rows.items():
        values = results[path]
        rows.append([label, ms(median(values)), ms(quantile(values, 0.9)), ms(min(values)),
                     f"{ms(median(values) - args.first_token_delay)} over the delay", "", ""])
    httpx_values = results["app_same_session_httpx"]
    rows.append(["app `/chat`, calls in one session, called with `httpx.AsyncClient` instead (the measuring "
                 "client's own cost)", ms(median(httpx_values)), ms(quantile(httpx_values, 0.9)), ms(min(httpx_values)),
                 f"{ms(median(httpx_values) - median(bare))}", "", ""])
    report(
        f"Time to first token: app vs bare client ({args.rounds} interleaved rounds, first-token delay "
        f"{1000 * args.first_token_delay:.0f} ms, then a token every {1000 * args.token_delay:.0f} ms, "
        f"app {'in-process' if args.in_process else 'run as `python app.py`'})",
        ["path", "median", "p90", "min", "added (median − bare median)", "target", "result"], rows,
    )


if __name__ == "__main__":
    main()

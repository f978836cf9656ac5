"""Where the app's CPU goes while it streams chats: cProfile of the server's event loop, per delivered token event.

    .venv/bin/python bench/profile_cloud_stream_cpu.py [--chats 20] [--tokens 60] [--rate 30] [--top 25]

The app is launched in-process; cProfile is switched on in the server's event-loop thread (found through Gradio's
`Queue.start_processing`, which runs there, as does every request, job and SSE message) once the app is warm.
Worker threads (input preprocessing) are not profiled. Several chats stream through `/chat` at once, then the
report lists the top functions by own time and the share of the loop thread's time spent under key callers,
each divided by the number of token events delivered. Profiling slows everything down; read the shares, not the
absolute times.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats

from _harness import (
    app_token_times, raw_http, distinct_tokens, fake_server, install_shared_client, report,
)

PROFILER = cProfile.Profile()
LOOP: list[asyncio.AbstractEventLoop] = []


def instrument() -> None:
    import gradio.queueing as queueing

    original = queueing.Queue.start_processing

    async def start_processing(self):
        LOOP.append(asyncio.get_running_loop())  # the server's event loop
        await original(self)

    queueing.Queue.start_processing = start_processing


def in_loop_thread(function) -> None:
    """Run `function` in the server's loop thread and wait for it (cProfile.enable applies to its caller)."""
    import concurrent.futures

    done: concurrent.futures.Future = concurrent.futures.Future()

    def call():
        function()
        done.set_result(None)

    LOOP[0].call_soon_threadsafe(call)
    done.result(timeout=10)


async def stream_chats(url: str, chats: int, tokens: int) -> int:
    async with raw_http() as http:
        runs = await asyncio.gather(*(app_token_times(http, url, f"chat {i}", tokens) for i in range(chats)))
    return sum(len(arrivals) for _, arrivals in runs)


KEY_CALLERS = [  # (label, part of the file path, function name)
    ("Gradio: run one iteration (`call_process_api`)", "gradio/route_utils.py", "call_process_api"),
    ("Gradio: postprocess outputs (`postprocess_data`)", "gradio/blocks.py", "postprocess_data"),
    ("Gradio: streaming diffs (`handle_streaming_diffs`)", "gradio/blocks.py", "handle_streaming_diffs"),
    ("Gradio: queue message (`send_message`)", "gradio/queueing.py", "send_message"),
    ("Gradio: SSE out (`process_msg`, json)", "gradio/routes.py", "process_msg"),
    ("imports attempted at run time (`importlib._find_spec`)", "<frozen importlib._bootstrap>", "_find_spec"),
    ("app: the `/chat` function (`chat`)", "components/tabs/chat.py", "chat"),
    ("app: SSE from Workers AI decoded (`stream_deltas`)", "components/workers_ai/_sse.py", "stream_deltas"),
    ("logging (`Logger._log`)", "logging/__init__.py", "_log"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=60)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--callers", nargs="*", default=[], help="also print who calls these (pstats patterns)")
    args = parser.parse_args()
    with fake_server() as fake:
        fake.stream_tokens = distinct_tokens(args.tokens)
        fake.token_delay = 1 / args.rate
        client = install_shared_client(fake)
        instrument()
        from tests.conftest import launch_app

        demo, url = launch_app(client)
        try:
            asyncio.run(stream_chats(url.rstrip("/"), 2, 5))  # warm up, then profile only the streaming
            in_loop_thread(PROFILER.enable)
            events = asyncio.run(stream_chats(url.rstrip("/"), args.chats, args.tokens))
            in_loop_thread(PROFILER.disable)
        finally:
            demo.close()
    stats = pstats.Stats(PROFILER)
    total = stats.total_tt
    rows = []
    for label, file_part, function in KEY_CALLERS:
        cumulative = sum(entry[3] for (file, _, name), entry in stats.stats.items()
                         if name == function and file_part in file.replace("\\", "/"))
        rows.append([label, f"{cumulative / total:.0%}", f"{1000 * cumulative / events:.2f} ms"])
    rows.append(["**everything on the loop thread**", "100%", f"**{1000 * total / events:.2f} ms**"])
    report(f"CPU of the app's event-loop thread while {args.chats} chats stream ({events} token events, profiled)",
           ["under", "share of loop time (cumulative, may overlap)", "per token event"], rows)
    out = io.StringIO()
    pstats.Stats(PROFILER, stream=out).sort_stats("tottime").print_stats(args.top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
    print("Top functions by own time (profiled):\n\n```")
    print("\n".join(lines[start:]))
    print("```")
    for pattern in args.callers:
        out = io.StringIO()
        pstats.Stats(PROFILER, stream=out).sort_stats("tottime").print_callers(pattern)
        text = out.getvalue().strip()
        print("\n```\n" + text[text.find("Function"):] + "\n```")


if __name__ == "__main__":
    main()

"""Where the time to first token goes through the app: a stage-by-stage timing breakdown.

    .venv/bin/python bench/profile_cloud_ttft.py [--rounds 20] [--first-token-delay 0.1]

The app is launched in-process (tests/conftest.py's launch_app) so that every timestamp comes from one clock.
Gradio's queue internals (`Queue.push`, `Queue.process_events`, `route_utils.call_process_api`,
`Blocks.process_api`, `preprocess_data`, `call_function`, `postprocess_data`, `Queue.send_message`) and the shared
client's `stream` are wrapped to record when each is first entered/left; times are from just before the POST.
Measured both as a new Gradio session per call and as calls in one session. It also times `SessionState(demo)` —
what Gradio builds for every new session — on its own, for this app and for the number of blocks it has.
All figures are medians. In-process figures run a little higher than bench_cloud_ttft.py's (the app and the HTTP
client share one interpreter here; the fake runs in a process of its own, as there).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
import uuid

from _harness import (
    raw_http, chat_inputs, distinct_tokens, fake_process, gradio_call, install_shared_client, median, ms, report,
)

MARKS: dict[str, float] = {}


def mark(name: str) -> None:
    MARKS.setdefault(name, time.perf_counter())


def wrap(owner, name: str, label: str) -> None:
    original = getattr(owner, name)

    if asyncio.iscoroutinefunction(original):
        @functools.wraps(original)
        async def wrapper(*args, **kwargs):
            mark(f"{label} entered")
            try:
                return await original(*args, **kwargs)
            finally:
                mark(f"{label} left")
    else:
        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            mark(f"{label} entered")
            return original(*args, **kwargs)

    setattr(owner, name, wrapper)


def instrument(client) -> None:
    import gradio.blocks as blocks
    import gradio.queueing as queueing
    import gradio.route_utils as route_utils

    wrap(queueing.Queue, "push", "Queue.push")
    wrap(queueing.Queue, "process_events", "Queue.process_events")
    wrap(route_utils, "call_process_api", "call_process_api")
    queueing.route_utils = route_utils  # same module object: the wrapped function is what the queue calls
    wrap(blocks.Blocks, "process_api", "Blocks.process_api")
    wrap(blocks.Blocks, "preprocess_data", "preprocess_data")
    wrap(blocks.Blocks, "call_function", "call_function")
    wrap(blocks.Blocks, "postprocess_data", "postprocess_data")
    send = queueing.Queue.send_message

    def send_message(self, event, message, *args, **kwargs):
        mark(f"send {type(message).__name__}")
        return send(self, event, message, *args, **kwargs)

    queueing.Queue.send_message = send_message
    stream = client.stream

    async def traced_stream(model, payload):
        mark("client.stream called")
        async for delta in stream(model, payload):
            if delta.text:
                mark("first delta in the client")
            yield delta

    client.stream = traced_stream


STAGES = [  # (label, from mark, to mark)
    ("HTTP POST sent, parsed, routed, login checked → `Queue.push`", "POST", "Queue.push entered"),
    ("`Queue.push` → job picked up (`process_events`)", "Queue.push entered", "Queue.process_events entered"),
    ("job picked up → `call_process_api`", "Queue.process_events entered", "call_process_api entered"),
    ("`call_process_api` → `Blocks.process_api` (session state restored / **built for a new session**)",
     "call_process_api entered", "Blocks.process_api entered"),
    ("`preprocess_data` (`/chat` takes plain values: nothing to convert)", "preprocess_data entered",
     "preprocess_data left"),
    ("`call_function` (special arguments, the generator created) → the tab calls `client.stream`",
     "call_function entered", "client.stream called"),
    ("`client.stream` → first delta (fake's delay + HTTP to the fake)", "client.stream called",
     "first delta in the client"),
    ("first delta → `postprocess_data` done", "first delta in the client", "postprocess_data left"),
    ("→ `ProcessGeneratingMessage` queued", "postprocess_data left", "send ProcessGeneratingMessage"),
    ("→ `generating` event parsed by the HTTP client", "send ProcessGeneratingMessage", "SSE generating"),
    ("**total: POST → first token at the client**", "POST", "SSE generating"),
]


async def measure(url: str, rounds: int, warmup: int) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {"new": {}, "same": {}}
    run = uuid.uuid4().hex
    async with raw_http() as http:
        for index in range(warmup + rounds):
            session = f"{run}-{index}"  # as bench_cloud_ttft.py: a page that has asked once before
            async for _ in gradio_call(http, url, "chat", chat_inputs("an earlier question", 16), session_hash=session):
                pass
            for kind in ("new", "same"):
                await asyncio.sleep(0.02)  # the server has finished the call before
                MARKS.clear()
                MARKS["POST"] = time.perf_counter()
                async for message in gradio_call(http, url, "chat", chat_inputs(f"hi {index}", 16),
                                                 session_hash=session if kind == "same" else None):
                    if message.event == "generating":
                        MARKS.setdefault("SSE generating", message.at)
                if index < warmup:
                    continue
                for label, start, end in STAGES:
                    if start in MARKS and end in MARKS:
                        results[kind].setdefault(label, []).append(MARKS[end] - MARKS[start])
    return results


def session_state_cost(demo, rounds: int = 20) -> float:
    from gradio.state_holder import SessionState

    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        SessionState(demo)
        times.append(time.perf_counter() - started)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--first-token-delay", type=float, default=0.1)
    args = parser.parse_args()
    # as bench_cloud_ttft.py: the fake in its own process, 100 tokens/s after the first
    with fake_process(stream_tokens=distinct_tokens(5), first_token_delay=args.first_token_delay,
                      token_delay=0.01) as fake:
        client = install_shared_client(fake)
        instrument(client)
        from tests.conftest import launch_app

        demo, url = launch_app(client)
        try:
            results = asyncio.run(measure(url.rstrip("/"), args.rounds, args.warmup))
            build = session_state_cost(demo)
            blocks = len(demo.blocks)
        finally:
            demo.close()
    rows = [[label, ms(median(results["new"].get(label, [0.0]))), ms(median(results["same"].get(label, [0.0])))]
            for label, _, _ in STAGES]
    report(f"Time to first token through the app, stage by stage (medians of {args.rounds} rounds, in-process, "
           f"first-token delay {1000 * args.first_token_delay:.0f} ms)",
           ["stage", "new session per call", "calls in one session"], rows,
           [f"`SessionState(demo)` alone (what Gradio builds for each new session; its block configs are built "
            f"lazily by components/ui/gradio_patches.py unless SHOWCASE_GRADIO_PATCHES=0): {ms(build)} for this "
            f"app's {blocks} blocks."])


if __name__ == "__main__":
    main()

"""What each Gradio patch saves, measured now: the app with every patch off, each patch alone, and all of them on.

    .venv/bin/python bench/bench_patches.py [--rounds 20] [--cpu-rounds 3] [--calls 80] [--chats 20]

Patches are process-wide, so each configuration is the whole app in a process of its own, all started side by side
against one fake Workers AI (in its own process): "all off" is `python app.py` with SHOWCASE_GRADIO_PATCHES=0,
"all on" is `python app.py` as shipped, and "X alone" is this script's `--serve X` mode (SHOWCASE_GRADIO_PATCHES=0
for app.py's own `apply()`, then only patch X applied before the app is imported and launched as `app.main()` does).
The measures are interleaved round by round across the configurations (order rotating), so a change in the
machine's load hits them all alike; every figure is compared with the all-off run of the same invocation.

- time to first token of the public `/chat` (raw HTTP, as bench_cloud_ttft.py): a new Gradio session per call,
  and calls in one session; the fake answers after 50 ms;
- the app's CPU (its whole process, every thread, from /proc) per short call (16 tokens, 8 calls at a time), and per
  token delivered while `--chats` chats stream at once (40 tokens at 40 tokens/s each), in sessions that exist;
- the app's CPU when idle (no request), as a share of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def serve(names: list[str]) -> None:
    """The app with only these patches (run as a child of the benchmark)."""
    os.environ["SHOWCASE_GRADIO_PATCHES"] = "0"  # app.py's own apply() does nothing: the patches are applied here
    sys.path.insert(0, str(ROOT))
    import gradio

    from components.ui import gradio_patches

    if gradio.__version__ != gradio_patches.PINNED_GRADIO:
        raise SystemExit(f"Gradio {gradio.__version__} is not the pinned {gradio_patches.PINNED_GRADIO}")
    for name in names:
        gradio_patches.BY_NAME[name].apply()
    import app

    app.main()


def micro(repeat: int) -> dict:
    """Seconds per occurrence of each operation a patch replaces, called the way Gradio (or httpcore) calls it, in
    this process as `import app` left it (run once with the patches off, once on); with BENCH_COUNT=1, also how
    often one `/chat` call runs each."""
    import timeit

    sys.path.insert(0, str(ROOT))
    import app
    from gradio.state_holder import SessionState

    def best(statement, number: int) -> float:
        return min(timeit.repeat(statement, number=number, repeat=repeat)) / number

    def failed_import(name: str) -> None:
        try:
            __import__(name)
        except ImportError:
            pass

    seconds = {
        "lazy_session_config": best(lambda: SessionState(app.demo), 5),
        "absent_matplotlib": best(lambda: failed_import("matplotlib"), 200),
        "absent_sniffio": best(lambda: failed_import("sniffio"), 200),
    }
    return {"seconds": seconds, "counts": count_per_call(app) if os.environ.get("BENCH_COUNT") == "1" else {}}


def count_per_call(app) -> dict[str, float]:
    """How often one `/chat` call (in a session that exists, by raw HTTP) tries each import a patch marks absent, and
    how many streamed updates it makes: the app launched in this process (patches off), the imports watched."""
    from collections import Counter

    from gradio import route_utils

    from _harness import app_token_times, raw_http

    counts: Counter = Counter()

    class CountImports:  # first on sys.meta_path: sees every import of a module that is not in sys.modules
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name in ("matplotlib", "sniffio"):
                counts[f"absent_{name}"] += 1
            return None

    sys.meta_path.insert(0, CountImports)
    call_process_api = route_utils.call_process_api

    def counted_call_process_api(*args, **kwargs):  # one per streamed update
        counts["updates"] += 1
        return call_process_api(*args, **kwargs)

    route_utils.call_process_api = counted_call_process_api
    app.demo.queue(max_size=app.QUEUE_MAX_SIZE)
    _, url, _ = app.demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **app.launch_options())

    async def calls(rounds: int) -> None:
        async with raw_http() as http:
            await app_token_times(http, url.rstrip("/"), "an earlier question", 0, "count-session")
            counts.clear()
            for index in range(rounds):
                await app_token_times(http, url.rstrip("/"), f"hello {index}", 0, "count-session")

    rounds = 10
    try:
        asyncio.run(calls(rounds))
    finally:
        app.demo.close()
    return {name: count / rounds for name, count in counts.items()}


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    serve([name for name in sys.argv[2].split(",") if name] if len(sys.argv) > 2 else [])
    raise SystemExit(0)
if __name__ == "__main__" and sys.argv[1:2] == ["--micro"]:
    print(json.dumps(micro(int(sys.argv[2]))))
    raise SystemExit(0)

from _harness import (  # noqa: E402
    PYTHON, app_env, app_token_times, cpu_seconds, distinct_tokens, fake_process, free_port, load_line, median,
    raw_http, stop, table, wait_for_200,
)

TTFT_DELAY_S = 0.05
STREAM_TOKENS, STREAM_RATE = 40, 40.0
CALL_WAVE = 8


def configurations(alone: bool = True, also: list[str] = ()) -> list[tuple[str, list[str], dict[str, str]]]:
    """(label, command after python, extra environment) for every configuration measured: all off, each patch alone
    (unless `alone` is false), the sets named in `also` ("a,b"), all on."""
    from components.ui import gradio_patches

    configs = [("all off", ["app.py"], {"SHOWCASE_GRADIO_PATCHES": "0"})]
    if alone:
        configs += [(f"{patch.name} alone", [str(HERE / "bench_patches.py"), "--serve", patch.name], {})
                    for patch in gradio_patches.PATCHES]
    for names in also:
        unknown = set(names.split(",")) - set(gradio_patches.BY_NAME)
        if unknown:
            raise SystemExit(f"no such patch: {', '.join(sorted(unknown))}")
        configs.append((" + ".join(names.split(",")), [str(HERE / "bench_patches.py"), "--serve", names], {}))
    configs.append(("all on", ["app.py"], {"SHOWCASE_GRADIO_PATCHES": "1"}))
    return configs


class Running:
    def __init__(self, label: str, process: subprocess.Popen, url: str, log_path: str) -> None:
        self.label, self.process, self.url, self.log_path = label, process, url, log_path
        self.session = uuid.uuid4().hex
        self.ttft = {"new": [], "same": []}
        self.cpu = {"call": [], "token": []}
        self.idle_share = 0.0

    def sessions(self, count: int) -> list[str]:
        return [f"{self.session}-{index}" for index in range(count)]


def start_all(fake, configs) -> list[Running]:
    """Every configuration started at once (start-up is most of this benchmark's time), then waited for."""
    running = []
    for label, command, extra in configs:
        port = free_port()
        log = tempfile.NamedTemporaryFile("w", prefix="bench-patches-", suffix=".log", delete=False)
        process = subprocess.Popen([PYTHON, *command], cwd=ROOT, env={**app_env(fake, port), **extra},
                                   stdout=log, stderr=subprocess.STDOUT)
        log.close()
        running.append(Running(label, process, f"http://127.0.0.1:{port}", log.name))
    for app in running:
        try:
            wait_for_200(app.url + "/", app.process, limit=240)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{app.label} did not start; its output is in {app.log_path}") from exc
    return running


async def measure_ttft(apps: list[Running], rounds: int, warmup: int) -> None:
    async with raw_http() as http:
        for app in apps:  # the session of "calls in one session": a page that has asked once before
            await app_token_times(http, app.url, "an earlier question", 0, app.session)
        for index in range(warmup + rounds):
            shift = index % len(apps)
            for app in apps[shift:] + apps[:shift]:
                for kind in ("new", "same"):
                    await asyncio.sleep(0.02)  # the servers have finished the call before
                    started, arrivals = await app_token_times(http, app.url, f"hello {index}", 0,
                                                              app.session if kind == "same" else None)
                    if not arrivals:
                        raise RuntimeError(f"{app.label}: no token arrived")
                    if index >= warmup:
                        app.ttft[kind].append(arrivals[0] - started)


async def in_waves(calls, wave: int) -> list:
    results = []
    for start in range(0, len(calls), wave):
        results += await asyncio.gather(*calls[start:start + wave])
    return results


async def measure_cpu(apps: list[Running], rounds: int, calls: int, chats: int, fake) -> None:
    """CPU per short call (`calls` of them, 8 at a time), then per streamed token (`chats` at once), each in
    sessions that exist (pages already open: a new session's cost is in the time to first token)."""
    async with raw_http() as http:
        for app in apps:
            await in_waves([app_token_times(http, app.url, "a first question", 0, session)
                            for session in app.sessions(max(chats, CALL_WAVE))], CALL_WAVE)
        for phase in ("call", "token"):
            if phase == "token":
                fake.set(stream_tokens=distinct_tokens(STREAM_TOKENS), first_token_delay=0.0,
                         token_delay=1 / STREAM_RATE)
            for index in range(rounds + 1):  # the first round warms connections and code paths
                shift = index % len(apps)
                for app in apps[shift:] + apps[:shift]:
                    await asyncio.sleep(0.1)
                    before = cpu_seconds(app.process.pid)
                    if phase == "call":
                        sessions = app.sessions(CALL_WAVE)
                        runs = await in_waves([app_token_times(http, app.url, f"call {index} {i}", 0,
                                                               sessions[i % CALL_WAVE]) for i in range(calls)],
                                              CALL_WAVE)
                        count = len(runs)
                    else:
                        runs = await asyncio.gather(*(app_token_times(http, app.url, f"stream {index} {i}",
                                                                      STREAM_TOKENS - 16, session)
                                                      for i, session in enumerate(app.sessions(chats))))
                        count = sum(len(arrivals) for _, arrivals in runs)
                        if count != chats * STREAM_TOKENS:
                            raise RuntimeError(f"{app.label}: {count} of {chats * STREAM_TOKENS} tokens arrived")
                    if index:
                        app.cpu[phase].append((cpu_seconds(app.process.pid) - before) / count)


def measure_idle(apps: list[Running], seconds: float) -> None:
    time.sleep(1.0)  # what the streams left behind settles
    before = {app.label: cpu_seconds(app.process.pid) for app in apps}
    started = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - started
    for app in apps:
        app.idle_share = (cpu_seconds(app.process.pid) - before[app.label]) / elapsed


def run_micro(fake, enabled: bool, repeat: int) -> dict:
    env = {**app_env(fake, free_port()), "SHOWCASE_GRADIO_PATCHES": "1" if enabled else "0",
           "BENCH_COUNT": "0" if enabled else "1"}
    done = subprocess.run([PYTHON, str(HERE / "bench_patches.py"), "--micro", str(repeat)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"--micro failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def micro_rows(off: dict, on: dict) -> list[list[str]]:
    rows = []
    for name, shipped in off["seconds"].items():
        patched = on["seconds"][name]
        if name == "lazy_session_config":
            per_call, occurrences = shipped - patched, "1 per new session"
        else:
            count = off["counts"].get(name, 0.0)
            per_call, occurrences = count * (shipped - patched), f"{count:.1f}"
        rows.append([name, f"{1e6 * shipped:.1f} µs", f"{1e6 * patched:.1f} µs", occurrences,
                     f"**{1000 * per_call:.2f} ms**"])
    return rows


def signed_ms(seconds: float) -> str:
    return f"{1000 * seconds:+.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="time-to-first-token rounds (each: both kinds)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--cpu-rounds", type=int, default=3, help="rounds of calls, and of streams, per configuration")
    parser.add_argument("--calls", type=int, default=80, help="short calls per round, 8 at a time")
    parser.add_argument("--chats", type=int, default=20, help="chats streaming at once")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds of idle CPU measured")
    parser.add_argument("--micro-repeat", type=int, default=5, help="timeit repeats of each replaced operation")
    parser.add_argument("--also", action="append", default=[], help="also measure this set of patches (a,b,c)")
    parser.add_argument("--no-alone", action="store_true", help="skip the each-patch-alone configurations")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    configs = configurations(not args.no_alone, args.also)
    began = time.perf_counter()
    with fake_process(stream_tokens=distinct_tokens(16), first_token_delay=TTFT_DELAY_S, token_delay=0.002) as fake:
        apps = start_all(fake, configs)
        try:
            started_s = time.perf_counter() - began
            asyncio.run(measure_ttft(apps, args.rounds, args.warmup))
            asyncio.run(measure_cpu(apps, args.cpu_rounds, args.calls, args.chats, fake))
            measure_idle(apps, args.idle)
        finally:
            for app in apps:
                stop(app.process)
        fake.set(stream_tokens=distinct_tokens(16), first_token_delay=TTFT_DELAY_S, token_delay=0.002)
        micro_off, micro_on = run_micro(fake, False, args.micro_repeat), run_micro(fake, True, args.micro_repeat)
    for app in apps:
        os.unlink(app.log_path)
    off = apps[0]

    def figures(app: Running) -> tuple[float, float, float, float]:
        return (median(app.ttft["new"]), median(app.ttft["same"]), median(app.cpu["call"]),
                median(app.cpu["token"]))

    base = figures(off)
    rows = []
    for app in apps:
        new, same, call, token = figures(app)
        rows.append([app.label, f"{1000 * new:.1f} ms ({signed_ms(new - base[0])})",
                     f"{1000 * same:.1f} ms ({signed_ms(same - base[1])})",
                     f"{1000 * call:.2f} ms ({call / base[2]:.2f}×)", f"{1000 * token:.2f} ms ({token / base[3]:.2f}×)",
                     f"{100 * app.idle_share:.1f}%"])
    print(f"### Gradio patches against all off ({args.rounds} interleaved rounds of time to first "
          f"token, {args.cpu_rounds} of CPU)\n")
    print(load_line() + "\n")
    print(table(["configuration", "time to first token, new session (vs all off)",
                 "… calls in one session (vs all off)", f"app CPU per short call ({args.calls} calls, "
                 f"{CALL_WAVE} at a time; × all off)", f"app CPU per token ({args.chats} chats streaming, "
                 f"{STREAM_TOKENS} tokens at {STREAM_RATE:.0f}/s each; × all off)", "app CPU idle (share of a core)"],
                rows))
    print(f"\nMedians. The fake answers after {1000 * TTFT_DELAY_S:.0f} ms; a negative difference is time saved. "
          f"The CPU figures are in sessions that exist (a new session's cost shows in the first column) and include "
          f"the queue's idle polling while they run. {len(apps)} app processes side by side, started in "
          f"{started_s:.0f} s; {time.perf_counter() - began:.0f} s in all (with the table below).")
    updates = micro_off["counts"].get("updates", 0.0)
    print(f"\n### Each replaced operation alone, shipped vs patched (best of {args.micro_repeat}), and how often one "
          f"`/chat` call runs it\n")
    print(table(["patch", "shipped, per occurrence", "patched", "occurrences per `/chat` call (16 tokens, "
                 f"{updates:.1f} streamed updates)", "saved per call"], micro_rows(micro_off, micro_on)))
    print("\nThe time (wall clock) of each operation a patch replaces, called as Gradio or httpcore calls it, in a "
          "process with the patches off and in one with them on; the occurrences are counted in the first, over ten "
          "`/chat` calls in a session that exists. A new session (a raw-HTTP or MCP caller, a "
          "new browser tab) adds one `SessionState` build.", flush=True)


if __name__ == "__main__":
    main()

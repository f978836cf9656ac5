"""An abusive visitor beside ten honest ones: does the abuser slow them down, and does it stay inside its budget?

    .venv/bin/python bench/bench_abuse.py [--rounds 6] [--pause 0.02]

The app runs as `make run` starts it (its own process), as if behind one proxy (DEMO_TRUSTED_PROXY_HOPS=1), with a
per-visitor budget of 40 neurons (`--budget`); the fake Workers AI runs in a process of its own, streaming 13 tokens 10 ms
apart. Ten honest visitors chat `--rounds` times each, one message after another (tests/test_load.py's
`honest_visitors`); then the same again while one machine, in a process of its own, keeps 50 jobs in flight, each
with a new made-up address left of the proxy's entry, firing again `--pause` s after each answer or refusal
(`abusive_machine`). The abuser's client runs apart from the honest ones so that its CPU does not delay their
measuring (in one event loop it did: the honest p95 read 4-6× before, on the same app).
Targets: the honest visitors' p95 within 1.5× of their p95 alone; the abuser's spend within its budget.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sqlite3
import tempfile
import time

from _harness import cpu_seconds, fake_process, report, running_app, verdict

TARGET_RATIO = 1.5
BUDGET = 40.0


def most_spent_by_one_visitor(state_dir: str) -> float:
    """The abuser's neurons: the most any one visitor spent (each honest visitor spends a few)."""
    with sqlite3.connect(f"{state_dir}/usage-cloudflare.sqlite3") as db:
        rows = db.execute("SELECT neurons FROM spend WHERE kind='visitor'").fetchall()
    return max((neurons for (neurons,) in rows), default=0.0)


def abuser(base: str, pause: float, started, stop, results) -> None:
    """The abusive machine, in a process of its own, until `stop` is set."""
    from tests.test_load import abusive_machine  # imports the app's modules: seconds

    started.set()
    results.put(asyncio.run(abusive_machine(base, stop.is_set, pause)))


def timed(pid: int, run) -> tuple[object, float, float]:
    """`run()`'s result, and the app's CPU in cores while it ran, and this process's."""
    wall, app_cpu, own_cpu = time.perf_counter(), cpu_seconds(pid), cpu_seconds()
    result = run()
    wall = time.perf_counter() - wall
    return result, (cpu_seconds(pid) - app_cpu) / wall, (cpu_seconds() - own_cpu) / wall


def main() -> None:
    from tests.test_load import honest_visitors, p95

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--pause", type=float, default=0.02, help="seconds the abuser waits between tries")
    parser.add_argument("--budget", type=float, default=BUDGET, help="neurons per visitor per day")
    parser.add_argument("--head-start", type=float, default=2.0,
                        help="seconds the abuser fires before the honest visitors are measured (long enough, and it "
                             "has spent its budget: then its jobs are refusals)")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as state, fake_process(token_delay=0.01) as fake:
        env = {"DEMO_NEURON_BUDGET_PER_VISITOR": str(args.budget), "DEMO_STATE_DIR": state}
        with running_app(fake, extra_env=env) as app:
            base, pid = app.url + "/", app.process.pid
            asyncio.run(honest_visitors(base, rounds=1))  # warm-up
            quiet, quiet_app, quiet_own = timed(pid, lambda: asyncio.run(honest_visitors(base, args.rounds)))
            started, stop, results = context.Event(), context.Event(), context.Queue()
            child = context.Process(target=abuser, args=(base, args.pause, started, stop, results))
            child.start()
            started.wait(120)
            abuse_from = time.perf_counter()
            time.sleep(args.head_start)  # its 50 lanes are firing
            abuser_cpu, wall = cpu_seconds(child.pid), time.perf_counter()
            loud, loud_app, loud_own = timed(pid, lambda: asyncio.run(honest_visitors(base, args.rounds)))
            abuser_cpu = (cpu_seconds(child.pid) - abuser_cpu) / (time.perf_counter() - wall)
            stop.set()
            abuse_seconds = time.perf_counter() - abuse_from
            outcomes = results.get(timeout=120)
            child.join(30)
            spent = most_spent_by_one_visitor(state)
    ratio = p95(loud) / p95(quiet)
    report("An abusive visitor beside ten honest ones", ["measure", "value", "target", "verdict"], [
        ["honest p95 alone", f"{p95(quiet) * 1000:.0f} ms", "", ""],
        ["honest p95 beside the abuser", f"{p95(loud) * 1000:.0f} ms", "", ""],
        ["ratio", f"{ratio:.2f}×", f"≤ {TARGET_RATIO}×", verdict(ratio <= TARGET_RATIO)],
        ["abuser: tries / answered / refused at the queue (tries a second)",
         f"{len(outcomes)} / {outcomes.count('complete')} / {outcomes.count('refused')} "
         f"({len(outcomes) / abuse_seconds:.0f}/s)", "", ""],
        ["CPU in cores, alone → beside the abuser: the app / the honest clients (/ the abuser's client)",
         f"{quiet_app:.2f} / {quiet_own:.2f} → {loud_app:.2f} / {loud_own:.2f} / {abuser_cpu:.2f}", "", ""],
        ["abuser's spend", f"{spent:.2f} neurons", f"≤ {args.budget:g}", verdict(spent <= args.budget + 1e-9)],
    ])


if __name__ == "__main__":
    main()

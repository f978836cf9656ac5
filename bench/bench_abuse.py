"""An abusive visitor beside ten honest ones: does the abuser slow them down, and does it stay inside its budget?

    .venv/bin/python bench/bench_abuse.py [--rounds 6]

The app runs as `make run` starts it (its own process), as if behind one proxy (DEMO_TRUSTED_PROXY_HOPS=1), with a
per-visitor budget of 40 neurons; the fake Workers AI runs in a process of its own, streaming 13 tokens 10 ms
apart. Ten honest visitors chat `--rounds` times each, one message after another (tests/test_load.py's
`honest_and_abusive`); then the same again while one machine keeps 50 jobs in flight, each with a new made-up
address left of the proxy's entry, firing again 20 ms after each answer or refusal.
Targets: the honest visitors' p95 within 1.5× of their p95 alone; the abuser's spend within its budget.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile

from _harness import fake_process, report, running_app, verdict

TARGET_RATIO = 1.5
BUDGET = 40.0


def spent_by_everyone(state_dir: str) -> float:
    """Neurons the ledger recorded for the one abusive /32 (the honest visitors spend a few each)."""
    with sqlite3.connect(f"{state_dir}/usage-cloudflare.sqlite3") as db:
        rows = db.execute("SELECT neurons FROM spend WHERE kind='visitor'").fetchall()
    return max((neurons for (neurons,) in rows), default=0.0)


def main() -> None:
    from tests.test_load import honest_and_abusive, p95

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--pause", type=float, default=0.02, help="seconds the abuser waits between tries")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state, fake_process(token_delay=0.01) as fake:
        env = {"DEMO_NEURON_BUDGET_PER_VISITOR": str(BUDGET), "DEMO_STATE_DIR": state}
        with running_app(fake, extra_env=env) as app:
            base = app.url + "/"
            asyncio.run(honest_and_abusive(base, abuse=False, rounds=1))  # warm-up
            quiet, _ = asyncio.run(honest_and_abusive(base, abuse=False, rounds=args.rounds))
            loud, outcomes = asyncio.run(honest_and_abusive(base, abuse=True, rounds=args.rounds, pause=args.pause))
            spent = spent_by_everyone(state)
    ratio = p95(loud) / p95(quiet)
    report("An abusive visitor beside ten honest ones", ["measure", "value", "target", "verdict"], [
        ["honest p95 alone", f"{p95(quiet) * 1000:.0f} ms", "", ""],
        ["honest p95 beside the abuser", f"{p95(loud) * 1000:.0f} ms", "", ""],
        ["ratio", f"{ratio:.2f}×", f"≤ {TARGET_RATIO}×", verdict(ratio <= TARGET_RATIO)],
        ["abuser: tries / answered / refused at the queue",
         f"{len(outcomes)} / {outcomes.count('complete')} / {outcomes.count('refused')}", "", ""],
        ["abuser's spend", f"{spent:.2f} neurons", f"≤ {BUDGET:.0f}", verdict(spent <= BUDGET + 1e-9)],
    ])


if __name__ == "__main__":
    main()

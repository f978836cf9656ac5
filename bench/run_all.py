"""Run every cloud-path benchmark (fake server on loopback) in sequence and print their Markdown tables.

    .venv/bin/python bench/run_all.py [--with-profiles] [--out results.md]

Each script runs in its own process, one after another (never two at once: they would measure each other).
`--with-profiles` adds the two timing breakdowns (profile_cloud_ttft.py, profile_cloud_stream_cpu.py).
The offline-engine benchmarks (bench_offline.py, bench_local_*.py) are separate: they load models.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = [
    ["bench_cloud_ttft.py"],
    ["bench_cloud_stream.py"],
    ["bench_cloud_concurrency.py"],
    ["bench_cloud_uploads.py"],
    ["bench_cloud_embeddings.py"],
    ["bench_cloud_embeddings.py", "--rtt", "0.02", "--rounds", "1"],
    ["bench_cloud_startup.py"],
    ["bench_patches.py"],
]
PROFILES = [["profile_cloud_ttft.py"], ["profile_cloud_stream_cpu.py"]]
LIMIT_S = 900  # per script: every loop in them is bounded; this only stops a wedged one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--with-profiles", action="store_true")
    parser.add_argument("--out", help="also write the tables to this file")
    args = parser.parse_args()
    outputs, failed = [], []
    for run in RUNS + (PROFILES if args.with_profiles else []):
        started = time.perf_counter()
        print(f"<!-- {' '.join(run)} -->", flush=True)
        try:
            done = subprocess.run([sys.executable, str(HERE / run[0]), *run[1:]], cwd=HERE.parent,
                                  capture_output=True, text=True, timeout=LIMIT_S)
        except subprocess.TimeoutExpired:
            failed.append(f"{' '.join(run)}: over {LIMIT_S} s")
            continue
        text = done.stdout[done.stdout.find("### "):] if "### " in done.stdout else done.stdout
        print(text.rstrip() + f"\n\n<!-- {time.perf_counter() - started:.0f} s -->\n", flush=True)
        outputs.append(text.rstrip())
        if done.returncode != 0:
            failed.append(f"{' '.join(run)}: exit {done.returncode}\n{done.stderr[-2000:]}")
    if args.out:
        Path(args.out).write_text("\n\n".join(outputs) + "\n", encoding="utf-8")
    if failed:
        print("FAILED:\n" + "\n".join(failed), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

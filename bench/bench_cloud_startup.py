"""Start-up to first HTTP 200, and idle RSS: `python app.py` configured for the fake server, vs Gradio's floor.

    .venv/bin/python bench/bench_cloud_startup.py [--starts 3] [--settle 3]

Each start launches a fresh process with CLOUDFLARE_ACCOUNT_ID / CLOUDFLARE_API_TOKEN / CLOUDFLARE_BASE_URL (the
fake) and GRADIO_SERVER_PORT, polls `/` every 20 ms until it answers 200, waits `--settle` seconds, and reads the
process's VmRSS from /proc (idle: no page has been opened, no model list fetched). The same is done for
bench/_floor_app.py, a one-endpoint Gradio app, for Gradio's own share. The issue sets no number for these: they
are reported, with the floor beside them (shared/docs/gradio6-notes.md measured ≈ 3.2 s and ≈ 145 MB for Gradio).
"""

from __future__ import annotations

import argparse
import subprocess
import time

from _harness import PYTHON, ROOT, app_env, fake_server, free_port, median, report, stop, vm_rss_mb, wait_for_200


def start_once(fake, script: str, settle: float) -> tuple[float, float, float]:
    """(seconds to the first 200, RSS right then, RSS after settling) for one fresh process."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen([PYTHON, script], cwd=ROOT, env=app_env(fake, port), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for_200(f"http://127.0.0.1:{port}/", process)
        seconds = time.perf_counter() - started
        at_ready = vm_rss_mb(process.pid)
        time.sleep(settle)
        return seconds, at_ready, vm_rss_mb(process.pid)
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, float]]] = {"app.py": [], "bench/_floor_app.py": []}
    with fake_server() as fake:
        for _ in range(args.starts):  # interleaved, so both see the same load
            for script in results:
                results[script].append(start_once(fake, script, args.settle))
    rows = []
    for script, label in (("app.py", "**`python app.py`** (cloud configuration, fake server)"),
                          ("bench/_floor_app.py", "Gradio floor (`bench/_floor_app.py`, one endpoint)")):
        runs = results[script]
        rows.append([label, f"{median(r[0] for r in runs):.2f} s", f"{min(r[0] for r in runs):.2f} s",
                     f"{median(r[1] for r in runs):.0f} MB", f"{median(r[2] for r in runs):.0f} MB"])
    app_runs, floor_runs = results["app.py"], results["bench/_floor_app.py"]
    rows.append(["app − floor", f"{median(r[0] for r in app_runs) - median(r[0] for r in floor_runs):+.2f} s", "",
                 "", f"{median(r[2] for r in app_runs) - median(r[2] for r in floor_runs):+.0f} MB"])
    report(f"Start-up to first HTTP 200 and idle RSS (medians of {args.starts} fresh starts, interleaved)",
           ["process", "start → first 200 (median)", "fastest", "RSS at first 200", f"idle RSS after {args.settle:.0f} s"],
           rows, ["No target is set for these; reported with Gradio's floor beside them."])


if __name__ == "__main__":
    main()

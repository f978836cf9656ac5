"""Benchmark the offline image classifier (EfficientNet-Lite0 on numpy): cold start, per-image latency, images/s.

    .venv/bin/python bench/bench_local_image.py [--runs 30] [--blas-threads 1]

Cold start is measured in a fresh interpreter (imports + reading the weights), then again in this process.
Latency is split into decode+preprocess and the network; images/s is for sequential classify() calls.
--blas-threads sets OPENBLAS_NUM_THREADS/OMP_NUM_THREADS before numpy loads: on a busy 2-core machine one
thread is often faster than two, because OpenBLAS threads spin-wait for each other.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed classify() calls per image")
    parser.add_argument("--blas-threads", type=int, default=None, help="OPENBLAS_NUM_THREADS for this run")
    return parser.parse_args()


def cold_start(env: dict) -> float:
    code = ("import time; t = time.perf_counter(); "
            "from components.local.image_model import ImageClassifier; ImageClassifier.load(); "
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    args = parse_args()
    if args.blas_threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.blas_threads)
    sys.path.insert(0, str(ROOT))
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    cold = cold_start(env)
    import numpy as np  # noqa: F401  (after the thread settings above)

    from components.local.image_model import ImageClassifier, decode_image, preprocess

    t = time.perf_counter()
    clf = ImageClassifier.load()
    warm_load = time.perf_counter() - t

    rows = []
    for name in ("cat-chelsea.png", "coffee-cup.png"):
        data = (ROOT / "assets" / name).read_bytes()
        x = preprocess(decode_image(data))
        clf.network.logits(x)  # warm-up
        prep, net, total = [], [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            x = preprocess(decode_image(data))
            t1 = time.perf_counter()
            clf.network.logits(x)
            t2 = time.perf_counter()
            prep.append(t1 - t0)
            net.append(t2 - t1)
        t0 = time.perf_counter()
        for _ in range(args.runs):
            top = clf.classify(data)
            total.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
        rows.append((name, 1000 * np.median(prep), 1000 * np.median(net), 1000 * percentile(net, 0.9),
                     1000 * np.median(total), 1 / np.mean(total), f"{top[0]['label']} {top[0]['score']:.2f}"))

    threads = args.blas_threads or os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"EfficientNet-Lite0, numpy {np.__version__}, {os.cpu_count()} CPUs, BLAS threads: {threads}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"cold start (fresh interpreter: imports + weights): {cold * 1000:7.0f} ms")
    print(f"ImageClassifier.load() in a warm process:          {warm_load * 1000:7.0f} ms")
    print()
    header = ("image", "prep ms", "net ms p50", "net ms p90", "classify ms", "images/s", "top-1")
    print(f"{header[0]:<18}{header[1]:>9}{header[2]:>12}{header[3]:>12}{header[4]:>13}{header[5]:>10}  {header[6]}")
    for name, prep_ms, net_ms, net90, total_ms, ips, label in rows:
        print(f"{name:<18}{prep_ms:>9.1f}{net_ms:>12.1f}{net90:>12.1f}{total_ms:>13.1f}{ips:>10.1f}  {label}")


if __name__ == "__main__":
    main()

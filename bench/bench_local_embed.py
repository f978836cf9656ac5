"""Benchmark the offline all-MiniLM-L6-v2 embedder (components/local/embed_model.py). Not a test.

    .venv/bin/python bench/bench_local_embed.py [--repeat 3]

Prints cold load time (a fresh interpreter: import + weights + tokenizer) and sentences/s at batch 32
for short, typical and maximum-length (256-token) inputs. On a busy 2-core machine, OpenBLAS's own threads fight
the other processes: compare with `OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_local_embed.py`.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ("the a cat dog model network sentence vector quickly runs under over bright cloud edge worker "
         "inference token embedding search query answer river mountain city market fell rose today "
         "yesterday library engine offline local small fast numpy matrix").split()

COLD = ("import time; t = time.perf_counter(); from components.local.embed_model import Embedder; "
        "e = Embedder.load(); print(time.perf_counter() - t)")


def sentences(count: int, words: tuple[int, int], seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(*words))).capitalize() + "." for _ in range(count)]


def cold_load_seconds(runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", COLD], cwd=ROOT, capture_output=True, text=True, check=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"})
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per row; the best is reported")
    args = parser.parse_args()

    from components.local.embed_model import BATCH_SIZE, Embedder

    cold = cold_load_seconds(args.repeat)
    started = time.perf_counter()
    embedder = Embedder.load()
    warm = time.perf_counter() - started

    rows = [("short (4-8 words)", sentences(256, (4, 8))),
            ("typical (10-30 words)", sentences(256, (10, 30), seed=1)),
            ("max length (256 tokens)", sentences(64, (300, 400), seed=2))]
    print(f"cpus: {os.cpu_count()}  batch: {BATCH_SIZE}  numpy: {__import__('numpy').__version__}")
    print(f"{'load':<26}{'seconds':>10}")
    print(f"{'cold (fresh interpreter)':<26}{cold:>10.2f}")
    print(f"{'warm (already imported)':<26}{warm:>10.2f}")
    print()
    print(f"{'input':<26}{'texts':>6}{'tokens/text':>13}{'sentences/s':>13}")
    embedder.embed(rows[0][1][:BATCH_SIZE])  # warm-up: BLAS threads, allocator
    for label, texts in rows:
        tokens = sum(embedder.count_tokens(texts)) / len(texts)
        best = min(_timed(embedder.embed, texts) for _ in range(args.repeat))
        print(f"{label:<26}{len(texts):>6}{tokens:>13.1f}{len(texts) / best:>13.1f}")


def _timed(fn, arg) -> float:
    started = time.perf_counter()
    fn(arg)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

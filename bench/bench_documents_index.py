"""Benchmark the embedded document index (components/core/documents/embedded.py): insert, retrieval, memory. Not a test.

    .venv/bin/python bench/bench_documents_index.py [--chunks 100000] [--dims 384] [--queries 300]

One collection of `--chunks` chunks (random unit vectors, ~600 characters of text each: a typical chunk) in a
fresh store in a temporary folder:
- insert: chunks/s through Index.upsert, 5,000 per call (the most one collection holds in the app), each call one
  transaction;
- retrieval, in a fresh process that opens the store as the app would after a restart: the first query (the
  collection's matrix read from SQLite), then `--queries` queries through Index.query (top 5, as the app asks;
  asyncio.to_thread included, embedding excluded) — p50 / p95 — and the search alone, without the thread hop;
- memory: that process's RSS before the first query and after it (the matrix in memory), and what the index
  counts for its cached matrices.
The same is measured at 5,000 chunks, the app's per-collection limit. OpenBLAS threads fight other processes on a
busy 2-core machine: compare with `OPENBLAS_NUM_THREADS=1`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODEL = "@cf/baai/bge-small-en-v1.5"
COLLECTION = "c_benchmarkcollection000000"
WRITE_CALL = 5_000
TEXT = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et "
        "dolore magna aliqua. ") * 5  # ~600 characters


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def insert(path: Path, chunks: int, dims: int) -> dict:
    from components.core.documents.embedded import EmbeddedIndex
    from components.core.documents.index import Index
    from components.core.documents.model import Chunk

    index = Index(EmbeddedIndex(path))
    await index.prepare(dims, MODEL)
    rng = np.random.default_rng(0)
    seconds = 0.0
    for start in range(0, chunks, WRITE_CALL):
        count = min(WRITE_CALL, chunks - start)
        part = [Chunk(f"chunk-{n:08d}", f"document-{n // 500}.pdf", n % 40 + 1, "Heading", f"{n} {TEXT}", 150)
                for n in range(start, start + count)]
        vectors = rng.standard_normal((count, dims), dtype=np.float32)
        started = time.perf_counter()
        await index.upsert(COLLECTION, part, vectors)
        seconds += time.perf_counter() - started
    index.backend.close()
    return {"insert_per_s": chunks / seconds, "insert_s": seconds,
            "file_mb": sum(p.stat().st_size for p in path.parent.iterdir()) / 2**20}


async def retrieve(path: Path, dims: int, queries: int) -> dict:
    """In a fresh process: open the store, first query, then timed queries."""
    from components.core.documents.embedded import EmbeddedIndex
    from components.core.documents.index import Index

    index = Index(EmbeddedIndex(path))
    await index.prepare(dims, MODEL)
    rng = np.random.default_rng(1)
    asks = rng.standard_normal((queries, dims), dtype=np.float32)
    before = rss_mb()
    started = time.perf_counter()
    await index.query(COLLECTION, asks[0], 5)
    first = time.perf_counter() - started
    after = rss_mb()
    through_index, alone = [], []
    for vector in asks:
        started = time.perf_counter()
        await index.query(COLLECTION, vector, 5)
        through_index.append(time.perf_counter() - started)
    for vector in asks:
        started = time.perf_counter()
        index.backend._query(COLLECTION, vector, 5)
        alone.append(time.perf_counter() - started)
    return {"first_query_s": first, "rss_before_mb": before, "rss_after_mb": after,
            "cached_mb": index.backend.cached_bytes() / 2**20,
            "p50_ms": statistics.median(through_index) * 1e3, "p95_ms": percentile(through_index, 0.95) * 1e3,
            "alone_p50_ms": statistics.median(alone) * 1e3, "alone_p95_ms": percentile(alone, 0.95) * 1e3}


def measure(chunks: int, dims: int, queries: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "store.sqlite3"
        result = asyncio.run(insert(path, chunks, dims))
        child = subprocess.run([sys.executable, __file__, "--retrieve", str(path), "--dims", str(dims),
                                "--queries", str(queries)], capture_output=True, text=True, check=True)
        result.update(json.loads(child.stdout.strip().splitlines()[-1]))
    return {"chunks": chunks, "dims": dims, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--retrieve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.retrieve:
        print(json.dumps(asyncio.run(retrieve(Path(args.retrieve), args.dims, args.queries))))
        return
    print(f"cpus: {os.cpu_count()}  numpy: {np.__version__}  OPENBLAS_NUM_THREADS: "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}  load: {os.getloadavg()[0]:.2f}")
    rows = [measure(size, args.dims, args.queries) for size in sorted({5_000, args.chunks})]
    print()
    print("| chunks × dims | insert (chunks/s) | file | first query (matrix read) | query p50 / p95 (Index.query) "
          "| search alone p50 / p95 | RSS before → after first query | matrix cached |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['chunks']:,} × {row['dims']} | {row['insert_per_s']:,.0f} | {row['file_mb']:.0f} MiB "
              f"| {row['first_query_s'] * 1e3:.0f} ms | {row['p50_ms']:.2f} / {row['p95_ms']:.2f} ms "
              f"| {row['alone_p50_ms']:.2f} / {row['alone_p95_ms']:.2f} ms "
              f"| {row['rss_before_mb']:.0f} → {row['rss_after_mb']:.0f} MB | {row['cached_mb']:.0f} MiB |")


if __name__ == "__main__":
    main()

"""Embeddings: requests and wall time for 1,000 sentences through the app's `embed` vs one request per sentence.

    .venv/bin/python bench/bench_cloud_embeddings.py [--sentences 1000] [--unique 800] [--rtt 0] [--rounds 3]

The corpus has `--sentences` lines of which `--unique` are distinct (the rest repeat earlier lines, shuffled with
a fixed seed). `components.core.embeddings.embed` (what both Embeddings endpoints and the routing judge use) is
compared with what a tutorial does: `client.run(model, {"text": sentence})` once per sentence, one after another,
through the same shared client. The fake records every request: how many, how many texts each carried, and whether
any text was sent twice. `--rtt 0.02` adds 20 ms before each answer (the fake's `hang` fault) to show what latency
does to both.
Targets: every request ≤ 100 texts, every distinct text sent exactly once, and the same vectors as per-sentence.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import time

import numpy as np

from _harness import fake_server, install_shared_client, median, report, verdict

MODEL = "@cf/baai/bge-base-en-v1.5"
SUBJECTS = ["The cat", "A developer", "The market", "Our team", "The weather", "A robot", "The river", "My neighbour"]
VERBS = ["watches", "builds", "moves past", "explains", "changes", "follows", "ignores", "describes"]
OBJECTS = ["the old bridge", "a new model", "the evening news", "the quiet harbour", "every request",
           "the red kite", "a long story", "the edge network"]


def corpus(total: int, unique: int, seed: int = 7) -> list[str]:
    distinct = [f"{SUBJECTS[i % 8]} {VERBS[i // 8 % 8]} {OBJECTS[i // 64 % 8]} (line {i})." for i in range(unique)]
    rng = random.Random(seed)
    lines = distinct + [rng.choice(distinct) for _ in range(total - unique)]
    rng.shuffle(lines)
    return lines


def queue_latency(fake, seconds: float, count: int) -> None:
    if seconds > 0:
        from tests.fake_workers_ai import Fault

        fake.fail(*(Fault.hang(seconds) for _ in range(count)), model=MODEL)


async def app_path(texts: list[str]) -> np.ndarray:
    from components.core.embeddings import embed

    return await embed(texts, MODEL)


async def per_sentence(client, texts: list[str]) -> np.ndarray:
    rows = []
    for text in texts:
        result = await client.run(MODEL, {"text": text})
        rows.append(result["data"][0])
    vectors = np.asarray(rows, dtype=float)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--unique", type=int, default=800)
    parser.add_argument("--rtt", type=float, default=0.0, help="seconds the fake waits before each answer")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = corpus(args.sentences, args.unique)
    unique = set(texts)
    with fake_server() as fake:
        client = install_shared_client(fake)
        asyncio.run(app_path(["warm up", "the client and the imports"]))
        app_times, naive_times, app_requests = [], [], []
        for _ in range(args.rounds):
            fake.requests.clear()
            queue_latency(fake, args.rtt, args.sentences)
            started = time.perf_counter()
            app_vectors = asyncio.run(app_path(texts))
            app_times.append(time.perf_counter() - started)
            print(f"embed: {app_times[-1]:.2f} s", flush=True)
            app_requests = [r for r in fake.requests if r.model == MODEL]
            fake.reset()
        fake.requests.clear()
        queue_latency(fake, args.rtt, args.sentences)
        started = time.perf_counter()
        naive_vectors = asyncio.run(per_sentence(client, texts))
        naive_times.append(time.perf_counter() - started)
        naive_requests = [r for r in fake.requests if r.model == MODEL]
    sent = collections.Counter(text for request in app_requests for text in request.json["text"])
    batch_sizes = [len(request.json["text"]) for request in app_requests]
    largest = max(batch_sizes)
    once = set(sent) == unique and max(sent.values()) == 1
    same = app_vectors.shape == naive_vectors.shape and np.allclose(app_vectors, naive_vectors, atol=1e-6)
    app_time, naive_time = median(app_times), median(naive_times)
    rows = [
        ["requests", str(len(app_requests)), str(len(naive_requests)),
         f"{len(naive_requests) / len(app_requests):.0f}× fewer", ""],
        ["texts per request (largest)", f"{largest} (sizes {', '.join(map(str, sorted(batch_sizes, reverse=True)))})",
         "1", "≤ 100", verdict(largest <= 100)],
        ["texts embedded (sent)", f"{sum(sent.values())} = the {len(unique)} distinct",
         f"{len(naive_requests)}", "each distinct text once", verdict(once)],
        ["request bodies, total bytes", f"{sum(len(r.body) for r in app_requests):,}",
         f"{sum(len(r.body) for r in naive_requests):,}", "", ""],
        ["wall time" + (f" (median of {args.rounds})" if args.rounds > 1 else ""), f"{app_time:.2f} s",
         f"{naive_time:.2f} s", f"{naive_time / app_time:.0f}× faster", ""],
        ["vectors, in input order", f"{app_vectors.shape[0]} × {app_vectors.shape[1]}",
         f"{naive_vectors.shape[0]} × {naive_vectors.shape[1]}", "identical", verdict(same)],
    ]
    report(f"Embeddings: {args.sentences:,} sentences ({len(unique)} distinct) with `embed` vs one request per "
           f"sentence ({'loopback, no added latency' if not args.rtt else f'{1000 * args.rtt:.0f} ms added per request'})",
           ["measure", "app (`components.core.embeddings.embed`)", "one request per sentence", "target / gain", "result"],
           rows)


if __name__ == "__main__":
    main()

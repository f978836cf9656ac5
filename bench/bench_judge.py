"""Measure the routing judges (components/core/routing/judge.py) on the labelled set. Not a test.

    .venv/bin/python bench/bench_judge.py            # offline: the real local models (MiniLM, SmolLM2-135M)
    .venv/bin/python bench/bench_judge.py --markdown # the results as a Markdown table, for bench/README.md

Every judge is scored on all labelled prompts with **leave-one-out**: the embedding judges classify each prompt
against the centroids (or neighbours) of the *other* prompts, so no prompt is ever scored against itself. The
keyword and small-LLM judges learn nothing from the set (fixed weights, a zero-shot prompt), so leave-one-out is
the same as scoring them directly — but the keyword weights were written by a person who had read the set, so its
figure is optimistic. With CLOUDFLARE_ACCOUNT_ID/CLOUDFLARE_API_TOKEN set it measures the Workers AI models
instead (bge-small-en-v1.5, llama-3.2-1b-instruct).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def metrics(name: str, truth: list[str], scores: list[float], seconds: list[float], cost: str) -> dict:
    from components.core.routing.judge import COMPLEX, THRESHOLD

    predicted = [COMPLEX if s >= THRESHOLD else "simple" for s in scores]
    pairs = list(zip(truth, predicted))
    tp = sum(1 for t, p in pairs if t == p == COMPLEX)
    fn = sum(1 for t, p in pairs if t == COMPLEX != p)  # a hard question kept at the edge
    fp = sum(1 for t, p in pairs if p == COMPLEX != t)  # an easy one sent to the big model
    correct = sum(1 for t, p in pairs if t == p)
    return {
        "judge": name, "accuracy": correct / len(pairs), "correct": correct, "n": len(pairs),
        "complex_recall": tp / max(1, tp + fn), "complex_precision": tp / max(1, tp + fp), "missed": fn,
        "over": fp, "edge_share": predicted.count("simple") / len(predicted),
        "ms": 1000 * statistics.median(seconds) if seconds else 0.0, "cost": cost,
    }


async def measure(with_llm: bool) -> tuple[str, list[dict]]:
    from components.core import backend
    from components.core.embeddings import embed
    from components.core.routing import judge as j
    from components.core.tokens import embedding_tokens
    from components.workers_ai import estimate, format_usd

    client = backend.client_from_env()
    backend.use_client(client)
    where = client.settings.backend
    examples = j.labelled_set()
    texts, truth = [t for t, _ in examples], [label for _, label in examples]
    results = []

    embed_model = j.EMBEDDING_MODELS[where]
    await embed(texts[:2], embed_model)  # load the model before timing
    started = time.perf_counter()
    vectors = await embed(texts, embed_model)
    per_text = (time.perf_counter() - started) / len(texts)
    one = []
    for text in texts[:20]:
        started = time.perf_counter()
        await embed([text], embed_model)
        one.append(time.perf_counter() - started)
    per_message = statistics.median(one)
    mean_tokens = statistics.mean(embedding_tokens([t], embed_model) for t in texts)
    embed_cost = estimate(embed_model, input_tokens=round(mean_tokens))
    cost = f"{format_usd(embed_cost.usd)} ({embed_cost.neurons:.3f} neurons)" if embed_cost.known else "?"
    short = embed_model.rsplit("/", 1)[-1]
    for method, score in (("nearest centroid", j.centroid_score), ("kNN, k=7", j.knn_score)):
        scores = [score(vectors[i], vectors, truth, exclude=i)[0] for i in range(len(texts))]
        results.append(metrics(f"embedding · {short} · {method} (leave-one-out)", truth, scores,
                               [per_message] * len(texts), cost))
    del per_text

    keyword = j.KeywordJudge()
    scores, seconds = [], []
    for text in texts:
        started = time.perf_counter()
        scores.append(keyword.score(text)[0])
        seconds.append(time.perf_counter() - started)
    results.append(metrics("keywords (fixed weights; written after reading the set)", truth, scores, seconds,
                           "$0"))

    if with_llm:
        llm = j.LLMJudge()
        await llm.judge("Hello")  # load the model before timing
        scores, seconds, costs = [], [], []
        for text in texts:
            started = time.perf_counter()
            verdict = await llm.judge(text)
            seconds.append(time.perf_counter() - started)
            scores.append(verdict.score)
            costs.append(verdict.cost.usd or 0.0)
        undecided = sum(1 for s in scores if s == 0.5)
        results.append(metrics(f"small LLM · {llm.model.rsplit('/', 1)[-1]} (zero-shot; {undecided} unparseable "
                               "→ 0.5 → complex)", truth, scores, seconds, format_usd(statistics.mean(costs))))
    await client.aclose()
    return where, results


def table(rows: list[dict]) -> str:
    lines = ["| judge | accuracy | complex recall | complex precision | hard kept at edge | easy escalated | "
             "edge share | median time per message | cost per message on Workers AI (list price) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['judge']} | **{r['accuracy']:.1%}** ({r['correct']}/{r['n']}) | {r['complex_recall']:.1%} "
                     f"| {r['complex_precision']:.1%} | {r['missed']} | {r['over']} | {r['edge_share']:.0%} "
                     f"| {r['ms']:.1f} ms | {r['cost']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-llm", action="store_true", help="skip the small-LLM judge (the slowest)")
    parser.add_argument("--markdown", action="store_true", help="print only the Markdown table")
    args = parser.parse_args()
    where, rows = asyncio.run(measure(with_llm=not args.no_llm))
    if not args.markdown:
        print(f"backend: {where}; {rows[0]['n']} labelled prompts; cpus: {os.cpu_count()}; "
              f"load: {os.getloadavg()[0]:.1f}")
    print(table(rows))


if __name__ == "__main__":
    main()

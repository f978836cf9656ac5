"""Retrieval quality on the sample collection's labelled questions, offline (all-MiniLM-L6-v2, the embedded index):
recall@5, and how each relevance threshold splits answerable from unanswerable questions. Not a test.

    .venv/bin/python bench/bench_documents_rag.py

recall@5: the share of answerable questions whose labelled passage is in one of the 5 passages retrieved.
The threshold table is what `RELEVANCE` in components/core/documents/answer.py is chosen from: the best passage's
cosine for every answerable question should stay above it, and unanswerable questions should fall below it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["DEMO_STATE_DIR"] = tempfile.mkdtemp(prefix="bench-documents-")

from components.core import backend  # noqa: E402
from components.core.documents import answer, ingest  # noqa: E402
from components.local import offline_client  # noqa: E402
from tests.test_documents_app import QUESTIONS, answers_it  # noqa: E402

THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


async def main() -> None:
    backend.use_client(offline_client())
    await ingest.ensure_sample()
    best = {"answerable": [], "unanswerable": []}
    hits = 0
    for question in QUESTIONS:
        found = await answer.search(question["question"], "", 5)
        kind = "answerable" if question["document"] else "unanswerable"
        best[kind].append(found[0].score)
        hits += kind == "answerable" and any(answers_it(source, question) for source in found)
    answerable, unanswerable = best["answerable"], best["unanswerable"]
    print(f"### Documents: retrieval on the labelled set (offline, {ingest.embedding_model()})\n")
    print(f"recall@5: **{hits / len(answerable):.3f}** ({hits} of {len(answerable)} answerable questions)\n")
    print("| relevance threshold | answerable questions keeping a passage | unanswerable questions left without one |")
    print("|---|---|---|")
    for threshold in THRESHOLDS:
        kept = sum(score >= threshold for score in answerable)
        dropped = sum(score < threshold for score in unanswerable)
        print(f"| {threshold:.2f} | {kept} / {len(answerable)} | {dropped} / {len(unanswerable)} |")
    print(f"\nBest passage's cosine: answerable {min(answerable):.3f} (lowest) to {max(answerable):.3f}; "
          f"unanswerable {min(unanswerable):.3f} to {max(unanswerable):.3f}.")


if __name__ == "__main__":
    asyncio.run(main())

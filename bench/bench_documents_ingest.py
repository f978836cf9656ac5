"""Ingestion throughput: chunks/s through the app's `ingest.store` (chunking, metering, the embedded index) against
the bare embedding calls for the same chunks, on the fake server (loopback). Not a test.

    .venv/bin/python bench/bench_documents_ingest.py [--chunks 2000] [--rounds 3]

Both sides embed the same texts in the same batches (100 per request, 4 in flight), so the ratio is what the app
adds around the network: chunking, the budget's reservation and settlement, and storing the vectors. Target ≥ 0.9×.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DEMO_STATE_DIR"] = tempfile.mkdtemp(prefix="bench-ingest-")

from components import workers_ai  # noqa: E402
from components.core import backend  # noqa: E402
from components.core.documents import ingest  # noqa: E402
from components.core.documents.chunking import chunk  # noqa: E402
from components.core.documents.model import Document, Page, new_collection  # noqa: E402
from components.core.embeddings import embed  # noqa: E402
from tests.fake_workers_ai import FakeWorkersAI  # noqa: E402

ACCOUNT, TOKEN = "0123456789abcdef0123456789ab1a2b", "bench-token"


def document(chunks: int, salt: str) -> Document:
    """A Markdown document of about `chunks` sections, each a distinct paragraph (distinct chunks)."""
    sections = [f"## Section {i} {salt}\n\n" + " ".join(f"word{i}x{j}{salt}" for j in range(120)) for i in range(chunks)]
    return Document(f"bench-{salt}.md", "markdown", (Page(1, "\n\n".join(sections)),))


async def run(chunks: int, rounds: int) -> None:
    model = ingest.embedding_model()
    app_rates, bare_rates = [], []
    for round_ in range(rounds):
        for side in ("bare", "app"):
            doc = document(chunks, f"{side}{round_}")
            started = time.perf_counter()
            if side == "app":
                added = await ingest.store([doc], new_collection(), quotas=False)
                count = added.chunks_added
            else:
                texts = [piece.text for piece in await asyncio.to_thread(chunk, doc, model)]
                await embed(texts, model)
                count = len(texts)
            rate = count / (time.perf_counter() - started)
            (app_rates if side == "app" else bare_rates).append(rate)
    app, bare = statistics.median(app_rates), statistics.median(bare_rates)
    print(f"### Documents: ingestion through the app vs the bare embedding calls ({chunks:,} chunks, {model}, "
          f"medians of {rounds} interleaved rounds, fake server on loopback)\n")
    print("| path | chunks/s | ratio | target | result |\n|---|---|---|---|---|")
    print(f"| bare: chunk + `embed` | {bare:,.0f} |  |  |  |")
    print(f"| app: `ingest.store` (chunk, meter, embed, store in the embedded index) | {app:,.0f} | **{app / bare:.2f}×** "
          f"| ≥ 0.9× | **{'PASS' if app / bare >= 0.9 else 'MISS'}** |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with FakeWorkersAI(account_id=ACCOUNT, token=TOKEN) as fake:
        settings = workers_ai.Settings(account_id=ACCOUNT, api_token=TOKEN, base_url=fake.base_url,
                                       gateway_url=fake.gateway_url)
        backend.use_client(workers_ai.WorkersAI(settings))
        asyncio.run(run(args.chunks, args.rounds))


if __name__ == "__main__":
    main()

"""Load, bounded in count and time, loopback only: many concurrent visitors, zero failures, memory that settles.

Requests go through Gradio's queue API over raw HTTP (POST /gradio_api/call/<name>, then its SSE), the way a
browser's requests arrive, without gradio_client's polling.
"""

import asyncio
import json
import statistics
import time

import httpx

import app
from tests.conftest import ASSETS, report


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


async def call(http: httpx.AsyncClient, base: str, name: str, data: list) -> tuple[str, float]:
    """One queued call: 'complete' or 'error', and its latency in seconds."""
    started = time.perf_counter()
    posted = await http.post(f"{base}gradio_api/call/{name}", json={"data": data})
    posted.raise_for_status()
    event = None
    async with http.stream("GET", f"{base}gradio_api/call/{name}/{posted.json()['event_id']}") as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
                if event in ("complete", "error"):
                    break
    return event, time.perf_counter() - started


async def upload(http: httpx.AsyncClient, base: str, path) -> dict:
    answer = await http.post(f"{base}gradio_api/upload", files={"files": (path.name, path.read_bytes())})
    return {"path": answer.json()[0], "meta": {"_type": "gradio.FileData"}}


def mixed_requests(image: dict) -> list[tuple[str, list]]:
    sentences = "A cat sits on the mat.\nA kitten rests on a rug.\nShares fell today."
    corpus = "Paris is in France.\nBananas are yellow.\nThe Eiffel Tower is in Paris."
    return [
        ("chat", ["Hello there", "@cf/meta/llama-3.1-8b-instruct-fast", "", 64, 0.6]),
        ("classify", [image, "@cf/microsoft/resnet-50"]),
        ("similarity", [sentences, "@cf/baai/bge-small-en-v1.5"]),
        ("search", ["Where is the Eiffel Tower?", corpus, 2, "@cf/baai/bge-small-en-v1.5"]),
    ]


def test_two_hundred_mixed_requests_from_fifty_clients(served, fake):
    fake.token_delay = 0.01

    async def scenario():
        limits = httpx.Limits(max_connections=120)
        async with httpx.AsyncClient(timeout=60, limits=limits) as http:
            kinds = mixed_requests(await upload(http, served, ASSETS / "coffee-cup.png"))

            async def visitor(number: int):
                return [await call(http, served, *kinds[(number + i) % len(kinds)]) for i in range(4)]

            return [result for batch in await asyncio.gather(*(visitor(n) for n in range(50))) for result in batch]

    results = asyncio.run(asyncio.wait_for(scenario(), timeout=240))
    failures = [event for event, _ in results if event != "complete"]
    latencies = sorted(seconds for _, seconds in results)
    p50, p95 = statistics.median(latencies), latencies[int(0.95 * len(latencies)) - 1]
    report(f"load: 200 mixed requests from 50 clients: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
           f"{len(failures)} failed")
    assert len(results) == 200 and not failures, f"{len(failures)} failed: {failures[:5]}"


def test_memory_settles_over_a_thousand_requests(served, fake):
    corpus = "\n".join(f"Document {i} about topic {i % 7}." for i in range(20))

    async def burst(http, count):
        for start in range(0, count, 50):
            results = await asyncio.gather(*(call(http, served, "search", [f"topic {i}", corpus, 3, ""])
                                             for i in range(start, start + 50)))
            assert all(event == "complete" for event, _ in results)

    async def scenario():
        async with httpx.AsyncClient(timeout=60) as http:
            # Warm-up: caches, pools and lazy imports settle, and Gradio's per-session memory reaches its cap
            # (every raw API call is a new session; app.py bounds how many are remembered).
            await burst(http, app.LAUNCH_OPTIONS["state_session_capacity"] + 100)
            before = rss_mb()
            await burst(http, 1000)
            return before, rss_mb()

    before, after = asyncio.run(asyncio.wait_for(scenario(), timeout=240))
    report(f"load: RSS {before:.0f} MB → {after:.0f} MB over 1,000 requests")
    assert after - before < 60, f"RSS grew {after - before:.0f} MB over 1,000 requests"


def test_results_are_json_serialisable_events(served, fake):
    """A sanity check of the raw protocol used above: the completed event carries the endpoint's outputs."""

    async def one():
        async with httpx.AsyncClient(timeout=30) as http:
            posted = await http.post(f"{served}gradio_api/call/search",
                                     json={"data": ["capital", "Paris is the capital.\nBananas.", 1, ""]})
            text = (await http.get(f"{served}gradio_api/call/search/{posted.json()['event_id']}")).text
            return text

    text = asyncio.run(one())
    data = json.loads(text.split("event: complete\ndata: ", 1)[1].splitlines()[0])
    assert data[0]["data"][0][2] == "Paris is the capital."

"""The SSE decoder, fed the awkward byte splits real networks produce."""

import asyncio
import json

import pytest

from components.workers_ai import ProtocolError, SSEDecoder
from components.workers_ai._sse import delta_from_event, stream_deltas


def feed_all(pieces):
    decoder = SSEDecoder()
    events = []
    for piece in pieces:
        events += decoder.feed(piece)
    return [e.data for e in events]


STREAM = 'data: {"response":"Grüße","p":"abc"}\r\n\r\ndata: {"response":" 🌍"}\n\ndata: [DONE]\r\r'.encode()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, len(STREAM)])
def test_any_split_gives_the_same_events(size):
    pieces = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert feed_all(pieces) == ['{"response":"Grüße","p":"abc"}', '{"response":" 🌍"}', "[DONE]"]


def test_cr_at_end_of_a_read_and_lf_at_start_of_the_next_is_one_line_ending():
    assert feed_all([b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"]) == ["a", "b"]


def test_comments_fields_and_multiline_data():
    raw = b": keep-alive\n\nevent: message\nid: 7\ndata: line one\ndata: line two\nretry: 10\n\n"
    assert feed_all([raw]) == ["line one\nline two"]


def test_an_event_without_its_blank_line_is_not_dispatched():
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"response":"x"}\n') == []
    assert decoder.pending


def test_chat_completions_delta_wins_over_response_never_both():
    delta = delta_from_event({"choices": [{"delta": {"content": "Hi"}}], "response": "Hi"})
    assert delta.text == "Hi"
    assert delta_from_event({"response": "Yo", "p": "padding"}).text == "Yo"
    last = delta_from_event({"response": "", "usage": {"prompt_tokens": 3, "completion_tokens": 5}})
    assert last.text == "" and last.usage["completion_tokens"] == 5


async def _collect(chunks):
    async def gen():
        for chunk in chunks:
            yield chunk

    return [d async for d in stream_deltas(gen())]


def test_stream_without_done_is_an_error():
    with pytest.raises(ProtocolError):
        asyncio.run(_collect([b'data: {"response":"a"}\n\n']))


def test_malformed_event_is_an_error_not_text():
    with pytest.raises(ProtocolError):
        asyncio.run(_collect([b'data: {"response": "a"\n\n', b"data: [DONE]\n\n"]))


def test_error_event_mid_stream_is_raised():
    from components.workers_ai import CapacityError

    error = json.dumps({"errors": [{"code": 3040, "message": "Capacity temporarily exceeded"}]}).encode()
    with pytest.raises(CapacityError):
        asyncio.run(_collect([b'data: {"response":"a"}\n\n', b"data: " + error + b"\n\n"]))


def test_coalesce_merges_what_arrives_while_the_consumer_is_busy():
    from components.workers_ai._sse import StreamDelta, coalesce

    async def fast_source():
        for i in range(20):
            yield StreamDelta(text=f"{i} ")
            await asyncio.sleep(0.001)

    async def slow_consumer():
        batches = []
        async for batch in coalesce(fast_source()):
            batches.append(batch)
            await asyncio.sleep(0.01)  # busy, like Gradio sending an update
        return batches

    batches = asyncio.run(slow_consumer())
    assert "".join(d.text for b in batches for d in b) == "".join(f"{i} " for i in range(20))
    assert len(batches[0]) == 1, "the first token is not held back"
    assert len(batches) < 20, "later deltas were merged"


def test_coalesce_raises_after_the_deltas_before_the_failure_and_stops_reading_when_abandoned():
    from components.workers_ai._sse import StreamDelta, coalesce

    closed = []

    async def failing():
        yield StreamDelta(text="a")
        raise ProtocolError("cut")

    async def endless():
        try:
            while True:
                yield StreamDelta(text="x")
                await asyncio.sleep(0.001)
        finally:
            closed.append(True)

    async def scenario():
        seen = []
        with pytest.raises(ProtocolError):
            async for batch in coalesce(failing()):
                seen += batch
        assert [d.text for d in seen] == ["a"]
        stream = coalesce(endless())
        await stream.__anext__()
        await stream.aclose()
        await asyncio.sleep(0.01)

    asyncio.run(scenario())
    assert closed == [True]


def test_coalesce_paces_batches_without_holding_back_the_first_or_the_last():
    from components.workers_ai._sse import StreamDelta, coalesce

    async def source():
        for i in range(60):
            yield StreamDelta(text=f"{i} ")
            await asyncio.sleep(0.002)  # ~500 tokens/s, faster than the cadence

    async def consume():
        loop = asyncio.get_running_loop()
        started, times, batches = loop.time(), [], []
        async for batch in coalesce(source(), min_interval=0.05):
            times.append(loop.time() - started)
            batches.append(batch)
        return times, batches, loop.time() - started

    times, batches, total = asyncio.run(consume())
    assert "".join(d.text for b in batches for d in b) == "".join(f"{i} " for i in range(60))
    assert len(batches[0]) == 1 and times[0] < 0.03, "the first token is not held back"
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(gap >= 0.045 for gap in gaps[:-1]), gaps
    assert len(batches) <= 2 + total / 0.045  # the first, one per interval, and the final flush
    assert total - times[-1] < 0.01 and gaps[-1] < 0.06, "the end of the stream is flushed at once"

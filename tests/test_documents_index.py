"""The document index (components/core/documents/index.py): one suite, run against both backends — the embedded
numpy + SQLite store in tmp_path and Vectorize against the fake — so that switching backends changes nothing a user
sees. What only one backend has, and how the app picks the backend, is in tests/test_documents_index_backends.py."""

import asyncio

import numpy as np
import pytest

from components.core.documents.embedded import EmbeddedIndex
from components.core.documents.index import MAX_TOP_K, Index
from components.core.documents.model import Chunk, Match, new_collection
from components.core.documents.vectorize_index import VectorizeIndex
from components.core.errors import InputProblem
from components.workers_ai import Vectorize, WorkersAI
from tests.conftest import make_settings

MODEL = "@cf/baai/bge-small-en-v1.5"
D = 16
INDEX_NAME = "docs-test"


def run(coroutine):
    return asyncio.run(coroutine)


def chunk(chunk_id: str, text: str | None = None, document: str = "guide.pdf", page: int = 1, heading: str = "") -> Chunk:
    return Chunk(chunk_id, document, page, heading, text or f"text of {chunk_id}", 5)


def unit(*weights: float) -> np.ndarray:
    """A D-dimensional vector with these first components (the rest 0)."""
    vector = np.zeros(D, dtype=np.float32)
    vector[:len(weights)] = weights
    return vector


def cosine(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def random_vectors(count: int, seed: int = 0, dimensions: int = D) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, dimensions)).astype(np.float32)


# ── the two backends ────────────────────────────────────────────────────────────────────────

class Backends:
    """`make()` opens an Index over the test's store (the same store each time: a second call is a restart)."""

    def __init__(self, kind: str, make, fake=None):
        self.kind, self._make, self.fake = kind, make, fake

    def make(self) -> Index:
        return Index(self._make())

    async def opened(self, dimensions: int = D, model: str = MODEL) -> Index:
        index = self.make()
        await index.prepare(dimensions, model)
        return index


@pytest.fixture(params=["embedded", "vectorize"])
def store(request, tmp_path):
    if request.param == "embedded":
        made: list[EmbeddedIndex] = []

        def make_embedded():
            made.append(EmbeddedIndex(tmp_path / "store.sqlite3"))
            return made[-1]

        yield Backends("embedded", make_embedded)
        for item in made:
            item.close()
        return
    fake = request.getfixturevalue("fake")
    if not hasattr(fake, "vectorize_delay"):
        pytest.skip("the fake Vectorize (tests/fake_workers_ai/vectorize.py) is not there yet")
    client = WorkersAI(make_settings(fake), sleep=_no_sleep)  # retries do not wait; polls do (really)

    def make_vectorize():
        return VectorizeIndex(Vectorize(client.settings, INDEX_NAME, client=client, sleep=asyncio.sleep),
                              wait_timeout=10, poll=0.02)

    yield Backends("vectorize", make_vectorize, fake)


async def _no_sleep(_seconds):
    return None


# ── one suite, both backends ────────────────────────────────────────────────────────────────

def test_query_returns_the_closest_chunks_best_first_with_their_cosine(store):
    collection = new_collection()
    vectors = np.stack([unit(1, 0), unit(1, 1), unit(0, 1), unit(-1, 0)])
    chunks = [chunk("a", "Paris is in France.", "europe.md", 3, "Cities"), chunk("b"), chunk("c"), chunk("d")]
    query = unit(1, 0.2)

    async def main():
        index = await store.opened()
        assert await index.upsert(collection, chunks, vectors) == 4
        return await index.query(collection, query, 3)

    matches = run(main())
    assert [match.id for match in matches] == ["a", "b", "c"]
    for match, row in zip(matches, [0, 1, 2]):
        assert match.score == pytest.approx(cosine(query, vectors[row]), abs=1e-5)
    assert matches[0] == Match("a", matches[0].score, "europe.md", 3, "Cities", "Paris is in France.")
    assert matches[0].score > matches[1].score > matches[2].score


def test_collections_are_isolated(store):
    """The same chunk ids and vectors in two collections: each query, count, list and delete sees only its own."""
    mine, theirs = new_collection(), new_collection()
    vectors = random_vectors(5)

    async def main():
        index = await store.opened()
        await index.upsert(mine, [chunk(f"c{n}", f"mine {n}", "mine.md") for n in range(5)], vectors)
        await index.upsert(theirs, [chunk(f"c{n}", f"theirs {n}", "theirs.md") for n in range(3)], vectors[:3])
        for row in range(5):
            assert {m.text.split()[0] for m in await index.query(mine, vectors[row], 20)} == {"mine"}
            assert {m.text.split()[0] for m in await index.query(theirs, vectors[row], 20)} == {"theirs"}
        assert (await index.count(mine), await index.count(theirs)) == (5, 3)
        assert await index.documents(mine) == [("mine.md", 5)]
        assert await index.known_ids(theirs, ["c0", "c4"]) == {"c0"}
        assert await index.query(new_collection(), vectors[0], 5) == []
        assert await index.delete_collection(mine) == 5
        assert await index.count(theirs) == 3
        assert [m.text for m in await index.query(theirs, vectors[0], 1)] == ["theirs 0"]

    run(main())


def test_an_identical_chunk_is_stored_once(store):
    collection = new_collection()
    vectors = random_vectors(3)

    async def main():
        index = await store.opened()
        first = await index.upsert(collection, [chunk("x"), chunk("y"), chunk("x")], vectors)
        again = await index.upsert(collection, [chunk("y"), chunk("z")], vectors[:2])
        return first, again, await index.count(collection)

    assert run(main()) == (2, 1, 3)


def test_known_ids_are_those_the_collection_holds(store):
    collection = new_collection()

    async def main():
        index = await store.opened()
        assert await index.known_ids(collection, ["a", "b"]) == set()
        await index.upsert(collection, [chunk("a"), chunk("b")], random_vectors(2))
        return await index.known_ids(collection, ["a", "b", "c", "a"])

    assert run(main()) == {"a", "b"}


def test_documents_and_count(store):
    collection = new_collection()
    chunks = ([chunk(f"g{n}", document="guide.pdf", page=n + 1) for n in range(3)]
              + [chunk(f"n{n}", document="Notes.md") for n in range(2)] + [chunk("p0", document="Pasted text")])

    async def main():
        index = await store.opened()
        assert (await index.documents(collection), await index.count(collection)) == ([], 0)
        await index.upsert(collection, chunks, random_vectors(len(chunks)))
        return await index.documents(collection), await index.count(collection)

    assert run(main()) == ([("guide.pdf", 3), ("Notes.md", 2), ("Pasted text", 1)], 6)


def test_delete_collection_removes_every_vector_and_text(store):
    collection = new_collection()
    vectors = random_vectors(30)

    async def main():
        index = await store.opened()
        await index.upsert(collection, [chunk(f"k{n}", f"secret passage {n}") for n in range(30)], vectors)
        removed = await index.delete_collection(collection)
        return (removed, await index.count(collection), await index.query(collection, vectors[0], 5),
                await index.known_ids(collection, ["k0"]), await index.documents(collection),
                await index.delete_collection(collection))

    assert run(main()) == (30, 0, [], set(), [], 0)


def test_an_index_built_for_another_model_is_refused_with_both_sizes(store):
    collection = new_collection()

    async def main():
        index = await store.opened(D)
        await index.upsert(collection, [chunk("a")], random_vectors(1))
        with pytest.raises(InputProblem, match=rf"{MODEL} \({D} dimensions\).*@cf/baai/bge-base-en-v1.5 makes "
                                               rf"768-dimensional"):
            await store.opened(768, "@cf/baai/bge-base-en-v1.5")
        with pytest.raises(InputProblem, match=rf"{D} dimensions.*makes 32-dimensional"):
            await index.query(collection, random_vectors(1, dimensions=32)[0], 5)
        with pytest.raises(InputProblem, match=rf"{D} dimensions.*makes 32-dimensional"):
            await index.upsert(collection, [chunk("b")], random_vectors(1, dimensions=32))
        with pytest.raises(InputProblem, match=rf"built for {MODEL} \({D} dimensions\), but @cf/other/embedder"):
            await store.opened(D, "@cf/other/embedder")  # same width, another model: never mixed either
        return await index.count(collection)

    assert run(main()) == 1


def test_the_store_survives_a_restart(store):
    collection = new_collection()
    vectors = random_vectors(4)

    async def write():
        index = await store.opened()
        await index.upsert(collection, [chunk(f"r{n}", document="kept.md") for n in range(4)], vectors)

    async def read():
        index = await store.opened()  # a new object over the same store, as after a restart
        return await index.query(collection, vectors[2], 1), await index.documents(collection)

    run(write())
    matches, documents = run(read())
    assert [m.id for m in matches] == ["r2"] and matches[0].score == pytest.approx(1.0, abs=1e-5)
    assert documents == [("kept.md", 4)]


def test_top_k_is_capped(store):
    collection = new_collection()
    vectors = random_vectors(30)

    async def main():
        index = await store.opened()
        await index.upsert(collection, [chunk(f"t{n}") for n in range(30)], vectors)
        return [len(await index.query(collection, vectors[0], k)) for k in (50, 20, 3, 0, "7")]

    assert run(main()) == [MAX_TOP_K, 20, 3, 1, 7]


@pytest.mark.parametrize("bad", ["../../etc/passwd", "a/b", "a\\b", "..", ".hidden", "", "x" * 65, "é" * 33,
                                 "with space", "new\nline", None])
def test_ids_that_are_paths_or_too_long_are_refused(store, bad):
    collection = new_collection()

    async def main():
        index = await store.opened()
        with pytest.raises(InputProblem, match="is not a chunk id"):
            await index.upsert(collection, [chunk("fine"), Chunk(bad, "d", 1, "", "t", 1)], random_vectors(2))
        with pytest.raises(InputProblem, match="is not a chunk id"):
            await index.known_ids(collection, [bad])
        return await index.count(collection)

    assert run(main()) == 0  # nothing half-stored


def test_the_longest_id_is_accepted(store):
    collection, longest = new_collection(), "h" * 64

    async def main():
        index = await store.opened()
        await index.upsert(collection, [chunk(longest)], random_vectors(1))
        return await index.known_ids(collection, [longest])

    assert run(main()) == {longest}


@pytest.mark.parametrize("bad", ["c_short", "../c_aaaaaaaaaaaaaaaaaaaaaaaaaa", "", None, "c_" + "a" * 41])
def test_collection_ids_are_checked(store, bad):
    async def main():
        index = await store.opened()
        for call in (index.count(bad), index.documents(bad), index.delete_collection(bad),
                     index.query(bad, unit(1), 3), index.upsert(bad, [chunk("a")], random_vectors(1))):
            with pytest.raises(InputProblem, match="not a collection id"):
                await call

    run(main())


def test_upsert_returns_only_once_the_chunks_are_searchable(store):
    """Vectorize processes writes later (the fake waits `vectorize_delay`); upsert waits for it, with progress."""
    if store.fake is not None:
        store.fake.vectorize_delay = 0.3
    collection = new_collection()
    vectors = random_vectors(3)
    progress: list[float] = []

    async def main():
        index = await store.opened()
        await index.upsert(collection, [chunk("v0"), chunk("v1"), chunk("v2")], vectors, on_progress=progress.append)
        await asyncio.sleep(0)  # the embedded store reports from its worker thread through the loop
        return await index.query(collection, vectors[1], 1), await index.count(collection)

    matches, count = run(main())
    assert [m.id for m in matches] == ["v1"] and count == 3
    assert progress and progress == sorted(progress) and progress[-1] == 1.0 and all(0 <= f <= 1 for f in progress)


def test_inputs_a_backend_never_sees(store):
    collection = new_collection()

    async def main():
        index = store.make()
        with pytest.raises(RuntimeError, match="prepare"):
            await index.count(collection)
        with pytest.raises(InputProblem, match="1 to 1536 dimensions"):
            await index.prepare(2048, MODEL)
        await index.prepare(D, MODEL)
        with pytest.raises(ValueError, match="2 chunks need"):
            await index.upsert(collection, [chunk("a"), chunk("b")], random_vectors(1))
        with pytest.raises(ValueError, match="NaN"):
            await index.upsert(collection, [chunk("a")], np.full((1, D), np.nan))
        with pytest.raises(ValueError, match="zero"):
            await index.query(collection, np.zeros(D), 3)
        assert await index.upsert(collection, [], np.zeros((0, D))) == 0
        return await index.query(collection, unit(1).tolist(), 3)  # a list is a vector too

    assert run(main()) == []

"""The document index (components/core/documents/index.py), what only one backend has: the embedded store's files,
memory bound, concurrent writers and deletion on disk; Vectorize's ids, metadata, permissions and asynchronous writes;
and how the app picks the backend. The suite run against both backends is in tests/test_documents_index.py."""

import asyncio
import json
import re
import threading

import numpy as np
import pytest

from components.core import backend
from components.core.documents import embedded
from components.core.documents.embedded import EmbeddedIndex, default_directory, store_path
from components.core.documents.index import Index, backend_choice, document_index, forget_indexes
from components.core.documents.model import new_collection
from components.core.documents.vectorize_index import (
    MAX_METADATA_BYTES,
    METADATA_INDEXES,
    IndexNotReady,
    VectorizeIndex,
    collection_tag,
    metadata,
    vector_id,
)
from components.core.errors import InputProblem
from components.workers_ai import Settings, Vectorize, WorkersAI
from tests.conftest import make_settings
from tests.test_documents_index import D, INDEX_NAME, MODEL, _no_sleep, chunk, random_vectors, run, unit

# ── the embedded store ──────────────────────────────────────────────────────────────────────

def test_one_file_per_model_and_dimensions_under_the_state_dir(tmp_path):
    folder = default_directory({"DEMO_STATE_DIR": str(tmp_path)})
    assert folder == tmp_path / "documents"
    assert default_directory({}) == embedded.DEFAULT_FOLDER.expanduser() / "documents"  # conftest: a tmp folder
    small, base = store_path(folder, MODEL, 384), store_path(folder, "@cf/baai/bge-base-en-v1.5", 768)
    assert small.parent == folder and small != base
    assert re.fullmatch(r"cf-baai-bge-small-en-v1\.5-[0-9a-f]{8}-384\.sqlite3", small.name)
    assert store_path(folder, "@cf/a/b.c", 384) != store_path(folder, "@cf/a-b/c", 384)  # never one file for two

    async def main():
        store = EmbeddedIndex(small)
        await store.prepare(384, MODEL)
        store.close()

    run(main())
    assert embedded.stored_dimensions(folder, MODEL) == [384]
    assert embedded.stored_dimensions(folder, "@cf/baai/bge-base-en-v1.5") == []
    assert folder.stat().st_mode & 0o777 == 0o700  # people's documents: the owner's only


def test_the_scores_without_numpy_2_are_the_same():
    matrix, vector = random_vectors(50), random_vectors(1, seed=5)[0]
    assert np.allclose(embedded._einsum_dot(matrix, vector), matrix @ vector, atol=1e-5)
    assert np.allclose(embedded._dot(matrix, vector), matrix @ vector, atol=1e-5)


def test_deleting_a_collection_leaves_no_text_on_disk(tmp_path):
    path = tmp_path / "store.sqlite3"
    collection, kept = new_collection(), new_collection()

    async def main():
        index = Index(EmbeddedIndex(path))
        await index.prepare(D, MODEL)
        await index.upsert(collection, [chunk(f"s{n}", f"ZEBRA-SECRET-{n} " * 20) for n in range(50)],
                           random_vectors(50))
        await index.upsert(kept, [chunk("k", "still here")], random_vectors(1))
        assert await index.delete_collection(collection) == 50
        index.backend.close()

    run(main())
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("store.sqlite3"))
    assert b"ZEBRA-SECRET" not in on_disk and b"still here" in on_disk


def test_two_processes_writing_one_store_see_each_other(tmp_path):
    """Two EmbeddedIndex objects on one file stand for two app processes: concurrent writers all land (WAL, one
    transaction each), and a query sees the other's writes (its cached matrix is stale by the version)."""
    path = tmp_path / "store.sqlite3"
    collection = new_collection()

    async def main():
        first, second = Index(EmbeddedIndex(path)), Index(EmbeddedIndex(path))
        await asyncio.gather(first.prepare(D, MODEL), second.prepare(D, MODEL))
        await first.upsert(collection, [chunk("seed")], random_vectors(1, seed=9))
        assert len(await second.query(collection, unit(1), 20)) == 1  # second caches a one-row matrix
        writes = [(first if n % 2 else second).upsert(collection, [chunk(f"w{n}-{m}") for m in range(20)],
                                                      random_vectors(20, seed=n)) for n in range(8)]
        assert sum(await asyncio.gather(*writes)) == 160
        found = await second.query(collection, random_vectors(1, seed=3)[0], 1)
        counts = await first.count(collection), await second.count(collection)
        first.backend.close(), second.backend.close()
        return found, counts

    found, counts = run(main())
    assert counts == (161, 161) and found[0].id == "w3-0"


def test_writers_in_many_threads(tmp_path):
    """One store, writes from several threads at once (each its own connection): all of them land."""
    store = EmbeddedIndex(tmp_path / "store.sqlite3")
    collection = new_collection()
    run(store.prepare(D, MODEL))
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            run(store.upsert(collection, [chunk(f"t{n}-{m}") for m in range(50)], random_vectors(50, seed=n)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and run(store.count(collection)) == 300
    store.close()


def test_concurrent_first_queries_read_the_matrix_once(tmp_path, monkeypatch):
    store = EmbeddedIndex(tmp_path / "store.sqlite3")
    collection = new_collection()
    vectors = random_vectors(200)
    made = []

    class Counted(embedded._Matrix):
        def __init__(self, *args):
            super().__init__(*args)
            made.append(self)

    monkeypatch.setattr(embedded, "_Matrix", Counted)

    async def main():
        await store.prepare(D, MODEL)
        await store.upsert(collection, [chunk(f"q{n}") for n in range(200)], vectors)
        return await asyncio.gather(*(store.query(collection, vectors[n], 1) for n in range(8)))

    results = run(main())
    assert [found[0].id for found in results] == [f"q{n}" for n in range(8)]
    assert len(made) == 1  # the others waited for the one read, then used it
    store.close()


def test_the_matrices_in_memory_are_bounded(tmp_path):
    one = 100 * D * 4 + 100 * embedded.ID_BYTES_IN_MEMORY  # a collection of 100 chunks
    store = EmbeddedIndex(tmp_path / "store.sqlite3", cache_bytes=int(2.5 * one))
    collections = [new_collection() for _ in range(5)]

    async def main():
        await store.prepare(D, MODEL)
        for n, collection in enumerate(collections):
            await store.upsert(collection, [chunk(f"m{m}") for m in range(100)], random_vectors(100, seed=n))
        for collection in collections:
            await store.query(collection, unit(1), 5)
            assert store.cached_bytes() <= 2.5 * one
        # the least recently used went first; the one asked for last is always kept
        assert list(store._cache) == collections[-2:]
        found = await store.query(collections[0], random_vectors(1, seed=0)[0], 1)  # read again when needed
        assert found[0].id == "m0"

    run(main())
    store.close()


def test_a_file_made_for_another_model_is_refused(tmp_path):
    path = tmp_path / "store.sqlite3"

    async def main():
        first = EmbeddedIndex(path)
        await first.prepare(D, MODEL)
        first.close()
        second = EmbeddedIndex(path)
        with pytest.raises(InputProblem, match=rf"built for {MODEL} \({D} dimensions\)"):
            await second.prepare(D * 2, MODEL)  # a renamed or copied file: its own record wins
        second.close()

    run(main())


# ── Vectorize ───────────────────────────────────────────────────────────────────────────────

@pytest.fixture
def vectorize(fake):
    if not hasattr(fake, "vectorize_delay"):
        pytest.skip("the fake Vectorize (tests/fake_workers_ai/vectorize.py) is not there yet")
    client = WorkersAI(make_settings(fake), sleep=_no_sleep)
    return Vectorize(client.settings, INDEX_NAME, client=client, sleep=asyncio.sleep)


def test_vectorize_index_is_created_with_cosine_and_metadata_indexes_before_any_write(fake, vectorize):
    collection = new_collection()

    async def main():
        index = Index(VectorizeIndex(vectorize, poll=0.02))
        await index.prepare(D, MODEL)
        created = await vectorize.get_index()
        properties = [item["propertyName"] for item in await vectorize.metadata_indexes()]
        await index.upsert(collection, [chunk("a", "hello")], random_vectors(1))
        return created, properties

    created, properties = run(main())
    assert created["config"] == {"dimensions": D, "metric": "cosine"} and MODEL in created["description"]
    assert set(METADATA_INDEXES) <= set(properties)
    paths = [request.path for request in fake.requests if "/vectorize/" in request.path]
    first_write = next(n for n, path in enumerate(paths) if path.endswith("/upsert"))
    assert all(n < first_write for n, path in enumerate(paths) if path.endswith("/metadata_index/create"))


def test_vectorize_ids_namespaces_and_metadata(fake, vectorize):
    collection = new_collection()

    async def main():
        index = Index(VectorizeIndex(vectorize, poll=0.02))
        await index.prepare(D, MODEL)
        await index.upsert(collection, [chunk("same-id", "hello", "a.md", 2, "Intro")], random_vectors(1))
        return await vectorize.get_by_ids([vector_id(collection, "same-id")])

    [stored] = run(main())
    assert stored["namespace"] == collection and stored["id"].startswith(collection_tag(collection) + ".")
    assert len(stored["id"].encode()) <= 64 and vector_id(new_collection(), "same-id") != stored["id"]
    assert stored["metadata"] == {"collection": collection, "chunk": "same-id", "document": "a.md", "page": 2,
                                  "heading": "Intro", "text": "hello", "tokens": 5}
    queries = [request for request in fake.requests if request.path.endswith("/query")]
    assert queries and all(request.json["namespace"] == collection and request.json["filter"] ==
                           {"collection": collection} for request in queries)


def test_vectorize_metadata_stays_within_10_kib():
    long = chunk("long", "ü€ \n" * 5000, "d" * 2000, heading="h" * 2000)
    item = metadata(new_collection(), long)
    assert len(json.dumps(item, separators=(",", ":"))) <= MAX_METADATA_BYTES and item["trimmed"] is True
    assert item["text"] and long.text.startswith(item["text"]) and len(item["document"].encode()) <= 512
    assert "trimmed" not in metadata(new_collection(), chunk("short", "ü" * 100))


def test_vectorize_a_large_collection_is_listed_whole(fake, vectorize):
    """Over 100 chunks one query cannot list a collection: the index's id list (by the collection's tag) does."""
    collection, other = new_collection(), new_collection()
    vectors = random_vectors(260)
    fake.vectorize_delay = 0

    async def main():
        index = Index(VectorizeIndex(vectorize, poll=0.02))
        await index.prepare(D, MODEL)
        await index.upsert(collection, [chunk(f"l{n}", document=f"doc{n % 3}.md") for n in range(250)], vectors[:250])
        await index.upsert(other, [chunk(f"o{n}") for n in range(10)], vectors[250:])
        known = await index.known_ids(collection, ["l0", "l249", "o1"])
        result = (await index.count(collection), await index.documents(collection), known,
                  await index.delete_collection(collection), await index.count(collection), await index.count(other))
        return result

    count, documents, known, removed, after, kept = run(main())
    assert (count, known, removed, after, kept) == (250, {"l0", "l249"}, 250, 0, 10)
    assert documents == [("doc0.md", 84), ("doc1.md", 83), ("doc2.md", 83)]


def test_vectorize_write_not_processed_in_time_says_so(fake, vectorize):
    async def main():
        index = Index(VectorizeIndex(vectorize, wait_timeout=0.2, poll=0.05))
        await index.prepare(D, MODEL)
        fake.vectorize_delay = 5  # longer than the index waits
        progress: list[float] = []
        with pytest.raises(IndexNotReady, match="has not made them searchable within 0.2 s: ask again in a minute"):
            await index.upsert(new_collection(), [chunk("slow")], random_vectors(1), on_progress=progress.append)
        return progress

    progress = run(main())
    assert progress and max(progress) < 1.0


def test_vectorize_index_deleted_behind_our_back_is_made_again(fake, vectorize):
    collection = new_collection()

    async def main():
        index = Index(VectorizeIndex(vectorize, poll=0.02))
        await index.prepare(D, MODEL)
        await index.upsert(collection, [chunk("a")], random_vectors(1))
        await vectorize.delete_index()
        gone = await index.query(collection, unit(1), 3), await index.count(collection)
        await index.prepare(D, MODEL)  # what document_index() does before every use
        added = await index.upsert(collection, [chunk("a")], random_vectors(1))
        return gone, added, (await vectorize.get_index())["config"]["dimensions"]

    assert run(main()) == (([], 0), 1, D)


@pytest.mark.parametrize("access, permission", [("read", "Vectorize Edit"), ("not_entitled", "not entitled")])
def test_vectorize_permission_errors_are_sentences(fake, vectorize, access, permission):
    async def main():
        index = Index(VectorizeIndex(vectorize, poll=0.02))
        await index.prepare(D, MODEL)
        fake.vectorize_access = access
        with pytest.raises(InputProblem, match=permission):
            await index.upsert(new_collection(), [chunk("a")], random_vectors(1))

    run(main())


def test_vectorize_index_of_another_width_made_elsewhere(fake, vectorize):
    async def main():
        await vectorize.create_index(768, "cosine", "someone else's")
        with pytest.raises(InputProblem, match=rf"\(768 dimensions\), but {MODEL} makes {D}-dimensional"):
            await Index(VectorizeIndex(vectorize)).prepare(D, MODEL)

    run(main())


# ── which backend the app uses ──────────────────────────────────────────────────────────────

@pytest.fixture
def clean_indexes():
    forget_indexes()
    yield
    forget_indexes()


def test_without_vectorize_settings_the_embedded_store_under_the_state_dir(tmp_path, monkeypatch, clean_indexes):
    monkeypatch.setenv("DEMO_STATE_DIR", str(tmp_path))
    previous = backend.shared_client()
    backend.use_client(WorkersAI(Settings()))  # no account
    try:
        monkeypatch.setenv("VECTORIZE_INDEX", "docs")  # ignored without an account
        assert backend_choice() == ("embedded", str(tmp_path / "documents"))

        async def main():
            with pytest.raises(LookupError):
                await document_index(MODEL)
            index = await document_index(MODEL, D)
            assert index.kind == "embedded" and await document_index(MODEL) is index
            assert await document_index(MODEL, D) is index
            await index.upsert(new_collection(), [chunk("a")], random_vectors(1))
            forget_indexes()
            return await document_index(MODEL)  # found on disk by its model after a restart

        again = run(main())
        assert again.dimensions == D and (tmp_path / "documents" / store_path(".", MODEL, D).name).exists()
    finally:
        backend.use_client(previous)


def test_with_an_account_and_vectorize_index_vectorize(fake, client, monkeypatch, clean_indexes, caplog):
    if not hasattr(fake, "vectorize_delay"):
        pytest.skip("the fake Vectorize (tests/fake_workers_ai/vectorize.py) is not there yet")
    fake.vectorize_delay = 0
    monkeypatch.setenv("VECTORIZE_INDEX", INDEX_NAME)
    assert backend_choice() == ("vectorize", INDEX_NAME)

    async def main():
        with pytest.raises(LookupError):
            await document_index(MODEL)
        index = await document_index(MODEL, D)
        assert index.kind == "vectorize" and "docs-test" in index.where
        forget_indexes()
        return await document_index(MODEL)  # the index exists now: its dimensions come from it

    assert run(main()).dimensions == D
    monkeypatch.setenv("VECTORIZE_INDEX", "../accounts")
    assert backend_choice()[0] == "embedded" and "not a Vectorize index name" in caplog.text


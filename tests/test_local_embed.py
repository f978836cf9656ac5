"""The offline all-MiniLM-L6-v2 embedder (components/local/embed_model.py) against sentence-transformers.

tests/data/minilm_reference.npz holds vectors recorded once from sentence-transformers + torch (see
tests/data/README.md); neither is installed here, and neither may be imported by the embedder.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from components.local.embed_model import BATCH_SIZE, Embedder, gelu

REFERENCE = Path(__file__).resolve().parent / "data" / "minilm_reference.npz"
TOLERANCE = 1e-5  # float32 end to end; measured deviation is ~2e-7


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder.load()


@pytest.fixture(scope="module")
def reference() -> dict:
    with np.load(REFERENCE, allow_pickle=False) as data:
        return {"sentences": [str(s) for s in data["sentences"]], "embeddings": data["embeddings"],
                "token_counts": data["token_counts"].tolist()}


def test_matches_sentence_transformers(embedder, reference):
    vectors = embedder.embed(reference["sentences"])
    assert vectors.shape == reference["embeddings"].shape == (len(reference["sentences"]), 384)
    assert np.abs(vectors - reference["embeddings"]).max() <= TOLERANCE


def test_reference_covers_the_hard_cases(reference):
    sentences, counts = reference["sentences"], reference["token_counts"]
    assert "" in sentences and counts[sentences.index("")] == 2  # [CLS] [SEP] only
    assert max(counts) == 256  # one input was truncated at max_seq_length
    assert any(ord(c) > 0xFFFF for s in sentences for c in s)  # emoji
    assert any("\u0600" <= c <= "\u06ff" for s in sentences for c in s)  # Arabic (RTL)


def test_each_sentence_alone_matches_reference(embedder, reference):
    for sentence, expected in zip(reference["sentences"], reference["embeddings"]):
        assert np.abs(embedder.embed([sentence])[0] - expected).max() <= TOLERANCE, sentence


def test_paraphrase_scores_above_unrelated(embedder):
    cat, kitten, stocks = embedder.embed(["A cat sits on the mat.", "A kitten rests on a rug.",
                                          "Stock markets fell sharply today."])
    paraphrase, unrelated = float(cat @ kitten), float(cat @ stocks)
    assert paraphrase > unrelated + 0.3
    assert paraphrase == pytest.approx(0.665, abs=0.01) and unrelated == pytest.approx(0.055, abs=0.02)


def test_output_is_unit_norm_384d_float32(embedder, reference):
    vectors = embedder.embed(reference["sentences"])
    assert vectors.dtype == np.float32 and vectors.shape[1] == Embedder.dimensions == 384
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_order_preserved_across_length_sorted_batches(embedder, reference):
    # 2.5 batches of texts whose lengths are shuffled, so sorting reorders them across batch boundaries.
    rng = np.random.default_rng(7)
    words = "alpha beta gamma delta river cloud worker model vector token".split()
    texts = [" ".join(rng.choice(words, size=int(rng.integers(0, 40)))) for _ in range(BATCH_SIZE * 2 + 16)]
    texts[5] = reference["sentences"][0]
    texts[70] = reference["sentences"][4]  # the 256-token one, in the last (partial) batch's slot
    vectors = embedder.embed(texts)
    assert vectors.shape == (len(texts), 384)
    for i in (0, 5, 31, 32, 63, 64, 70, len(texts) - 1):
        np.testing.assert_allclose(vectors[i], embedder.embed([texts[i]])[0], atol=1e-6, err_msg=texts[i])
    np.testing.assert_allclose(vectors[5], reference["embeddings"][0], atol=TOLERANCE)
    np.testing.assert_allclose(vectors[70], reference["embeddings"][4], atol=TOLERANCE)


def test_duplicates_and_empty_inputs(embedder):
    vectors = embedder.embed(["same text", "", "same text"])
    np.testing.assert_array_equal(vectors[0], vectors[2])
    assert np.linalg.norm(vectors[1]) == pytest.approx(1.0, abs=1e-5)
    empty = embedder.embed([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_count_tokens(embedder, reference):
    assert embedder.count_tokens(reference["sentences"]) == reference["token_counts"]
    assert embedder.count_tokens(["", "hello", "hello world", "Hello, world!"]) == [2, 3, 4, 6]
    assert embedder.count_tokens(["word " * 1000]) == [256]  # truncated at max_seq_length
    assert embedder.count_tokens([]) == []


@pytest.mark.parametrize("bad", ["a bare string", ["ok", 3], [None]])
def test_rejects_non_string_input(embedder, bad):
    with pytest.raises(ValueError):
        embedder.embed(bad)


def test_gelu_is_the_exact_erf_form():
    x = np.linspace(-10, 10, 20001, dtype=np.float32)
    exact = np.array([0.5 * v * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
    assert np.abs(gelu(x) - exact).max() < 1e-6


def test_no_torch_or_sentence_transformers_imported(embedder):
    assert "torch" not in sys.modules and "sentence_transformers" not in sys.modules

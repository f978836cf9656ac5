"""BGE embeddings: hashed bag of words, so texts that share words really are closer."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from .errors import bad_input, json_type, request_object

MAX_TEXTS = 100
_NOISE = 0.01


def embed(text: str, dims: int, pooling: str) -> list[float]:
    """Each lower-cased word adds ±1 to a hashed bucket; fixed per-text noise keeps vectors distinct.
    The pooling salts the hash, so mean and cls vectors are not comparable (as documented)."""
    vector = np.zeros(dims)
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(f"{pooling}:{word}".encode()).digest()
        vector[int.from_bytes(digest[:4], "big") % dims] += 1.0 if digest[4] & 1 else -1.0
    seed = int.from_bytes(hashlib.sha256(f"{pooling}|{text}".encode()).digest()[:8], "big")
    vector += np.random.default_rng(seed).normal(0.0, _NOISE, dims)
    return np.round(vector / np.linalg.norm(vector), 6).tolist()


def run_embeddings(fake, req, info) -> dict:
    body = request_object(req)
    text = body.get("text")
    texts = [text] if isinstance(text, str) else text
    if not isinstance(texts, list):
        raise bad_input(f"Type mismatch of '/text', '{json_type(text)}' not in 'string','array'")
    if not all(isinstance(t, str) for t in texts):
        raise bad_input("'/text' items must be strings")
    if not texts:
        raise bad_input("'/text' must NOT have fewer than 1 items")
    if len(texts) > MAX_TEXTS:
        raise bad_input(f"too many items in '/text': {len(texts)} > {MAX_TEXTS}")
    pooling = body.get("pooling", "mean")
    if pooling not in ("mean", "cls"):
        raise bad_input("'/pooling' must be one of 'mean', 'cls'")
    return {"shape": [len(texts), info.dims], "data": [embed(t, info.dims, pooling) for t in texts],
            "pooling": pooling}

"""How many tokens a text can be, for estimates that must be upper bounds (budgets reserve them before a call).

The usual "4 characters a token" undercounts Chinese, Japanese, emoji and punctuation up to 4×, so a visitor
could spend four times their budget. Two counts hold instead:
- exact, for models on BERT's uncased WordPiece vocabulary (Workers AI's bge-*-en-v1.5 embeddings and the
  offline MiniLM share it), with the tokenizer the offline engine ships, when it is installed;
- otherwise the text's UTF-8 length (`token_bound`): byte-level BPE, SentencePiece with byte fallback and
  WordPiece all make at most one token per byte, plus a few special tokens.
Chat answers report their real usage, which then replaces the bound; embeddings report none.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Iterable

from ..workers_ai import token_bound

log = logging.getLogger("showcase")

SPECIAL_TOKENS = 2  # [CLS] and [SEP]
BERT_VOCABULARY = frozenset({
    "@cf/baai/bge-small-en-v1.5", "@cf/baai/bge-base-en-v1.5", "@cf/baai/bge-large-en-v1.5",
    "@local/all-minilm-l6-v2",
})


@functools.cache
def _wordpiece():
    """The MiniLM weight package's tokenizer (BERT uncased), untruncated; None when it is not installed."""
    if importlib.util.find_spec("tokenizers") is None:
        return None
    try:
        from tokenizers import Tokenizer

        from ..local.embed_model import model_dir

        tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    except Exception as exc:  # noqa: BLE001 - no tokenizer only means the looser bound
        log.info("no WordPiece tokenizer (%s): embedding estimates use the byte bound", exc)
        return None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def embedding_tokens(texts: Iterable[str], model: str) -> int:
    """The tokens `texts` make for an embedding `model`: exact where its vocabulary is known, else bounded."""
    texts = list(texts)
    tokenizer = _wordpiece() if model in BERT_VOCABULARY else None
    if tokenizer is None:
        return sum(token_bound(text) + SPECIAL_TOKENS for text in texts)
    return sum(len(encoding.ids) for encoding in tokenizer.encode_batch(texts)) if texts else 0

"""The offline engine's models: one entry per model id, loaded lazily, once per process, thread-safe.

Each model is CPU-bound, so each gets its own small worker pool: as many visitors as there are workers
run at once, the rest wait in line instead of thrashing two cores.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..workers_ai import CHAT, EMBEDDINGS, SPEECH, VISION

log = logging.getLogger("local")
CORES = os.cpu_count() or 2


@dataclass
class LocalModel:
    name: str
    task: str
    description: str
    loader: str  # "module:Class" whose `load()` builds the model
    workers: int = 1
    properties: dict[str, str] = field(default_factory=dict)
    _instance: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)
    load_seconds: float | None = None

    @property
    def loaded(self) -> bool:
        return self._instance is not None

    def get(self) -> Any:
        """The loaded model; the first caller loads it while the others wait for the same instance."""
        if self._instance is None:
            with self._lock:
                if self._instance is None:
                    module, _, cls = self.loader.partition(":")
                    started = time.perf_counter()
                    instance = getattr(importlib.import_module(module, __package__), cls).load()
                    self.load_seconds = time.perf_counter() - started
                    log.info("loaded %s in %.2f s", self.name, self.load_seconds)
                    self._instance = instance
        return self._instance

    @property
    def pool(self) -> ThreadPoolExecutor:
        """Where this model's work runs: `workers` threads, everything else queues."""
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=self.name.split("/")[-1])
        return self._pool

    def catalogue_item(self) -> dict:
        return {
            "id": self.name.replace("@local/", "local-"),
            "name": self.name,
            "description": self.description,
            "task": {"id": self.task.lower().replace(" ", "-"), "name": self.task},
            "properties": [{"property_id": k, "value": v} for k, v in self.properties.items()],
        }


MODELS: dict[str, LocalModel] = {
    m.name: m
    for m in (
        LocalModel(
            "@local/smollm2-135m-instruct", CHAT,
            "SmolLM2-135M-Instruct (Q4_1 GGUF) on llama.cpp: a tiny model, good for a demo, not for facts.",
            ".chat_model:ChatModel", properties={"context_window": "8192"},
        ),
        LocalModel(
            "@local/whisper-tiny-en", SPEECH,
            "Whisper tiny.en (CTranslate2, int8) on faster-whisper: English speech to text with word timings.",
            ".whisper_model:Transcriber",
        ),
        LocalModel(
            "@local/efficientnet-lite0", VISION,
            "EfficientNet-Lite0 (ImageNet-1k), torch-free: the top 5 of 1,000 classes.",
            ".image_model:ImageClassifier", workers=2,
        ),
        LocalModel(
            "@local/all-minilm-l6-v2", EMBEDDINGS,
            "all-MiniLM-L6-v2 sentence embeddings (384 dimensions), torch-free.",
            ".embed_model:Embedder", properties={"output_dimensions": "384", "max_input_tokens": "256"},
        ),
    )
}

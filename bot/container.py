"""Builds the object graph from Settings: the one place that wires things together.

Heavy parts (the embedding model, Chroma) are created on first use so that cheap
commands stay fast and tests can hand in their own fakes.
"""

from __future__ import annotations

import logging
from functools import cached_property

from langchain_core.embeddings import Embeddings

from bot.config import Settings
from bot.knowledge.answer import Answerer, load_chat_model
from bot.knowledge.embeddings import CountingEmbeddings, load_sentence_transformer
from bot.knowledge.index import PlaybookIndexer
from bot.knowledge.retrieve import HybridRetriever
from bot.knowledge.store import PlaybookStore, make_chroma_client
from bot.prompts import PromptLibrary
from bot.questions.service import QuestionService
from bot.store.db import make_engine, make_session_factory, migrate
from bot.store.record_manager import SQLRecordManager

log = logging.getLogger(__name__)


class Container:
    def __init__(
        self,
        settings: Settings,
        *,
        embeddings: Embeddings | None = None,
        model_id: str | None = None,
        llm=None,
    ) -> None:
        self.settings = settings
        self._embeddings_override = embeddings
        self._model_id_override = model_id
        self._llm_override = llm

    # -- storage ---------------------------------------------------------------------
    @cached_property
    def engine(self):
        engine = make_engine(self.settings.resolved_database_url)
        migrate(engine)
        return engine

    @cached_property
    def session_factory(self):
        return make_session_factory(self.engine)

    @cached_property
    def record_manager(self) -> SQLRecordManager:
        namespace = f"chroma/{self.settings.chroma_collection}"
        return SQLRecordManager(namespace, session_factory=self.session_factory)

    @cached_property
    def chroma_client(self):
        return make_chroma_client(path=self.settings.chroma_path, url=self.settings.chroma_url)

    # -- knowledge -------------------------------------------------------------------
    @cached_property
    def embeddings(self) -> CountingEmbeddings:
        if self._embeddings_override is not None:
            return CountingEmbeddings(self._embeddings_override)
        return CountingEmbeddings(
            lambda: load_sentence_transformer(
                self.settings.embedding_model, batch_size=self.settings.embedding_batch_size
            )
        )

    @property
    def model_id(self) -> str:
        return self._model_id_override or self.settings.embedding_model

    @cached_property
    def playbook_store(self) -> PlaybookStore:
        return PlaybookStore(
            client=self.chroma_client,
            collection_name=self.settings.chroma_collection,
            embeddings=self.embeddings,
            model_id=self.model_id,
        )

    @cached_property
    def indexer(self) -> PlaybookIndexer:
        return PlaybookIndexer(
            store=self.playbook_store,
            record_manager=self.record_manager,
            chunk_size=self.settings.chunk_size,
            chunk_overlap=self.settings.chunk_overlap,
            batch_size=self.settings.embedding_batch_size,
        )

    @cached_property
    def retriever(self) -> HybridRetriever:
        self.playbook_store.check_model()
        return HybridRetriever(
            store=self.playbook_store,
            embeddings=self.embeddings,
            record_manager=self.record_manager,
            candidates=self.settings.retrieval_candidates,
            rrf_k=self.settings.rrf_k,
            keyword_weight=self.settings.keyword_weight,
            faq_weight=self.settings.faq_weight,
            tie_margin=self.settings.recency_tie_margin,
        )

    @cached_property
    def prompts(self) -> PromptLibrary:
        library = PromptLibrary()
        library.validate_all()
        return library

    @cached_property
    def llm(self):
        if self._llm_override is not None:
            return self._llm_override
        if not self.settings.llm:
            return None
        try:
            return load_chat_model(self.settings.llm)
        except Exception as exc:
            log.warning(
                "CHANGEBOT_LLM=%s could not be loaded (%s); answering extractively.",
                self.settings.llm,
                exc,
            )
            return None

    @cached_property
    def answerer(self) -> Answerer:
        return Answerer(
            retriever=self.retriever,
            prompts=self.prompts,
            llm=self.llm,
            k=self.settings.retrieval_k,
            abstain_threshold=self.settings.abstain_threshold,
            faq_threshold=self.settings.faq_match_threshold,
            llm_timeout=self.settings.llm_timeout,
            help_channel=self.settings.help_channel,
        )

    @cached_property
    def question_service(self) -> QuestionService:
        return QuestionService(
            answerer=self.answerer,
            session_factory=self.session_factory,
            retention_days=self.settings.retention_days,
        )

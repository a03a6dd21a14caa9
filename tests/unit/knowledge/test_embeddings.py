"""The embedding wrapper: counting, query cache, lazy loading, clear load errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FakeEmbeddings

import bot.container
from bot.config import BUNDLED_MODEL
from bot.container import Container
from bot.knowledge.embeddings import (
    CountingEmbeddings,
    EmbeddingModelError,
    load_sentence_transformer,
    resolve_model,
)


def test_counts_documents_and_caches_queries():
    inner = FakeEmbeddings()
    counting = CountingEmbeddings(inner)
    vectors = counting.embed_documents(["one text", "two texts"])
    assert len(vectors) == 2
    assert (counting.document_calls, counting.documents_embedded) == (1, 2)
    first = counting.embed_query("same question")
    second = counting.embed_query("same question")
    assert first == second == inner.vector("same question")
    assert counting.query_calls == 1
    assert inner.query_calls == 1


def test_query_cache_is_bounded():
    inner = FakeEmbeddings()
    counting = CountingEmbeddings(inner, cache_size=2)
    for question in ["a", "b", "c", "a"]:
        counting.embed_query(question)
    assert inner.query_calls == 4  # "a" was evicted by "c"


def test_model_is_loaded_only_when_first_needed():
    loads = []

    def factory():
        loads.append(1)
        return FakeEmbeddings()

    counting = CountingEmbeddings(factory)
    assert loads == []
    counting.embed_query("hello")
    counting.embed_documents(["x"])
    assert loads == [1]


def test_no_change_ingest_never_loads_the_model(settings, kb, monkeypatch):
    # Build the index as if with the bundled model, then run the real container again.
    Container(settings, embeddings=FakeEmbeddings(), model_id=BUNDLED_MODEL).indexer.ingest(kb)

    def refuse(*_args, **_kwargs):
        raise AssertionError("the embedding model was loaded for a no-change ingest")

    monkeypatch.setattr(bot.container, "load_sentence_transformer", refuse)
    report = Container(settings).indexer.ingest(kb)
    assert report.added == [] and len(report.unchanged) == 5
    assert report.texts_embedded == 0


def test_bundled_model_resolves_to_a_local_folder():
    path = Path(resolve_model(BUNDLED_MODEL))
    assert path.is_dir()
    assert any(path.iterdir())


def test_other_model_names_are_passed_through():
    assert resolve_model("sentence-transformers/all-mpnet-base-v2") == (
        "sentence-transformers/all-mpnet-base-v2"
    )


def test_unloadable_model_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never reach for the network in tests
    with pytest.raises(EmbeddingModelError) as caught:
        load_sentence_transformer(str(tmp_path / "no-such-model"))
    assert "CHANGEBOT_EMBEDDING_MODEL" in str(caught.value)
    assert "no-such-model" in str(caught.value)

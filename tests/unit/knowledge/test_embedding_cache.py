"""Embeddings cached by content hash: the same text never reaches the model twice."""

from __future__ import annotations

from conftest import FakeEmbeddings

from bot.knowledge.embedding_cache import HashCachedEmbeddings


def test_documents_are_encoded_once():
    inner = FakeEmbeddings()
    cache = HashCachedEmbeddings(inner)
    first = cache.embed_documents(["alpha beta", "gamma", "alpha beta"])
    assert inner.texts_embedded == 2  # the duplicate inside one call too
    again = cache.embed_documents(["gamma", "alpha beta", "delta"])
    assert inner.texts_embedded == 3
    assert again[0] == first[1] and again[1] == first[0]
    assert again[2] == inner.vector("delta")
    assert (cache.encoded, cache.reused) == (3, 3)


def test_queries_are_cached_apart_from_documents():
    inner = FakeEmbeddings()
    cache = HashCachedEmbeddings(inner)
    cache.embed_documents(["when is go-live"])
    assert cache.embed_query("when is go-live") == inner.vector("when is go-live")
    assert inner.query_calls == 1  # a model may encode queries differently
    cache.embed_query("when is go-live")
    assert inner.query_calls == 1


def test_nothing_to_encode_makes_no_model_call():
    inner = FakeEmbeddings()
    cache = HashCachedEmbeddings(inner)
    cache.embed_documents(["x"])
    cache.embed_documents(["x"])
    cache.embed_documents([])
    assert inner.document_calls == 1

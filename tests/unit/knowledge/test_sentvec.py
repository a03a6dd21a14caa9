"""Sentence vectors: stored compactly, in the order the answerer reads the sentences."""

from __future__ import annotations

import numpy as np
from conftest import FakeEmbeddings
from langchain_core.embeddings import Embeddings

from bot.knowledge.sentvec import (
    chunk_sentences,
    encode_with_sentences,
    pack,
    sentence_spans,
    unpack,
)


def test_packed_vectors_come_back_close_and_unit_length():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(3, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    back = unpack(pack(vectors), 384)
    assert back.shape == (3, 384)
    assert np.allclose(np.linalg.norm(back, axis=1), 1.0, atol=1e-5)
    assert (np.sum(back * vectors, axis=1) > 0.99).all()
    assert len(pack(vectors)) < 384 * 3 * 2  # int8, base64


def test_an_empty_sentence_list_packs_to_nothing():
    assert unpack(pack(np.zeros((0, 8))), 8).shape == (0, 8)


def test_spans_follow_hard_wrapped_sentences():
    content = (
        "Title › Section\nThe pilot moves to\nMarch. Teams get access\na week before.\n"
        "- An item that is long"
    )
    sentences = chunk_sentences(content)
    assert sentences == [
        "The pilot moves to March.",
        "Teams get access a week before.",
        "An item that is long",
    ]
    for sentence, (a, b) in zip(sentences, sentence_spans(content), strict=True):
        assert " ".join(content[a:b].split()) == sentence


class PlainEmbeddings(Embeddings):
    """A model with no sentence-level pass of its own."""

    def __init__(self) -> None:
        self.fake = FakeEmbeddings()

    def embed_documents(self, texts):
        return self.fake.embed_documents(texts)

    def embed_query(self, text):
        return self.fake.embed_query(text)


def test_any_model_gets_one_vector_per_sentence():
    texts = ["Ctx\nFirst sentence here. Second sentence here.", "Ctx\nOnly one sentence here."]
    vectors, per_text = encode_with_sentences(PlainEmbeddings(), texts)
    assert len(vectors) == 2
    assert [len(v) for v in per_text] == [2, 1]
    fake = FakeEmbeddings()
    assert np.allclose(per_text[0][1], fake.vector("Second sentence here."))

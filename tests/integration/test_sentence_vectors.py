"""Sentence vectors pooled from the chunk's own pass, with the real bundled model."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import BUNDLED_MODEL
from bot.knowledge.embeddings import load_sentence_transformer
from bot.knowledge.sentvec import chunk_sentences, encode_with_sentences

pytestmark = pytest.mark.integration

TEXTS = [
    "Support policy › Response times\nEvery ticket gets a severity when it is logged. "
    "Severity 2 tickets get an answer within one hour during depot opening hours. "
    "The canteen serves lunch from noon.",
    "Portal › What it shows\n- Job history: the last 24 months of jobs.\n- Payslips: this tax "
    "year and the previous one.",
    "Long › Section\n" + " ".join(f"Sentence number {n} talks about topic {n}." for n in range(80)),
]


@pytest.fixture(scope="module")
def model():
    return load_sentence_transformer(BUNDLED_MODEL)


def test_chunk_vectors_are_the_models_own(model):
    vectors, _ = encode_with_sentences(model, TEXTS)
    expected = model.embed_documents(TEXTS)
    for got, want in zip(vectors, expected, strict=True):
        assert float(np.dot(got, want)) > 0.999


def test_pooled_sentence_vectors_point_where_the_sentences_do(model):
    _, per_text = encode_with_sentences(model, TEXTS)
    for text, rows in zip(TEXTS, per_text, strict=True):
        sentences = chunk_sentences(text)
        assert rows.shape == (len(sentences), 384)
        alone = np.asarray(model.embed_documents(sentences))
        agreement = np.sum(rows * alone, axis=1)
        assert agreement.mean() > 0.6  # pooled in context vs encoded alone
    question = np.asarray(model.embed_query("how fast is a sev 2 ticket answered"))
    first = per_text[0] @ question
    assert int(np.argmax(first)) == 1  # the response-time sentence, not the canteen
    # Sentences past the 256-token window got vectors too (encoded on their own).
    assert np.all(np.linalg.norm(per_text[2], axis=1) > 0.99)

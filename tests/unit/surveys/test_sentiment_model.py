"""The learned sentiment classifier: its file, the fallback to VADER, and its batch labels.

A deterministic hashed bag-of-words stands in for MiniLM (tests/conftest.py); the shipped file
itself is checked for shape here and for labels with the real model in tests/integration.
"""

from __future__ import annotations

import logging
import zipfile

import numpy as np
import pytest

from bot.config import BUNDLED_MODEL
from bot.knowledge.embeddings import EmbeddingModelError
from bot.surveys import sentiment_model as sm
from bot.surveys.sentiment import LABELS, SentimentAnalyzer
from bot.surveys.sentiment_train import fit
from tests.conftest import FakeEmbeddings

TRAINING = [
    ("I love the new system, great work", "positive"),
    ("really great support, love it", "positive"),
    ("brilliant training, thank you", "positive"),
    ("great rollout, brilliant team", "positive"),
    ("I hate the new system, awful", "negative"),
    ("awful training, terrible support", "negative"),
    ("terrible rollout, I hate it", "negative"),
    ("the scanners are awful and broken", "negative"),
    ("when is the next session", "neutral"),
    ("where is the form", "neutral"),
    ("when does the session start", "neutral"),
    ("is the form on the intranet", "neutral"),
]
FAKE_MODEL = "fake-bag-of-words"


@pytest.fixture
def fake() -> FakeEmbeddings:
    return FakeEmbeddings(dim=64)


def toy_weights(fake: FakeEmbeddings, *, features: str = "embedding", kind: str = "logreg"):
    texts = [text for text, _ in TRAINING]
    x = sm.featurize(texts, features, fake.embed_documents, SentimentAnalyzer())
    y = np.array([LABELS.index(label) for _, label in TRAINING])
    layers, mean, scale = fit(x, y, kind=kind, l2=0.001, negative_weight=1.0, steps=300)
    return sm.Weights(
        kind=kind,
        features=features,
        layers=layers,
        mean=mean,
        scale=scale,
        negative_threshold=0.4,
        embedding_model=FAKE_MODEL,
        info={"note": "toy"},
        train_hashes=np.array([sm.text_hash(t) for t in texts]),
    )


@pytest.fixture
def model_file(tmp_path, fake):
    path = tmp_path / "model.npz"
    sm.save(toy_weights(fake), path)
    return path


@pytest.mark.parametrize(
    ("features", "kind"), [("embedding", "logreg"), ("embedding+vader", "mlp")]
)
def test_saved_classifier_loads_and_labels_clear_cases(tmp_path, fake, features, kind):
    path = tmp_path / "m.npz"
    weights = toy_weights(fake, features=features, kind=kind)
    sm.save(weights, path)
    classifier = sm.load_classifier(path, embed=fake.embed_documents, embedding_model=FAKE_MODEL)
    assert classifier.weights.negative_threshold == 0.4
    assert classifier.weights.info == {"note": "toy"}
    texts = ["I love it, great", "awful and terrible", "when is the form"]
    assert classifier.label_many(texts) == ["positive", "negative", "neutral"]
    assert classifier.label("terrible, I hate it") == "negative"
    again = sm.load(path)
    x = sm.featurize(texts, features, fake.embed_documents, SentimentAnalyzer())
    np.testing.assert_allclose(again.probabilities(x), weights.probabilities(x), atol=1e-5)


def test_one_batch_call_embeds_all_comments(model_file):
    fake = FakeEmbeddings(dim=64)
    classifier = sm.load_classifier(
        model_file, embed=fake.embed_documents, embedding_model=FAKE_MODEL
    )
    assert classifier.label_many([]) == []
    classifier.label_many(["a", "b", "c"])
    assert (fake.document_calls, fake.texts_embedded) == (1, 3)


def test_rules_setting_is_vader_with_the_workplace_rules(fake, caplog):
    analyzer = sm.build_sentiment_analyzer(
        "rules", embed=fake.embed_documents, embedding_model=FAKE_MODEL
    )
    assert type(analyzer) is SentimentAnalyzer and analyzer.use_workplace_rules
    assert not caplog.records


def test_missing_file_falls_back_to_vader_with_a_logged_error(tmp_path, fake, caplog):
    path = tmp_path / "nowhere.npz"
    with caplog.at_level(logging.ERROR):
        analyzer = sm.build_sentiment_analyzer(
            str(path), embed=fake.embed_documents, embedding_model=FAKE_MODEL
        )
    assert type(analyzer) is SentimentAnalyzer and analyzer.use_workplace_rules
    assert analyzer.label("I love the new registry") == "positive"
    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert f"{path} is missing" in record.getMessage()
    assert "falls back to VADER" in record.getMessage()


def _corrupt_arrays(model_file):
    with np.load(model_file, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _write(path, arrays):
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def _meta(arrays, old, new):
    meta = str(arrays["meta"])
    assert old in meta
    return np.array(meta.replace(old, new))


CORRUPTIONS = {
    "garbage bytes": lambda path, arrays: path.write_bytes(b"not a zip file at all"),
    "truncated": lambda path, arrays: path.write_bytes(path.read_bytes()[:200]),
    "empty": lambda path, arrays: path.write_bytes(b""),
    "no weights": lambda path, arrays: _write(
        path, {k: v for k, v in arrays.items() if not k.startswith("w")}
    ),
    "wrong width": lambda path, arrays: _write(path, {**arrays, "w0": arrays["w0"][:5]}),
    "nan weights": lambda path, arrays: _write(path, {**arrays, "w0": arrays["w0"] * np.nan}),
    "four outputs": lambda path, arrays: _write(
        path, {**arrays, "w0": np.hstack([arrays["w0"]] * 2)[:, :4], "b0": np.zeros(4)}
    ),
    "bad meta": lambda path, arrays: _write(path, {**arrays, "meta": np.array("{not json")}),
    "pickled object": lambda path, arrays: _write(
        path, {**arrays, "meta": np.array([{"a": 1}], dtype=object)}
    ),
    "future format": lambda path, arrays: _write(
        path,
        {**arrays, "meta": np.array(str(arrays["meta"]).replace('"format": 1', '"format": 9'))},
    ),
    "threshold out of range": lambda path, arrays: _write(
        path,
        {
            **arrays,
            "meta": _meta(arrays, '"negative_threshold": 0.4', '"negative_threshold": 1.5'),
        },
    ),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_file_falls_back_to_vader_with_a_logged_error(model_file, fake, caplog, corruption):
    arrays = _corrupt_arrays(model_file)
    CORRUPTIONS[corruption](model_file, arrays)
    with pytest.raises(sm.SentimentModelError, match="is corrupt"):
        sm.load(model_file)
    with caplog.at_level(logging.ERROR):
        analyzer = sm.build_sentiment_analyzer(
            str(model_file), embed=fake.embed_documents, embedding_model=FAKE_MODEL
        )
    assert type(analyzer) is SentimentAnalyzer
    assert "is corrupt" in caplog.text and "falls back to VADER" in caplog.text


def test_file_for_another_embedding_model_is_not_used(model_file, fake, caplog):
    with caplog.at_level(logging.ERROR):
        analyzer = sm.build_sentiment_analyzer(
            str(model_file), embed=fake.embed_documents, embedding_model="other-model"
        )
    assert type(analyzer) is SentimentAnalyzer
    assert f"'{FAKE_MODEL}', not the configured 'other-model'" in caplog.text


def test_embedding_failure_at_labelling_time_falls_back_to_vader(model_file, caplog):
    def broken(texts):
        raise EmbeddingModelError("model folder gone")

    classifier = sm.load_classifier(model_file, embed=broken, embedding_model=FAKE_MODEL)
    with caplog.at_level(logging.ERROR):
        labels = classifier.label_many(["I love it", "this is awful"])
    assert labels == ["positive", "negative"]
    assert "labelling 2 comment(s) with VADER" in caplog.text
    assert "model folder gone" in caplog.text  # the stack is logged


def test_embeddings_of_the_wrong_width_fall_back_too(model_file, caplog):
    classifier = sm.load_classifier(
        model_file, embed=FakeEmbeddings(dim=10).embed_documents, embedding_model=FAKE_MODEL
    )
    with caplog.at_level(logging.ERROR):
        assert classifier.label("awful") == "negative"
    assert "have 10 features, the classifier expects 64" in caplog.text


def test_decision_threshold_favours_negative():
    proba = np.array([[0.30, 0.50, 0.20], [0.29, 0.20, 0.51], [0.60, 0.30, 0.10], [0.1, 0.2, 0.7]])
    assert sm.decide(proba, None).tolist() == [1, 2, 0, 2]
    assert sm.decide(proba, 0.3).tolist() == [0, 2, 0, 2]
    # Above the threshold p(negative) alone decides; below it, never negative.
    assert sm.decide(proba, 0.65).tolist() == [1, 2, 1, 2]


def test_training_comments_are_recognised_whatever_their_spacing_or_case(model_file, fake):
    classifier = sm.load_classifier(
        model_file, embed=fake.embed_documents, embedding_model=FAKE_MODEL
    )
    assert classifier.seen_in_training(["I LOVE the new system,  great work", "unseen"]) == 1


def test_comparison_systems_mark_the_default(model_file, fake):
    classifier = sm.load_classifier(
        model_file, embed=fake.embed_documents, embedding_model=FAKE_MODEL
    )
    systems, default = sm.comparison_systems(classifier)
    assert list(systems) == [sm.PLAIN_NAME, sm.RULES_NAME, classifier.name]
    assert default == classifier.name == "classifier (logistic regression on MiniLM)"
    systems, default = sm.comparison_systems(SentimentAnalyzer())
    assert list(systems) == [sm.PLAIN_NAME, sm.RULES_NAME] and default == sm.RULES_NAME


def test_the_shipped_classifier_file_is_small_and_valid():
    assert sm.BUNDLED_MODEL_FILE.stat().st_size < 300_000
    assert zipfile.is_zipfile(sm.BUNDLED_MODEL_FILE)
    weights = sm.load(sm.BUNDLED_MODEL_FILE)
    assert weights.embedding_model == BUNDLED_MODEL
    assert weights.mean.shape[0] in (384, 388)  # MiniLM, optionally with VADER's four scores
    assert len(weights.train_hashes) >= 600
    assert set(weights.info["organisations"]) >= {"logistics", "hospital", "bank", "public_sector"}


def test_batch_labels_of_the_vader_analyzer_match_single_ones():
    analyzer = SentimentAnalyzer()
    texts = ["love it", "awful", "when is it"]
    assert analyzer.label_many(texts) == [analyzer.label(t) for t in texts]
    assert set(analyzer.polarity("love it")) == {"compound", "pos", "neu", "neg"}

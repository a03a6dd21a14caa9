"""The shipped sentiment classifier with the real bundled MiniLM, through the container."""

from __future__ import annotations

import logging

import pytest
from conftest import make_settings

from bot.container import Container
from bot.surveys.sentiment import SentimentAnalyzer
from bot.surveys.sentiment_model import SentimentClassifier

pytestmark = pytest.mark.integration

# Clear cases, none of them in the training data; the sarcastic and understated ones are those
# VADER with the workplace rules reads as neutral or positive.
CLEAR = [
    ("I really like the new system, it saves me a lot of time", "positive"),
    ("The trainers were brilliant and very patient, thank you", "positive"),
    ("The new software keeps crashing and nobody answers our tickets", "negative"),
    ("I'm exhausted and the team is close to breaking point", "negative"),
    ("Oh great, yet another tool that doesn't work. Just what we needed", "negative"),
    ("can't say I'm thrilled about the new rota", "negative"),
    ("When is the next training session?", "neutral"),
]


@pytest.fixture(scope="module")
def container(tmp_path_factory):
    return Container(make_settings(data_dir=tmp_path_factory.mktemp("sentiment")))


def test_container_builds_the_shipped_classifier(container, caplog):
    with caplog.at_level(logging.ERROR):
        analyzer = container.sentiment_analyzer
    assert isinstance(analyzer, SentimentClassifier), caplog.text
    assert not caplog.records
    systems, default = container.sentiment_systems()
    assert default == analyzer.name and systems[default] is analyzer


def test_shipped_classifier_labels_clear_cases(container):
    texts = [text for text, _ in CLEAR]
    labels = container.sentiment_analyzer.label_many(texts)
    assert labels == [label for _, label in CLEAR]
    assert [container.sentiment_analyzer.label(text) for text in texts[:2]] == labels[:2]


def test_rules_setting_and_missing_file_give_vader(tmp_path, caplog):
    rules = Container(make_settings(data_dir=tmp_path / "a", sentiment_model="rules"))
    assert type(rules.sentiment_analyzer) is SentimentAnalyzer
    with caplog.at_level(logging.ERROR):
        missing = Container(
            make_settings(data_dir=tmp_path / "b", sentiment_model=str(tmp_path / "gone.npz"))
        ).sentiment_analyzer
    assert type(missing) is SentimentAnalyzer
    assert "gone.npz is missing" in caplog.text

"""End to end with the real bundled all-MiniLM-L6-v2, real Chroma and SQLite, on the
repository's own knowledge/ folder (indexed once per test session)."""

from __future__ import annotations

import os

import pytest
import yaml
from conftest import REPO_ROOT, make_settings

from bot.config import BUNDLED_MODEL, load_settings
from bot.container import Container
from bot.knowledge.store import EmbeddingModelMismatch

pytestmark = pytest.mark.integration

KNOWLEDGE = REPO_ROOT / "knowledge"
QUESTIONS_FILE = REPO_ROOT / "tests" / "eval" / "questions.yaml"

# Questions from tests/eval/questions.yaml, one per kind of document (FAQ, roadmap,
# announcement, HTML policy, plain-text glossary). The expected source comes from the file.
CASES = [
    "who's the exec sponsor for lighthouse?",
    "when is ds-batch-01 getting switched off?",
    "wen does phase 2 go live?",
    "how long are prediction logs kept?",
    "what does concept drift mean?",
]


def expected_sources() -> dict[str, str]:
    data = yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))
    return {item["q"]: item["source"] for item in data["questions"] if item.get("source")}


@pytest.fixture(scope="session")
def real(tmp_path_factory):
    """A container with the real model and the knowledge folder indexed into a temp dir."""
    data_dir = tmp_path_factory.mktemp("real") / "data"
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("CHANGEBOT_"):
                patch.delenv(name)
        settings = make_settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE)
    assert settings.embedding_model == BUNDLED_MODEL
    container = Container(settings)
    report = container.indexer.ingest(KNOWLEDGE)
    return container, report


def test_the_knowledge_folder_indexes_cleanly(real):
    container, report = real
    files = sorted(
        path.relative_to(KNOWLEDGE).as_posix()
        for path in KNOWLEDGE.rglob("*")
        if path.is_file() and path.relative_to(KNOWLEDGE).parts[0] != "surveys"
    )
    assert report.added == files
    assert report.failed == []
    assert report.texts_embedded == report.chunks_total == container.playbook_store.count()
    assert container.playbook_store.stored_model_id() == BUNDLED_MODEL


@pytest.mark.parametrize("question", CASES)
def test_expected_source_is_in_the_top_3(real, question):
    container, _ = real
    expected = expected_sources()[question]
    answer = container.answerer.answer(question)
    assert answer.confident, answer.text
    top3 = [source.path for source in answer.sources[:3]]
    assert expected in top3, (question, top3)


def test_unanswerable_question_abstains(real):
    container, _ = real
    answer = container.answerer.answer("what's the wifi password?")
    assert answer.kind == "abstain"
    assert answer.confident is False
    assert "couldn't find" in answer.text


def test_second_ingest_embeds_nothing(real):
    container, first = real
    report = container.indexer.ingest(KNOWLEDGE)
    assert report.texts_embedded == 0
    assert report.unchanged == first.added
    assert report.chunks_total == first.chunks_total


def test_switching_the_embedding_model_is_detected(real, monkeypatch, tmp_path):
    container, _ = real
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("CHANGEBOT_EMBEDDING_MODEL", "sentence-transformers/all-mpnet-base-v2")
    settings = load_settings(
        data_dir=container.settings.data_dir, knowledge_dir=container.settings.knowledge_dir
    )
    switched = Container(settings)
    assert switched.model_id == "sentence-transformers/all-mpnet-base-v2"
    with pytest.raises(EmbeddingModelMismatch) as caught:
        switched.indexer.ingest(KNOWLEDGE)
    message = str(caught.value)
    assert BUNDLED_MODEL in message
    assert "all-mpnet-base-v2" in message
    assert "changebot ingest --rebuild" in message
    with pytest.raises(EmbeddingModelMismatch):
        switched.answerer.answer("when is ds-batch-01 getting switched off?")
    # Nothing was changed: the original index still answers.
    assert container.answerer.answer("what does concept drift mean?").confident

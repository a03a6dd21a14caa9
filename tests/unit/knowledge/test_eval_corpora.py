"""Evaluation corpora: layout and question checks, with messages that say what to fix."""

from __future__ import annotations

import shutil

import pytest
from conftest import REPO_ROOT, write

from bot.knowledge.eval_corpora import (
    CorpusError,
    discover_corpora,
    load_corpus,
    sample_corpus,
)
from bot.knowledge.evaluate import EvalFileError

FIXTURE = REPO_ROOT / "tests" / "eval" / "fixture_corpus"


@pytest.fixture
def corpus_dir(tmp_path):
    folder = tmp_path / "fernhill"
    shutil.copytree(FIXTURE, folder)
    return folder


def test_the_fixture_corpus_loads_cleanly():
    corpus = load_corpus(FIXTURE)
    assert corpus.name == "fixture_corpus"
    assert corpus.knowledge == FIXTURE / "knowledge"
    assert (corpus.answerable, corpus.unanswerable) == (6, 3)
    assert corpus.in_sample is False
    assert corpus.warnings == []
    first = corpus.questions[0]
    assert (first.source, first.section, first.phrase) == (
        "policies/leave-policy.md",
        "Annual leave",
        "27 days",
    )
    assert all(q.phrase is None for q in corpus.questions if not q.answerable)


def test_a_missing_phrase_is_refused_with_the_question(corpus_dir):
    write(
        corpus_dir / "questions.yaml",
        """
        questions:
          - q: "how many days hols"
            source: policies/leave-policy.md
            phrase: "27 days"
          - q: "who runs training"
            source: faq.txt
        """,
    )
    with pytest.raises(EvalFileError, match=r"question 2 \('who runs training'\) needs a 'phrase'"):
        load_corpus(corpus_dir)


def test_a_missing_source_file_is_refused_with_its_path(corpus_dir):
    write(
        corpus_dir / "questions.yaml",
        """
        questions:
          - q: "how many days hols"
            source: policies/holiday-policy.md
            phrase: "27 days"
        """,
    )
    with pytest.raises(CorpusError) as caught:
        load_corpus(corpus_dir)
    message = str(caught.value)
    assert "question 1" in message
    assert "'policies/holiday-policy.md'" in message
    assert "not a file under" in message


def test_a_phrase_the_document_lacks_is_a_warning(corpus_dir):
    write(
        corpus_dir / "questions.yaml",
        """
        questions:
          - q: "how many days hols"
            source: policies/leave-policy.md
            phrase: "30 days"
          - q: "whats the budget"
            answerable: false
        """,
    )
    corpus = load_corpus(corpus_dir)
    assert len(corpus.warnings) == 1
    assert "'30 days' is not in the loaded text of policies/leave-policy.md" in corpus.warnings[0]


def test_the_phrase_check_ignores_case_and_spacing(corpus_dir):
    write(
        corpus_dir / "questions.yaml",
        """
        questions:
          - q: "wfh?"
            source: policies/leave-policy.md
            phrase: "TWO   days a week"
        """,
    )
    assert load_corpus(corpus_dir).warnings == []


@pytest.mark.parametrize(
    ("remove", "message"),
    [("knowledge", "needs a 'knowledge/' folder"), ("questions.yaml", "needs a 'questions.yaml'")],
)
def test_layout_errors(corpus_dir, remove, message):
    target = corpus_dir / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(CorpusError, match=message):
        load_corpus(corpus_dir)


def test_a_missing_folder(tmp_path):
    with pytest.raises(CorpusError, match="no such folder"):
        load_corpus(tmp_path / "nope")


def test_a_malformed_questions_file_is_an_eval_file_error(corpus_dir):
    (corpus_dir / "questions.yaml").write_text("questions: [unclosed\n", encoding="utf-8")
    with pytest.raises(EvalFileError, match="not valid YAML"):
        load_corpus(corpus_dir)


def test_discover_corpora(tmp_path):
    root = tmp_path / "corpora"
    for name in ("b-town-hall", "a-article", ".hidden"):
        (root / name).mkdir(parents=True)
    (root / "notes.txt").write_text("x", encoding="utf-8")
    assert [p.name for p in discover_corpora(root)] == ["a-article", "b-town-hall"]
    assert discover_corpora(tmp_path / "missing") == []


def test_the_sample_needs_no_phrases_and_is_labelled_in_sample():
    corpus = sample_corpus(REPO_ROOT / "tests" / "eval" / "questions.yaml", REPO_ROOT / "knowledge")
    assert corpus.in_sample is True
    assert corpus.name == "sample"
    assert corpus.answerable >= 20

"""The evaluation harness: questions file parsing, metrics, calibration sweep."""

from __future__ import annotations

import pytest
from conftest import REPO_ROOT, write

from bot.knowledge.evaluate import (
    MODES,
    EvalFileError,
    EvalQuestion,
    _is_hit,
    calibrate,
    evaluate,
    load_questions,
)

QUESTIONS = """
questions:
  - q: "How do I request a training voucher?"
    source: orion-faq.md
    section: "training voucher"
  - q: "When does phase 1 run?"
    source: roadmap/orion-roadmap.md
    section: "Phase 1"
  - q: "when are the office hours on thursday?"
    source: notes.txt
  - q: "what's for lunch in the canteen?"
    answerable: false
  - q: "who won the football match yesterday?"
"""


def test_load_questions(tmp_path):
    questions = load_questions(write(tmp_path / "q.yaml", QUESTIONS))
    assert [q.question for q in questions][:2] == [
        "How do I request a training voucher?",
        "When does phase 1 run?",
    ]
    assert questions[0] == EvalQuestion(
        "How do I request a training voucher?", "orion-faq.md", "training voucher"
    )
    assert questions[2].section is None
    assert [q.answerable for q in questions] == [True, True, True, False, False]
    assert questions[3].source is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("questions: [unclosed\n", "not valid YAML"),
        ("just a string\n", "questions:"),
        ("questions: []\n", "questions:"),
        ("questions:\n  - source: a.md\n", "question 1 needs a 'q'"),
        ("questions:\n  - q: ok\n  - q: '  '\n", "question 2 needs a 'q'"),
    ],
)
def test_bad_questions_files(tmp_path, content, message):
    path = tmp_path / "q.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(EvalFileError, match=message):
        load_questions(path)


def test_missing_questions_file(tmp_path):
    with pytest.raises(EvalFileError, match="Cannot read"):
        load_questions(tmp_path / "nope.yaml")


def test_bundled_questions_point_at_real_documents():
    questions = load_questions(REPO_ROOT / "tests" / "eval" / "questions.yaml")
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 20
    assert len(questions) - len(answerable) >= 5
    for question in answerable:
        assert (REPO_ROOT / "knowledge" / question.source).is_file(), question.source


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"source": "a.md", "section": "Phase 1 > Dates"}, True),
        ({"source": "a.md", "section": "phase 1"}, True),
        ({"source": "b.md", "section": "Phase 1 > Dates"}, False),
        ({"source": "a.md", "section": "Phase 2"}, False),
        ({"source": "a.md", "section": "", "faq_question": "When is PHASE 1?"}, True),
    ],
)
def test_a_hit_needs_the_source_and_the_section(metadata, expected):
    assert _is_hit(metadata, EvalQuestion("q", "a.md", "Phase 1")) is expected


def test_without_section_any_part_of_the_source_is_a_hit():
    assert _is_hit({"source": "a.md", "section": "Anything"}, EvalQuestion("q", "a.md", None))


def test_evaluate_on_a_small_playbook(container, kb, tmp_path):
    container.indexer.ingest(kb)
    questions = load_questions(write(tmp_path / "q.yaml", QUESTIONS))
    report = evaluate(questions, retriever=container.retriever, answerer=container.answerer)
    assert (report.answerable, report.unanswerable) == (3, 2)
    assert report.threshold == container.settings.abstain_threshold
    assert set(report.results) == set(MODES)
    hybrid = report.results["hybrid"]
    assert hybrid.hit1 == hybrid.hit3 == hybrid.mrr == 1.0
    assert hybrid.misses == []
    assert hybrid.abstain_recall == 1.0
    assert hybrid.abstain_precision == 1.0
    assert hybrid.wrongly_abstained == 0.0
    for result in report.results.values():
        assert 0.0 <= result.hit1 <= result.hit3 <= 1.0
        assert result.hit1 <= result.mrr <= result.hit3 or result.hit3 == 0.0


def test_misses_are_listed(container, kb, tmp_path):
    container.indexer.ingest(kb)
    questions = [EvalQuestion("How do I request a training voucher?", "notes.txt", None)]
    report = evaluate(
        questions, retriever=container.retriever, answerer=container.answerer, modes=("keyword",)
    )
    result = report.results["keyword"]
    assert result.hit1 == 0.0
    assert result.misses == ["How do I request a training voucher?"]
    assert report.calibration == []  # only computed for the hybrid mode


def test_calibration_sweep_counts_scores_below_each_threshold():
    evidences = [(0.2, True), (0.9, True), (0.1, False), (0.5, False)]
    rows = calibrate(evidences)
    assert len(rows) > 5
    thresholds = [t for t, _, _ in rows]
    assert thresholds == sorted(thresholds)
    for threshold, recall, wrong in rows:
        assert recall == sum(e < threshold for e in (0.1, 0.5)) / 2
        assert wrong == sum(e < threshold for e in (0.2, 0.9)) / 2
    assert any(0.2 < t <= 0.5 for t in thresholds)  # the sweep covers the useful range

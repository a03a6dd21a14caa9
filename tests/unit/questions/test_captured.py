"""Captured answers: stored once per modal, edited, retired, indexed as FAQ entries, kept
across a rebuild, exported as a Markdown FAQ file that ingest reads back."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import FrozenClock

from bot.questions.captured import (
    EXPORT_NAME,
    SOURCE_PREFIX,
    CapturedAnswers,
    Invalid,
    NotFound,
    as_document,
    faq_heading,
)
from bot.store.db import make_session_factory

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
QUESTION = "Is the parking garage open on Sundays?"
ANSWER = "Yes, from 8:00 to 18:00. Badge in at the *north gate*."


def _service(db_engine, **kwargs) -> CapturedAnswers:
    return CapturedAnswers(
        session_factory=make_session_factory(db_engine),
        clock=FrozenClock(NOW),
        name_of=lambda user: {"UTEAM": "Tess Team"}.get(user, user),
        **kwargs,
    )


def test_capture_stores_once_per_submission_and_indexes_once(db_engine):
    indexed = []
    service = _service(db_engine, index=indexed.append)
    entry, created = service.capture(
        question=f"  {QUESTION} ", answer=ANSWER, author="UTEAM", key="view:V1"
    )
    again, created_again = service.capture(
        question=QUESTION, answer="something else", author="UTEAM", key="view:V1"
    )
    assert (created, created_again) == (True, False)
    assert again.id == entry.id and again.answer == ANSWER
    assert [e.id for e in indexed] == [entry.id]
    assert entry.question == QUESTION
    assert entry.byline == "Answered by the change team, 2026-12-01 (Tess Team)"
    assert [e.id for e in service.approved()] == [entry.id]


def test_edit_and_retire(db_engine):
    indexed, unindexed = [], []
    service = _service(db_engine, index=indexed.append, unindex=unindexed.append)
    entry, _ = service.capture(question=QUESTION, answer=ANSWER, author="UTEAM", key="k")
    edited = service.edit(
        entry.id, question=QUESTION, answer="Closed on Sundays.", source_url="", actor="U9"
    )
    assert edited.answer == "Closed on Sundays." and indexed[-1].answer == "Closed on Sundays."
    retired, changed = service.retire(entry.id, "U9")
    _, changed_again = service.retire(entry.id, "U9")
    assert (retired.status, changed, changed_again) == ("retired", True, False)
    assert [e.id for e in unindexed] == [entry.id]  # once, for a double click
    assert service.approved() == [] and service.documents() == []
    with pytest.raises(NotFound):
        service.edit(entry.id, question=QUESTION, answer="x", actor="U9")
    with pytest.raises(NotFound):
        service.retire(999, "U9")


@pytest.mark.parametrize(
    ("question", "answer", "url", "field"),
    [
        ("", ANSWER, "", "question"),
        ("q" * 301, ANSWER, "", "question"),
        (QUESTION, "  ", "", "answer"),
        (QUESTION, "a" * 3001, "", "answer"),
        (QUESTION, ANSWER, "javascript:alert(1)", "source"),
    ],
)
def test_what_to_fix_names_the_field(db_engine, question, answer, url, field):
    service = _service(db_engine)
    with pytest.raises(Invalid) as problem:
        service.capture(question=question, answer=answer, source_url=url, author="U", key="k")
    assert problem.value.field == field
    assert service.approved() == []


def test_the_document_is_one_faq_entry_its_heading_the_question(db_engine):
    service = _service(db_engine)
    entry, _ = service.capture(
        question="parking on sundays",
        answer="# Not a heading\nSee <https://intranet.example/parking|the parking page>.",
        source_url="https://intranet.example/parking",
        author="UTEAM",
        key="k",
    )
    doc = as_document(entry)
    assert doc.path == f"{SOURCE_PREFIX}{entry.id}"
    assert doc.doc_type == "faq" and doc.url == "https://intranet.example/parking"
    assert doc.title == "Answered by the change team, 2026-12-01 (Tess Team)"
    assert doc.text.startswith("## Q: parking on sundays\n\n")
    assert "[the parking page](https://intranet.example/parking)" in doc.text
    assert "\n#" not in doc.text  # the answer's own '#' cannot start a new section
    assert faq_heading("Why?") == "Why?"


def test_captured_answer_is_given_kept_across_rebuild_and_export_round_trips(
    make_container, kb, tmp_path
):
    container = make_container()
    container.indexer.ingest(kb)
    assert (
        container.question_service.ask(QUESTION, user_id="U1", surface="cli").answer.kind != "faq"
    )
    entry, _ = container.captured.capture(
        question=QUESTION, answer=ANSWER, author="UTEAM", key="view:V1"
    )
    answer = container.question_service.ask(QUESTION, user_id="U1", surface="cli").answer
    assert (answer.kind, answer.sources[0].path) == ("faq", entry.source)
    assert "north gate" in answer.text
    assert answer.sources[0].title.startswith("Answered by the change team, ")

    container.indexer.ingest(kb, rebuild=True)
    container.retriever.refresh(force=True)
    answer = container.question_service.ask(QUESTION, user_id="U1", surface="cli").answer
    assert (answer.kind, answer.sources[0].path) == ("faq", entry.source)

    # Export, then a fresh knowledge base (no captured answers) ingests the file.
    exported = tmp_path / "exported"
    exported.mkdir()
    (exported / EXPORT_NAME).write_text(container.captured.export_markdown(), encoding="utf-8")
    fresh = make_container(data_dir=tmp_path / "fresh-data")
    report = fresh.indexer.ingest(exported)
    assert report.added == [EXPORT_NAME] and not report.failed
    answer = fresh.question_service.ask(QUESTION, user_id="U1", surface="cli").answer
    assert (answer.kind, answer.sources[0].path, answer.sources[0].type) == (
        "faq",
        EXPORT_NAME,
        "faq",
    )
    assert "north gate" in answer.text

    # Retired: no longer given, and a rebuild does not bring it back.
    container.captured.retire(entry.id, "UTEAM")
    container.indexer.ingest(kb, rebuild=True)
    container.retriever.refresh(force=True)
    answer = container.question_service.ask(QUESTION, user_id="U1", surface="cli").answer
    assert all(not s.path.startswith(SOURCE_PREFIX) for s in answer.sources)

"""QuestionService on SQLite and PostgreSQL: answers remembered, feedback, escalation,
retries of Slack events, and retention."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from conftest import FrozenClock, as_utc
from sqlalchemy import event, func, select

from bot.questions.service import NotFound, QuestionService, with_context
from bot.store.db import make_session_factory
from bot.store.models import Escalation, Feedback, Interaction, SlackEvent

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
VOUCHER = "How do I request a training voucher?"
LUNCH = "what's for lunch in the canteen?"
THREAD = {"channel_id": "C1", "thread_ts": "100.1"}


@pytest.fixture
def answerer(make_container, kb):
    container = make_container()
    container.indexer.ingest(kb)
    return container.answerer


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def sessions(db_engine):
    # expire_on_commit=False, as the app's own session factory: the service hands
    # back ORM objects after their session has committed.
    return make_session_factory(db_engine)


@pytest.fixture
def service(answerer, sessions, clock) -> QuestionService:
    return QuestionService(
        answerer=answerer, session_factory=sessions, clock=clock, retention_days=30
    )


def count(sessions, model, *where) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


# -- ask ------------------------------------------------------------------------------------
def test_ask_answers_and_stores_the_interaction(service, sessions):
    asked = service.ask(VOUCHER, user_id="U1", surface="dm", channel_id="D1", thread_ts="10.1")
    assert asked.answer.confident is True
    assert asked.answer.text.startswith("Fill in the voucher form")
    assert asked.question_used == VOUCHER

    stored = service.get(asked.interaction_id)
    assert stored.question == VOUCHER
    assert stored.answer == asked.answer.text
    assert stored.kind == "faq"
    assert stored.confident is True
    assert stored.surface == "dm"
    assert (stored.user_id, stored.channel_id, stored.thread_ts) == ("U1", "D1", "10.1")
    assert as_utc(stored.created_at) == T0
    assert stored.evidence == pytest.approx(asked.answer.evidence)
    assert len(stored.sources) == len(asked.answer.sources) > 0
    first = stored.sources[0]
    assert first["path"] == "orion-faq.md"
    assert first["title"] == "Orion FAQ"
    assert first["section"] == VOUCHER
    assert "voucher form" in first["text"]
    assert all(len(s["text"]) <= 500 for s in stored.sources)
    assert count(sessions, Interaction) == 1


def test_ask_stores_an_unanswerable_question_as_not_confident(service):
    asked = service.ask(LUNCH, user_id="U2", surface="command")
    assert asked.answer.confident is False
    stored = service.get(asked.interaction_id)
    assert stored.confident is False
    assert stored.kind == "abstain"
    assert stored.question == LUNCH
    assert "couldn't find" in stored.answer


def test_each_question_is_a_new_interaction(service, sessions):
    first = service.ask(VOUCHER, user_id="U1", surface="dm")
    second = service.ask(VOUCHER, user_id="U1", surface="dm")
    assert first.interaction_id != second.interaction_id
    assert count(sessions, Interaction) == 2


def test_get_of_an_unknown_interaction_is_not_found(service):
    with pytest.raises(NotFound):
        service.get(999_999)


def test_record_reply_remembers_the_reply_ts(service):
    asked = service.ask(VOUCHER, user_id="U1", surface="mention", channel_id="C1")
    service.record_reply(asked.interaction_id, "123.456")
    assert service.get(asked.interaction_id).reply_ts == "123.456"
    service.record_reply(999_999, "1.0")  # gone (retention): ignored, no error


# -- thread context -------------------------------------------------------------------------
def test_short_follow_up_is_asked_with_the_threads_earlier_question(service):
    earlier = "When does phase 1 run?"
    asked = service.ask("and phase 2?", user_id="U1", surface="follow-up", context=earlier)
    assert asked.question_used == "When does phase 1 run? and phase 2?"
    assert asked.answer.question == asked.question_used  # what was actually retrieved
    assert service.get(asked.interaction_id).question == "and phase 2?"  # what they typed


def test_long_self_contained_question_is_asked_as_it_is(service):
    question = "How do I request a training voucher for the analytics course next month?"
    asked = service.ask(question, user_id="U1", surface="follow-up", context="When is launch?")
    assert asked.question_used == question


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and managers?", "Who needs Orion training? and managers?"),
        ("contractors too?", "Who needs Orion training? contractors too?"),
        ("what about   managers?", "Who needs Orion training? what about managers?"),
        (
            "And what about the people who joined the team after the pilot?",
            "Who needs Orion training? And what about the people who joined the team after "
            "the pilot?",
        ),
        (
            "Can I keep using spreadsheets for forecasting after my wave ends?",
            "Can I keep using spreadsheets for forecasting after my wave ends?",
        ),
        (
            "Sometimes the voucher form on the intranet does not load at all?",
            "Sometimes the voucher form on the intranet does not load at all?",
        ),
    ],
)
def test_with_context(question, expected):
    assert with_context(question, " Who needs Orion training? ") == expected


@pytest.mark.parametrize("context", [None, ""])
def test_with_context_without_an_earlier_question_only_tidies_whitespace(context):
    assert with_context("  and\n managers? ", context) == "and managers?"


def test_thread_question_is_the_first_question_of_the_thread(service):
    first = service.ask("When does phase 1 run?", user_id="U1", surface="mention", **THREAD)
    service.ask("and phase 2?", user_id="U2", surface="follow-up", **THREAD)
    service.ask(VOUCHER, user_id="U1", surface="mention", channel_id="C1", thread_ts="999.9")
    service.ask(VOUCHER, user_id="U1", surface="mention", channel_id="C2", thread_ts="100.1")

    found = service.thread_question("C1", "100.1")
    assert found is not None
    assert found.id == first.interaction_id
    assert found.question == "When does phase 1 run?"


@pytest.mark.parametrize(("channel", "ts"), [("C1", "555.5"), ("C9", "100.1"), ("C1", "")])
def test_thread_question_of_a_thread_the_bot_never_answered_is_none(service, channel, ts):
    service.ask(VOUCHER, user_id="U1", surface="mention", **THREAD)
    assert service.thread_question(channel, ts) is None


def test_thread_question_ignores_questions_outside_threads(service):
    service.ask(VOUCHER, user_id="U1", surface="dm", channel_id="D1", thread_ts="")
    assert service.thread_question("D1", "") is None


# -- feedback -------------------------------------------------------------------------------
def test_feedback_is_stored_once_per_person_and_a_second_click_changes_it(service, sessions):
    asked = service.ask(VOUCHER, user_id="U1", surface="dm")
    iid = asked.interaction_id
    assert service.record_feedback(iid, "U1", True) is True
    assert service.record_feedback(iid, "U1", True) is False  # same click again
    assert count(sessions, Feedback) == 1
    assert service.record_feedback(iid, "U1", False) is True  # changed their mind
    assert service.record_feedback(iid, "U2", True) is True  # someone else

    with sessions() as session:
        rows = session.scalars(select(Feedback).order_by(Feedback.user_id)).all()
    assert [(r.interaction_id, r.user_id, r.helpful) for r in rows] == [
        (iid, "U1", False),
        (iid, "U2", True),
    ]
    assert as_utc(rows[0].created_at) == T0


def test_racing_feedback_clicks_of_one_person_are_one_vote(service, sessions, db_engine):
    asked = service.ask(VOUCHER, user_id="U1", surface="dm")
    # Let both clicks look for an existing vote before either stores one: the window a
    # real double click hits by chance, made certain.
    both_looked = threading.Barrier(2)

    def hold_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO FEEDBACK"):
            try:
                both_looked.wait(timeout=3)
            except threading.BrokenBarrierError:
                pass  # the service serialised the clicks itself: fine

    event.listen(db_engine, "before_cursor_execute", hold_insert)
    errors = []

    def click() -> None:
        try:
            service.record_feedback(asked.interaction_id, "U1", True)
        except Exception as exc:  # reported below
            errors.append(exc)

    try:
        workers = [threading.Thread(target=click) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
    finally:
        event.remove(db_engine, "before_cursor_execute", hold_insert)
    assert errors == []
    assert count(sessions, Feedback) == 1


def test_feedback_on_an_unknown_answer_is_not_found(service, sessions):
    with pytest.raises(NotFound):
        service.record_feedback(999_999, "U1", True)
    assert count(sessions, Feedback) == 0


# -- escalation -----------------------------------------------------------------------------
def test_escalate_once_then_return_the_same_escalation(service, sessions):
    asked = service.ask(LUNCH, user_id="U1", surface="dm", channel_id="D1")
    first = service.escalate(asked.interaction_id, "U1")
    assert first.created is True
    assert first.interaction.id == asked.interaction_id
    assert first.interaction.question == LUNCH

    again = service.escalate(asked.interaction_id, "U1")
    other = service.escalate(asked.interaction_id, "U2")
    assert (again.created, again.escalation_id) == (False, first.escalation_id)
    assert (other.created, other.escalation_id) == (False, first.escalation_id)
    assert again.interaction.question == LUNCH

    with sessions() as session:
        (row,) = session.scalars(select(Escalation)).all()
    assert row.id == first.escalation_id
    assert row.requested_by == "U1"
    assert row.status == "open"
    assert as_utc(row.created_at) == T0


def test_different_answers_get_different_escalations(service):
    a = service.ask(LUNCH, user_id="U1", surface="dm")
    b = service.ask(LUNCH, user_id="U1", surface="dm")
    assert service.escalate(a.interaction_id, "U1").escalation_id != (
        service.escalate(b.interaction_id, "U1").escalation_id
    )


def test_escalating_an_unknown_answer_is_not_found(service, sessions):
    with pytest.raises(NotFound):
        service.escalate(999_999, "U1")
    assert count(sessions, Escalation) == 0


def test_concurrent_escalations_of_one_answer_make_one_row(service, sessions):
    asked = service.ask(LUNCH, user_id="U1", surface="dm")
    threads_n = 10
    barrier = threading.Barrier(threads_n)
    results, errors = [], []

    def click(n: int) -> None:
        barrier.wait()
        try:
            results.append(service.escalate(asked.interaction_id, f"U{n}"))
        except Exception as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=click, args=(n,)) for n in range(threads_n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers)
    assert errors == []
    assert len(results) == threads_n
    assert sum(result.created for result in results) == 1
    assert len({result.escalation_id for result in results}) == 1
    assert count(sessions, Escalation) == 1


def test_escalation_is_found_by_its_team_channel_thread(service):
    asked = service.ask(LUNCH, user_id="U1", surface="mention", **THREAD)
    result = service.escalate(asked.interaction_id, "U1")
    assert service.escalation_for_team_thread("CTEAM", "200.5") is None  # not posted yet

    service.record_escalation_post(result.escalation_id, "CTEAM", "200.5")
    found = service.escalation_for_team_thread("CTEAM", "200.5")
    assert found is not None
    escalation, interaction = found
    assert escalation.id == result.escalation_id
    assert (escalation.team_channel_id, escalation.team_message_ts) == ("CTEAM", "200.5")
    assert interaction.id == asked.interaction_id
    assert (interaction.user_id, interaction.question) == ("U1", LUNCH)

    assert service.escalation_for_team_thread("CTEAM", "200.6") is None
    assert service.escalation_for_team_thread("COTHER", "200.5") is None


def test_mark_answered_closes_once(service, clock):
    asked = service.ask(LUNCH, user_id="U1", surface="dm")
    escalation_id = service.escalate(asked.interaction_id, "U1").escalation_id
    clock.advance(minutes=30)

    escalation, changed = service.mark_answered(escalation_id, "U9")
    assert changed is True
    assert escalation.status == "answered"
    assert escalation.answered_by == "U9"
    assert as_utc(escalation.answered_at) == T0 + dt.timedelta(minutes=30)

    clock.advance(minutes=5)
    again, changed = service.mark_answered(escalation_id, "U8")
    assert changed is False
    assert again.answered_by == "U9"  # the first person who closed it
    assert as_utc(again.answered_at) == T0 + dt.timedelta(minutes=30)

    # escalating again after it was answered does not reopen it
    assert service.escalate(asked.interaction_id, "U1").created is False


def test_mark_answered_of_an_unknown_escalation_is_not_found(service):
    with pytest.raises(NotFound):
        service.mark_answered(999_999, "U9")


# -- housekeeping ---------------------------------------------------------------------------
def test_first_time_event_is_true_once_per_event_id(service):
    assert service.first_time_event("Ev01") is True
    assert service.first_time_event("Ev01") is False  # Slack's retry
    assert service.first_time_event("Ev01") is False
    assert service.first_time_event("Ev02") is True


def test_purge_forgets_old_events_and_questions_past_retention(service, sessions, clock):
    old = service.ask(LUNCH, user_id="U1", surface="dm")
    service.record_feedback(old.interaction_id, "U1", False)
    old_escalation = service.escalate(old.interaction_id, "U1").escalation_id
    assert service.first_time_event("Ev-old") is True

    clock.advance(days=29)
    recent = service.ask(VOUCHER, user_id="U2", surface="dm")
    service.record_feedback(recent.interaction_id, "U2", True)
    recent_escalation = service.escalate(recent.interaction_id, "U2").escalation_id

    clock.advance(days=1, hours=1)  # T0 + 30 days 1 h
    assert service.first_time_event("Ev-3h") is True
    clock.advance(hours=2)  # T0 + 30 days 3 h
    assert service.first_time_event("Ev-1h") is True
    clock.advance(hours=1)  # T0 + 30 days 4 h: Ev-1h is 1 h old, Ev-3h 3 h old

    assert service.purge() == (2, 1)

    # old question, its feedback and escalation are gone; the recent ones are kept
    with pytest.raises(NotFound):
        service.get(old.interaction_id)
    with pytest.raises(NotFound):
        service.record_feedback(old.interaction_id, "U1", True)
    with pytest.raises(NotFound):
        service.mark_answered(old_escalation, "U9")
    assert service.get(recent.interaction_id).question == VOUCHER
    assert count(sessions, Interaction) == 1
    assert count(sessions, Feedback) == 1
    assert count(sessions, Feedback, Feedback.interaction_id == recent.interaction_id) == 1
    assert count(sessions, Escalation) == 1
    assert service.mark_answered(recent_escalation, "U9")[1] is True

    # handled event ids: the recent one is still remembered, the old ones are forgotten
    assert count(sessions, SlackEvent) == 1
    assert service.first_time_event("Ev-1h") is False
    assert service.first_time_event("Ev-3h") is True
    assert service.first_time_event("Ev-old") is True


def test_purge_with_nothing_old_deletes_nothing(service, sessions, clock):
    service.ask(VOUCHER, user_id="U1", surface="dm")
    service.first_time_event("Ev1")
    clock.advance(hours=1, minutes=59)
    assert service.purge() == (0, 0)
    assert count(sessions, Interaction) == 1
    assert count(sessions, SlackEvent) == 1


def test_purge_of_an_empty_store(service):
    assert service.purge() == (0, 0)


def test_purge_event_ttl_can_be_shorter(service, sessions, clock):
    service.first_time_event("Ev1")
    clock.advance(minutes=10)
    assert service.purge(event_ttl=dt.timedelta(minutes=5)) == (1, 0)
    assert count(sessions, SlackEvent) == 0

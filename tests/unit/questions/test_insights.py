"""The change team's figures from the question log: per week, shares, most asked and
unanswered questions grouped by wording, questions from an update. Both databases."""

from __future__ import annotations

import datetime as dt

from conftest import FrozenClock

from bot.questions.insights import QuestionInsights
from bot.store.db import make_session_factory
from bot.store.models import Broadcast, BroadcastQuestion, Feedback, Interaction

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)  # a Wednesday


def _ask(session, question: str, kind: str, days_ago: float) -> Interaction:
    row = Interaction(
        created_at=NOW - dt.timedelta(days=days_ago),
        surface="dm",
        user_id="U1",
        question=question,
        answer="…",
        kind=kind,
        confident=kind != "abstain",
        evidence=0.5,
        sources=[],
    )
    session.add(row)
    session.flush()
    return row


def test_weeks_shares_and_the_most_asked_and_unanswered_questions(db_engine):
    sessions = make_session_factory(db_engine)
    with sessions.begin() as session:
        first = _ask(session, "How do I get access to MLflow?", "faq", 0.5)
        _ask(session, "how do i get access to mlflow", "extractive", 1)
        _ask(session, "How do I get access to MLflow ?", "faq", 8)
        _ask(session, "What is the GPU budget?", "abstain", 2)
        _ask(session, "what is the gpu budget", "abstain", 9)
        _ask(session, "Who approves models?", "empty", 3)
        _ask(session, "Ancient question", "faq", 200)  # outside every window
        session.add(Feedback(interaction_id=first.id, user_id="U2", helpful=False, created_at=NOW))
        session.add(
            Broadcast(
                id=7,
                submission_key="V7",
                author="ULEAD",
                title="t",
                body="b",
                audience={},
                status="sent",
                created_at=NOW,
            )
        )
        session.flush()
        session.add(
            BroadcastQuestion(broadcast_id=7, user_id="U3", interaction_id=first.id, asked_at=NOW)
        )
    insights = QuestionInsights(session_factory=sessions, clock=FrozenClock(NOW))
    weeks = insights.weekly(3)
    assert [w.start for w in weeks] == [
        dt.date(2026, 11, 16),
        dt.date(2026, 11, 23),
        dt.date(2026, 11, 30),
    ]
    assert [(w.asked, w.answered, w.abstained) for w in weeks] == [(0, 0, 0), (3, 1, 2), (3, 2, 1)]
    shares = insights.shares(90)
    assert (shares.asked, shares.answered, shares.abstained, shares.unhelpful) == (6, 3, 3, 1)
    top = insights.most_asked(days=90)
    assert (top[0].count, top[0].answered) == (3, 3)
    assert top[0].text.lower().startswith("how do i get access to mlflow")
    gaps = insights.unanswered(days=90)
    assert [(g.text.lower().rstrip("?"), g.count) for g in gaps] == [
        ("what is the gpu budget", 2),
        ("who approves models", 1),
    ]
    [asked] = insights.update_questions(7)
    assert asked.question == "How do I get access to MLflow?" and asked.kind == "faq"

"""Knowledge gaps: unanswered, 👎 and escalated questions since a date, grouped by meaning,
largest first, each with its count, phrasings and kinds. Both databases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from conftest import FakeEmbeddings

from bot.questions.gaps import GapFinder, cluster, parse_since
from bot.store.db import make_session_factory
from bot.store.models import CapturedAnswer, Escalation, Feedback, Interaction

NOW = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)


def _ask(session, question: str, kind: str = "abstain", days_ago: float = 1) -> Interaction:
    row = Interaction(
        created_at=NOW - dt.timedelta(days=days_ago),
        surface="dm",
        user_id="U1",
        question=question,
        answer="…",
        kind=kind,
        confident=kind not in {"abstain", "empty"},
        evidence=0.5,
        sources=[],
    )
    session.add(row)
    session.flush()
    return row


def _finder(db_engine, distance: float = 0.4) -> GapFinder:
    return GapFinder(
        session_factory=make_session_factory(db_engine),
        embed=FakeEmbeddings().embed_documents,
        distance=distance,
        clock=lambda: NOW,
    )


def test_groups_by_meaning_largest_first_with_counts_phrasings_and_kinds(db_engine):
    sessions = make_session_factory(db_engine)
    with sessions.begin() as session:
        for _ in range(3):
            _ask(session, "What is the GPU budget for my team?")
        _ask(session, "what is the gpu budget for my team")  # same wording, other case
        _ask(session, "What's the GPU budget for my team this year?")
        answered = _ask(session, "Who approves model releases?", "extractive")
        session.add(
            Feedback(interaction_id=answered.id, user_id="U2", helpful=False, created_at=NOW)
        )
        escalated = _ask(session, "Who approves model releases", "extractive")
        session.add(
            Escalation(
                interaction_id=escalated.id,
                requested_by="U1",
                created_at=NOW,
                team_channel_id="",
                team_message_ts="",
                status="open",
                answered_by="",
            )
        )
        _ask(session, "Is the parking garage open on Sundays?")
        _ask(session, "How do I request a training voucher?", "faq")  # answered: no gap
        helpful = _ask(session, "Where is the roadmap?", "extractive")
        session.add(Feedback(interaction_id=helpful.id, user_id="U2", helpful=True, created_at=NOW))
        _ask(session, "What is the GPU budget for my team?", days_ago=30)  # before the window
    groups = _finder(db_engine).gaps(NOW - dt.timedelta(days=7))
    assert [g.count for g in groups] == [5, 2, 1]
    gpu, approvals, parking = groups
    assert gpu.question == "What is the GPU budget for my team?"
    assert gpu.phrasings == [
        "What is the GPU budget for my team?",
        "What's the GPU budget for my team this year?",
    ]
    assert dict(gpu.kinds) == {"abstained": 5}
    assert dict(approvals.kinds) == {"unhelpful": 1, "escalated": 1}
    assert parking.question == "Is the parking garage open on Sundays?"
    assert len(gpu.interaction_ids) == 5
    assert _finder(db_engine).gaps(NOW - dt.timedelta(days=7), limit=1) == groups[:1]


def test_nothing_unanswered_gives_no_groups(db_engine):
    with make_session_factory(db_engine).begin() as session:
        _ask(session, "How do I request a training voucher?", "faq")
    assert _finder(db_engine).gaps(NOW - dt.timedelta(days=7)) == []


def test_a_captured_answer_written_after_the_last_ask_closes_the_group(db_engine):
    sessions = make_session_factory(db_engine)
    with sessions.begin() as session:
        _ask(session, "What is the GPU budget for my team?", days_ago=2)
        _ask(session, "Is the parking garage open on Sundays?", days_ago=2)
        session.add(
            CapturedAnswer(
                question="What is the GPU budget for my team?",
                answer="€2,000 a quarter.",
                source_url="",
                author="UTEAM",
                author_name="",
                created_at=NOW - dt.timedelta(days=1),
                updated_at=NOW - dt.timedelta(days=1),
                updated_by="UTEAM",
                status="approved",
                submission_key="k1",
            )
        )
    groups = _finder(db_engine).gaps(NOW - dt.timedelta(days=7))
    assert [g.question for g in groups] == ["Is the parking garage open on Sundays?"]
    # Asked again after the answer was written (it did not help): the gap is back.
    with sessions.begin() as session:
        _ask(session, "What is the GPU budget for my team?", days_ago=0.5)
    assert len(_finder(db_engine).gaps(NOW - dt.timedelta(days=7))) == 2


def test_cluster_joins_rows_within_the_distance_only():
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.6, 0.8]])
    assert cluster(vectors, [3, 1, 1, 1], distance=0.1) == [[0, 1], [2], [3]]
    assert cluster(vectors, [3, 1, 1, 1], distance=1.0) == [[0, 1, 2, 3]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - dt.timedelta(days=7)),
        ("24h", NOW - dt.timedelta(hours=24)),
        ("2w", NOW - dt.timedelta(days=14)),
        ("2026-11-01", dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
    ],
)
def test_parse_since(text, expected):
    assert parse_since(text, now=NOW) == expected


def test_parse_since_says_what_to_write():
    with pytest.raises(ValueError, match="7d, 24h, 2w or a date"):
        parse_since("last week", now=NOW)

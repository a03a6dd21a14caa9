"""The question log, read for the change team: how much is asked, answered, abstained on,
marked unhelpful, and which questions come back. Read side only; never talks to Slack.

Questions are grouped by their wording with case, spacing and end punctuation ignored
("How do I get access?" and "how do i get access" are one question).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import BroadcastQuestion, Feedback, Interaction
from bot.timeutil import as_utc, utcnow

ANSWERED_KINDS = frozenset({"faq", "extractive", "llm"})
ABSTAINED_KINDS = frozenset({"abstain", "empty"})
_END = re.compile(r"[\s?!.,;:]+$")


@dataclass(frozen=True)
class Week:
    start: dt.date  # Monday
    asked: int
    answered: int
    abstained: int


@dataclass(frozen=True)
class Shares:
    asked: int
    answered: int
    abstained: int
    unhelpful: int  # answers someone marked 👎

    def share(self, part: int) -> float | None:
        return part / self.asked if self.asked else None


@dataclass(frozen=True)
class AskedQuestion:
    text: str  # the most common wording
    count: int
    last_asked: dt.datetime
    answered: int  # how many of the `count` times the bot answered


@dataclass(frozen=True)
class UpdateQuestion:
    asked_at: dt.datetime
    question: str  # "" when the question is past retention
    kind: str


def normalise(question: str) -> str:
    return _END.sub("", " ".join(question.lower().split()))


class QuestionInsights:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions = session_factory
        self.clock = clock

    def _since(self, days: int) -> dt.datetime:
        return self.clock() - dt.timedelta(days=days)

    def weekly(self, weeks: int = 12) -> list[Week]:
        """Questions per ISO week (Monday first), the last `weeks` weeks, oldest first.

        The database counts per day and outcome; Python only folds days into weeks.
        """
        today = as_utc(self.clock()).date()
        first = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks - 1)
        since = dt.datetime.combine(first, dt.time(), dt.UTC)
        day = func.date(Interaction.created_at)
        with self.sessions() as session:
            rows = session.execute(
                select(day, Interaction.kind, func.count())
                .where(Interaction.created_at >= since)
                .group_by(day, Interaction.kind)
            ).all()
        counts: dict[dt.date, Counter] = defaultdict(Counter)
        for when, kind, count in rows:
            when = when if isinstance(when, dt.date) else dt.date.fromisoformat(str(when)[:10])
            counts[when - dt.timedelta(days=when.weekday())][_outcome(kind)] += count
        return [
            Week(
                start,
                sum(counts[start].values()),
                counts[start]["answered"],
                counts[start]["abstained"],
            )
            for start in (first + dt.timedelta(weeks=n) for n in range(weeks))
        ]

    def shares(self, days: int = 90) -> Shares:
        """Asked, answered, abstained and 👎-marked answers over the last `days` days."""
        since = self._since(days)
        with self.sessions() as session:
            kinds = session.execute(
                select(Interaction.kind, func.count())
                .where(Interaction.created_at >= since)
                .group_by(Interaction.kind)
            ).all()
            unhelpful = session.scalar(
                select(func.count(func.distinct(Feedback.interaction_id)))
                .join(Interaction, Interaction.id == Feedback.interaction_id)
                .where(Feedback.helpful.is_(False), Interaction.created_at >= since)
            )
        outcomes: Counter = Counter()
        for kind, count in kinds:
            outcomes[_outcome(kind)] += count
        return Shares(
            sum(outcomes.values()), outcomes["answered"], outcomes["abstained"], unhelpful or 0
        )

    def most_asked(self, *, days: int = 90, limit: int = 10) -> list[AskedQuestion]:
        return self.top_questions(days=days, limit=limit)[0]

    def unanswered(self, *, days: int = 90, limit: int = 10) -> list[AskedQuestion]:
        """Questions the bot abstained on, most often asked first (the knowledge gaps)."""
        return self.top_questions(days=days, limit=limit)[1]

    def top_questions(
        self, *, days: int = 90, limit: int = 10
    ) -> tuple[list[AskedQuestion], list[AskedQuestion]]:
        """(most asked, most asked among those abstained on), from one grouping query."""
        with self.sessions() as session:
            rows = session.execute(
                select(
                    Interaction.question,
                    Interaction.kind,
                    func.count(),
                    func.max(Interaction.created_at),
                )
                .where(Interaction.created_at >= self._since(days))
                .group_by(Interaction.question, Interaction.kind)
            ).all()
        return (
            _ranked(rows, limit),
            _ranked([row for row in rows if _outcome(row[1]) == "abstained"], limit),
        )

    def update_questions(self, broadcast_id: int, *, limit: int = 200) -> list[UpdateQuestion]:
        """Questions asked through an update's "I have a question" button, newest first."""
        with self.sessions() as session:
            rows = session.execute(
                select(BroadcastQuestion.asked_at, Interaction.question, Interaction.kind)
                .outerjoin(Interaction, Interaction.id == BroadcastQuestion.interaction_id)
                .where(BroadcastQuestion.broadcast_id == broadcast_id)
                .order_by(BroadcastQuestion.asked_at.desc(), BroadcastQuestion.id.desc())
                .limit(limit)
            ).all()
        return [
            UpdateQuestion(as_utc(at), question or "", kind or "") for at, question, kind in rows
        ]


def _ranked(rows, limit: int) -> list[AskedQuestion]:
    """Group (question, kind, count, last asked) rows by wording, most asked first."""
    wordings: dict[str, Counter] = defaultdict(Counter)
    last: dict[str, dt.datetime] = {}
    answered: Counter = Counter()
    for question, kind, count, latest in rows:
        key = normalise(question)
        if not key:
            continue
        wordings[key][" ".join(question.split())] += count
        when = _as_datetime(latest)
        last[key] = max(last.get(key, when), when)
        answered[key] += count if _outcome(kind) == "answered" else 0
    ranked = sorted(wordings, key=lambda k: (-sum(wordings[k].values()), -last[k].timestamp()))
    return [
        AskedQuestion(
            wordings[key].most_common(1)[0][0],
            sum(wordings[key].values()),
            last[key],
            answered[key],
        )
        for key in ranked[:limit]
    ]


def _as_datetime(value) -> dt.datetime:
    """max() of a DateTime column: a datetime, or on SQLite sometimes its text."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return as_utc(value)


def _outcome(kind: str) -> str:
    if kind in ANSWERED_KINDS:
        return "answered"
    if kind in ABSTAINED_KINDS:
        return "abstained"
    return "other"

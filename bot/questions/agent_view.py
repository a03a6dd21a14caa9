"""The app's Messages tab (Slack's agent view): a greeting once per person, the prompts to
suggest, and the channel each person is looking at (from `app_context_changed`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.store.models import AgentViewUser

MIN_ASKS = 2  # a question asked at least this often can be suggested to others
PROMPT_LIMIT = 4  # Slack shows up to four suggested prompts
PROMPT_TITLE_LIMIT = 75  # a prompt's title is a short label; the message is the question


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AgentView:
    def __init__(
        self, *, session_factory, insights=None, clock: Callable[[], dt.datetime] = _now
    ) -> None:
        self.sessions = session_factory
        self.insights = insights  # QuestionInsights: what people ask most
        self.clock = clock

    def prompts(self, faq_questions: list[str]) -> list[dict]:
        """The prompts to suggest now: the most asked questions (each asked at least MIN_ASKS
        times and mostly answered), topped up with the playbook's FAQ questions."""
        asked = self.insights.most_asked(limit=8) if self.insights is not None else []
        popular = [q.text for q in asked if q.count >= MIN_ASKS and q.answered * 2 >= q.count]
        return suggested_prompts(popular, faq_questions)

    def first_open(self, user_id: str) -> bool:
        """True exactly once per person, however many tabs or replicas see the open."""
        try:
            with self.sessions.begin() as session:
                row = session.get(AgentViewUser, user_id)
                if row is None:
                    session.add(AgentViewUser(user_id=user_id, greeted_at=self.clock()))
                    return True
                if row.greeted_at is not None:
                    return False
                claimed = session.execute(
                    update(AgentViewUser)
                    .where(AgentViewUser.user_id == user_id, AgentViewUser.greeted_at.is_(None))
                    .values(greeted_at=self.clock())
                )
                return claimed.rowcount == 1
        except IntegrityError:
            return False  # another open inserted the row first: it greets

    def remember_context(self, user_id: str, channel_id: str) -> None:
        """The channel the person is looking at now ('' when Slack sends no channel)."""
        for _ in range(2):  # an insert race with another event: the second pass updates
            try:
                with self.sessions.begin() as session:
                    row = session.get(AgentViewUser, user_id)
                    if row is None:
                        row = AgentViewUser(user_id=user_id)
                        session.add(row)
                    row.context_channel = channel_id
                    row.context_at = self.clock()
                return
            except IntegrityError:
                continue

    def context_of(self, user_id: str) -> str:
        with self.sessions() as session:
            channel = session.scalar(
                select(AgentViewUser.context_channel).where(AgentViewUser.user_id == user_id)
            )
        return channel or ""


def suggested_prompts(
    most_asked: list[str], faq_questions: list[str], limit: int = PROMPT_LIMIT
) -> list[dict]:
    """Slack's suggested prompts: the most asked questions once there is history (each asked
    at least MIN_ASKS times and answered), topped up with the playbook's FAQ questions."""
    chosen: list[str] = []
    seen: set[str] = set()
    for question in [*most_asked, *faq_questions]:
        key = " ".join(question.lower().split()).rstrip("?")
        if key and key not in seen:
            seen.add(key)
            chosen.append(" ".join(question.split()))
        if len(chosen) == limit:
            break
    return [{"title": _title(q), "message": q} for q in chosen]


def _title(question: str) -> str:
    if len(question) <= PROMPT_TITLE_LIMIT:
        return question
    return question[: PROMPT_TITLE_LIMIT - 1].rsplit(" ", 1)[0] + "…"

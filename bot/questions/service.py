"""The question flow behind every surface: answer, remember, take feedback, escalate.

Slack listeners call this; it never talks to Slack itself. Thread follow-ups are
answered with the thread's earlier question as context.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.knowledge.answer import Answer, Answerer
from bot.store.models import Escalation, Feedback, Interaction, SlackEvent
from bot.timeutil import utcnow

Clock = Callable[[], dt.datetime]

# A follow-up this short, or one that leans on what came before, gets the earlier
# question as context ("and what about managers?").
_ELLIPTICAL = re.compile(
    r"^\s*(and|but|also|what about|how about|what if|then|so|same for|ok(ay)?)\b", re.I
)


class NotFound(LookupError):
    """The answer or escalation a button refers to no longer exists (e.g. past retention)."""


@dataclass(frozen=True)
class Asked:
    interaction_id: int
    answer: Answer
    question_used: str  # the question as retrieved, with thread context when added


@dataclass(frozen=True)
class EscalationResult:
    escalation_id: int
    created: bool  # False when the question had already been escalated
    interaction: Interaction


class QuestionService:
    def __init__(
        self,
        *,
        answerer: Answerer,
        session_factory: sessionmaker[Session],
        clock: Clock = utcnow,
        retention_days: int = 180,
    ) -> None:
        self.answerer = answerer
        self.sessions = session_factory
        self.clock = clock
        self.retention_days = retention_days

    # -- answering ---------------------------------------------------------------------
    def ask(
        self,
        question: str,
        *,
        user_id: str,
        surface: str,
        channel_id: str = "",
        thread_ts: str = "",
        context: str | None = None,
        topic: str | None = None,
        stream=None,
    ) -> Asked:
        """Answer a question and store it; `context` is the thread's earlier question.

        `topic` (an update's title, for its "I have a question" button) is always put in
        front of the question for retrieval, however the question is worded.
        """
        used = with_context(question, context)
        if topic:
            used = f"{' '.join(topic.split())}: {used}"
        answer = self.answerer.answer(used, stream=stream)
        interaction = Interaction(
            created_at=self.clock(),
            surface=surface,
            user_id=user_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            reply_ts="",
            question=question,
            answer=answer.text,
            kind=answer.kind,
            confident=answer.confident,
            evidence=float(answer.evidence),
            sources=[source.to_json() | {"text": source.text[:500]} for source in answer.sources],
        )
        with self.sessions.begin() as session:
            session.add(interaction)
            session.flush()
            interaction_id = interaction.id
        return Asked(interaction_id, answer, used)

    def record_reply(self, interaction_id: int, reply_ts: str) -> None:
        with self.sessions.begin() as session:
            interaction = session.get(Interaction, interaction_id)
            if interaction is not None:
                interaction.reply_ts = reply_ts

    def thread_question(self, channel_id: str, thread_ts: str) -> Interaction | None:
        """The first question the bot answered in this thread, or None if it never did."""
        if not thread_ts:
            return None
        with self.sessions() as session:
            return session.scalars(
                select(Interaction)
                .where(
                    Interaction.channel_id == channel_id,
                    # the thread itself, or the thread under a top-level answer (DMs)
                    or_(Interaction.thread_ts == thread_ts, Interaction.reply_ts == thread_ts),
                )
                .order_by(Interaction.id)
                .limit(1)
            ).first()

    def get(self, interaction_id: int) -> Interaction:
        with self.sessions() as session:
            interaction = session.get(Interaction, interaction_id)
        if interaction is None:
            raise NotFound(f"answer {interaction_id} not found")
        return interaction

    # -- feedback and escalation ------------------------------------------------------------
    def record_feedback(self, interaction_id: int, user_id: str, helpful: bool) -> bool:
        """Store 👍/👎 once per person; a second click changes it. Returns True if changed."""
        try:
            return self._record_feedback(interaction_id, user_id, helpful)
        except IntegrityError:
            # Two overlapping clicks: the other one inserted first; update it instead.
            return self._record_feedback(interaction_id, user_id, helpful)

    def _record_feedback(self, interaction_id: int, user_id: str, helpful: bool) -> bool:
        with self.sessions.begin() as session:
            if session.get(Interaction, interaction_id) is None:
                raise NotFound(f"answer {interaction_id} not found")
            existing = session.scalars(
                select(Feedback).where(
                    Feedback.interaction_id == interaction_id, Feedback.user_id == user_id
                )
            ).first()
            if existing is not None:
                changed = existing.helpful != helpful
                existing.helpful = helpful
                return changed
            session.add(
                Feedback(
                    interaction_id=interaction_id,
                    user_id=user_id,
                    helpful=helpful,
                    created_at=self.clock(),
                )
            )
        return True

    def escalate(self, interaction_id: int, user_id: str) -> EscalationResult:
        """Open an escalation once; repeated clicks return the existing one."""
        with self.sessions() as session:
            interaction = session.get(Interaction, interaction_id)
            if interaction is None:
                raise NotFound(f"answer {interaction_id} not found")
        try:
            with self.sessions.begin() as session:
                escalation = Escalation(
                    interaction_id=interaction_id,
                    requested_by=user_id,
                    created_at=self.clock(),
                    team_channel_id="",
                    team_message_ts="",
                    status="open",
                    answered_by="",
                )
                session.add(escalation)
                session.flush()
                return EscalationResult(escalation.id, True, interaction)
        except IntegrityError:
            with self.sessions() as session:
                existing = session.scalars(
                    select(Escalation).where(Escalation.interaction_id == interaction_id)
                ).one()
                return EscalationResult(existing.id, False, interaction)

    def record_escalation_post(self, escalation_id: int, channel_id: str, ts: str) -> None:
        with self.sessions.begin() as session:
            escalation = session.get(Escalation, escalation_id)
            if escalation is not None:
                escalation.team_channel_id = channel_id
                escalation.team_message_ts = ts

    def escalation_for_team_thread(self, channel_id: str, thread_ts: str):
        """(escalation, interaction) for a change-team thread, or None."""
        with self.sessions() as session:
            row = session.execute(
                select(Escalation, Interaction)
                .join(Interaction, Interaction.id == Escalation.interaction_id)
                .where(
                    Escalation.team_channel_id == channel_id,
                    Escalation.team_message_ts == thread_ts,
                )
            ).first()
        return tuple(row) if row else None

    def mark_answered(self, escalation_id: int, user_id: str) -> tuple[Escalation, bool]:
        """Close an escalation; returns (escalation, changed) so a double click is harmless.

        A conditional UPDATE decides: of two clicks at the same moment only one changes it.
        """
        with self.sessions.begin() as session:
            result = session.execute(
                update(Escalation)
                .where(Escalation.id == escalation_id, Escalation.status == "open")
                .values(status="answered", answered_by=user_id, answered_at=self.clock())
            )
            changed = (result.rowcount or 0) == 1
        with self.sessions() as session:
            escalation = session.get(Escalation, escalation_id)
        if escalation is None:
            raise NotFound(f"escalation {escalation_id} not found")
        return escalation, changed

    # -- housekeeping ----------------------------------------------------------------------
    def first_time_event(self, event_id: str) -> bool:
        """True the first time a key is seen; False for a repeat: Slack's retries of an event,
        or a replayed click, modal submit or command (see bot/slack/app.py `replay_key`)."""
        try:
            with self.sessions.begin() as session:
                session.add(SlackEvent(event_id=event_id, received_at=self.clock()))
        except IntegrityError:
            return False
        return True

    def purge(self, *, event_ttl: dt.timedelta = dt.timedelta(hours=2)) -> tuple[int, int]:
        """Forget handled event ids past the retry window and questions past retention."""
        now = self.clock()
        with self.sessions.begin() as session:
            events = session.execute(
                delete(SlackEvent).where(SlackEvent.received_at < now - event_ttl)
            ).rowcount
            old = now - dt.timedelta(days=self.retention_days)
            old_ids = select(Interaction.id).where(Interaction.created_at < old)
            session.execute(delete(Feedback).where(Feedback.interaction_id.in_(old_ids)))
            session.execute(delete(Escalation).where(Escalation.interaction_id.in_(old_ids)))
            questions = session.execute(
                delete(Interaction).where(Interaction.created_at < old)
            ).rowcount
        return events or 0, questions or 0


def with_context(question: str, context: str | None) -> str:
    """Fold a thread's earlier question into a follow-up that leans on it."""
    question = " ".join(question.split())
    if not context:
        return question
    words = len(question.split())
    if words <= 6 or _ELLIPTICAL.match(question):
        return f"{context.strip()} {question}"
    return question

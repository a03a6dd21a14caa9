"""Survey runs, invitations and private responses: the write side of pulse surveys.

Who was asked and what was answered live in two tables that share no user id.
`survey_invitations` knows who was asked (for reminders and participation) and nothing
about answering; `survey_responses` holds the answers, the group labels and, while the
run is open, a pseudonymous key: an HMAC of run and user under a server secret, so the
same person's second submit finds and replaces their first. Who has answered is worked
out from those keys when it is needed (reminders, participation), so the database alone
does not say it. Responses hold no time at all: the run is the finest time there is.
When a run closes it is *sealed* (bot.surveys.sealing): invitations and keys go, and the
responses are rewritten so a copy of the database says no more than the reports.

Every method is safe to repeat: a run exists once per (survey, due date), a person
has one response per run however often they click, and a reminder is marked once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import SurveyInvitation, SurveyResponse, SurveyRun
from bot.surveys.answers import (  # callers catch these as bot.surveys.runs.*
    InvalidAnswers,  # noqa: F401
    NotInvited,
    SubmitResult,
    SurveyClosed,
    stored_attributes,
    validate_answers,
)
from bot.surveys.definitions import DIMENSIONS, Survey
from bot.surveys.reminders import reminder_moment
from bot.surveys.run_summary import summed_cells
from bot.surveys.scoring import Response
from bot.surveys.sealing import forget_who, seal_responses
from bot.surveys.sentiment import Labeller
from bot.surveys.stored_scores import default_labeller, ensure_scored, response_fields, scoring_key
from bot.surveys.suppression import Cell
from bot.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True)
class Run:
    """A survey run as read from the database, with aware UTC datetimes."""

    id: int
    survey_id: str
    due_date: dt.date
    opens_at: dt.datetime
    closes_at: dt.datetime
    status: str
    created_at: dt.datetime

    @classmethod
    def of(cls, row: SurveyRun) -> Run:
        return cls(
            id=row.id,
            survey_id=row.survey_id,
            due_date=row.due_date,
            opens_at=as_utc(row.opens_at),
            closes_at=as_utc(row.closes_at),
            status=row.status,
            created_at=as_utc(row.created_at),
        )


class SurveyRuns:
    """Runs, invitations and responses in the database.

    Args:
        secret: server secret for the respondent key; without it keys cannot be linked
            to people. Changing it orphans the keys of open runs (a resubmit adds a row).
        surveys: the current definitions by id, to validate answers against; `submit`
            can also be handed the survey directly.
        labeller: labels each comment when it is submitted; reports count the stored labels.
    """

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        secret: bytes,
        clock: Clock = utcnow,
        surveys: Callable[[], Mapping[str, Survey]] | None = None,
        labeller: Labeller | None = None,
    ) -> None:
        if not secret:
            raise ValueError("SurveyRuns needs a non-empty secret for the respondent key")
        self.sessions = session_factory
        self._secret = bytes(secret)
        self.clock = clock
        self.surveys = surveys
        self.labeller = labeller or default_labeller()

    # -- runs --------------------------------------------------------------------------
    def create_run(
        self,
        survey: Survey,
        due_date: dt.date,
        recipients: Iterable[str],
        *,
        opens_at: dt.datetime,
        closes_at: dt.datetime,
    ) -> tuple[Run, bool]:
        """Create the run for (survey, due date) with its invitations, or return the existing one.

        Run and invitations are written in one transaction, so a crash leaves both or
        neither; a second call (a restart, a second scheduler tick) changes nothing.
        """
        if closes_at <= opens_at:
            raise ValueError(f"closes_at {closes_at} must be after opens_at {opens_at}")
        existing = self.find_run(survey.id, due_date)
        if existing is not None:
            return existing, False
        now = as_utc(self.clock())
        people = list(dict.fromkeys(user for user in recipients if user))
        try:
            with self.sessions.begin() as session:
                row = SurveyRun(
                    survey_id=survey.id,
                    due_date=due_date,
                    opens_at=as_utc(opens_at),
                    closes_at=as_utc(closes_at),
                    status=OPEN,
                    created_at=now,
                    scored_with=scoring_key(survey),
                )
                session.add(row)
                session.flush()
                if people:
                    session.execute(
                        insert(SurveyInvitation),
                        [
                            {
                                "run_id": row.id,
                                "user_id": user,
                                "invited_at": now,
                                "delivered": False,
                            }
                            for user in people
                        ],
                    )
                run = Run.of(row)
        except IntegrityError:
            # Another process created it between our look and our insert.
            existing = self.find_run(survey.id, due_date)
            if existing is None:
                raise
            return existing, False
        return run, True

    def get_run(self, run_id: int) -> Run:
        with self.sessions() as session:
            row = session.get(SurveyRun, run_id)
        if row is None:
            raise LookupError(f"survey run {run_id} not found")
        return Run.of(row)

    def find_run(self, survey_id: str, due_date: dt.date) -> Run | None:
        with self.sessions() as session:
            row = session.scalars(
                select(SurveyRun).where(
                    SurveyRun.survey_id == survey_id, SurveyRun.due_date == due_date
                )
            ).first()
        return Run.of(row) if row else None

    def open_run(self, survey_id: str) -> Run | None:
        """The newest open run of a survey, or None."""
        return self._latest(survey_id, SurveyRun.status == OPEN)

    def latest_closed_run(self, survey_id: str) -> Run | None:
        return self._latest(survey_id, SurveyRun.status == CLOSED)

    def previous_closed_run(self, survey_id: str, before_run_id: int) -> Run | None:
        """The closed run of the same survey due most recently before `before_run_id`'s."""
        before = self.get_run(before_run_id)
        return self._latest(
            survey_id, SurveyRun.status == CLOSED, SurveyRun.due_date < before.due_date
        )

    def runs(self, survey_id: str) -> list[Run]:
        """Every run of a survey, oldest first (for trends)."""
        with self.sessions() as session:
            rows = session.scalars(
                select(SurveyRun)
                .where(SurveyRun.survey_id == survey_id)
                .order_by(SurveyRun.due_date)
            ).all()
        return [Run.of(row) for row in rows]

    def _latest(self, survey_id: str, *conditions) -> Run | None:
        with self.sessions() as session:
            row = session.scalars(
                select(SurveyRun)
                .where(SurveyRun.survey_id == survey_id, *conditions)
                .order_by(SurveyRun.due_date.desc())
                .limit(1)
            ).first()
        return Run.of(row) if row else None

    def close_due(self, now: dt.datetime) -> list[Run]:
        """Close the open runs whose window has ended; returns only those closed by this call.

        A conditional UPDATE per run decides, so two schedulers never both alert on one
        run. In the same transaction the run keeps its invited / delivered / answered
        counts and forgets who was invited and every respondent key; then its responses
        are sealed (see `seal`).
        """
        now = as_utc(now)
        closed = []
        with self.sessions() as session:
            ids = session.scalars(
                select(SurveyRun.id).where(SurveyRun.status == OPEN, SurveyRun.closes_at <= now)
            ).all()
        for run_id in ids:
            with self.sessions.begin() as session:
                result = session.execute(
                    update(SurveyRun)
                    .where(SurveyRun.id == run_id, SurveyRun.status == OPEN)
                    .values(status=CLOSED)
                )
                changed = (result.rowcount or 0) == 1
                if changed:
                    forget_who(session, run_id, self._count(session, run_id))
            if changed:
                self.seal(run_id)
                closed.append(self.get_run(run_id))
        return closed

    def seal(self, run_id: int, *, survey: Survey | None = None) -> bool:
        """Rewrite a closed run's responses so the table says no more than the reports.

        Needs the survey's definition (its items and threshold); while it is missing (a
        file with an error) the run stays unsealed and the hourly purge tries again.
        False when there was nothing to do.
        """
        run = self.get_run(run_id)
        if run.status != CLOSED:
            raise ValueError(f"survey run {run_id} is still open; only a closed run is sealed")
        try:
            survey = survey or self._survey(run.survey_id)
        except LookupError:
            log.warning("Run %s of %s stays unsealed: no such survey now", run_id, run.survey_id)
            return False
        with self.sessions.begin() as session:
            row = session.get(SurveyRun, run_id, populate_existing=True)
            if row.sealed:
                return False
            ensure_scored(session, survey, run_id, self.labeller)
            seal_responses(session, survey, run_id)
            row.sealed = True  # flushed by the next query (autoflush)
            summed_cells(session, survey, run_id, self.labeller)  # kept for its reports
        return True

    def seal_closed(self) -> int:
        """Seal every closed run not sealed yet (e.g. closed before sealing existed)."""
        with self.sessions() as session:
            ids = session.scalars(
                select(SurveyRun.id).where(SurveyRun.status == CLOSED, SurveyRun.sealed.is_(False))
            ).all()
        return sum(1 for run_id in ids if self.seal(run_id))

    # -- invitations -------------------------------------------------------------------
    def invited(self, run_id: int) -> set[str]:
        """Who an open run invited (empty once it has closed: the list is deleted then)."""
        with self.sessions() as session:
            return set(
                session.scalars(
                    select(SurveyInvitation.user_id).where(SurveyInvitation.run_id == run_id)
                )
            )

    def mark_delivered(self, run_id: int, user_id: str) -> bool:
        """Record that the invitation DM reached the person (reminders go only to them)."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(SurveyInvitation)
                .where(
                    SurveyInvitation.run_id == run_id,
                    SurveyInvitation.user_id == user_id,
                    SurveyInvitation.delivered.is_(False),
                )
                .values(delivered=True)
            )
        return (result.rowcount or 0) == 1

    def due_reminders(
        self,
        now: dt.datetime,
        tz_of: Callable[[str], str],
        *,
        survey_ids: Collection[str] | None = None,
    ) -> list[tuple[int, str]]:
        """(run id, user id) of delivered, unanswered, unreminded invitations due a reminder.

        A reminder is due from the half-way point of the run's window; when that falls on
        a Saturday or Sunday in the person's time zone, from Monday 09:00 there instead,
        and never once the run has closed.
        """
        now = as_utc(now)
        due: list[tuple[int, str]] = []
        with self.sessions() as session:
            conditions = [SurveyRun.status == OPEN, SurveyRun.closes_at > now]
            if survey_ids is not None:
                conditions.append(SurveyRun.survey_id.in_(list(survey_ids)))
            runs = [Run.of(row) for row in session.scalars(select(SurveyRun).where(*conditions))]
            for run in sorted(runs, key=lambda r: r.id):
                halfway = run.opens_at + (run.closes_at - run.opens_at) / 2
                if halfway > now:
                    continue
                users = session.scalars(
                    select(SurveyInvitation.user_id)
                    .where(
                        SurveyInvitation.run_id == run.id,
                        SurveyInvitation.delivered.is_(True),
                        SurveyInvitation.reminded_at.is_(None),
                    )
                    .order_by(SurveyInvitation.user_id)
                ).all()
                answered = self._answered(session, run.id, users)
                for user_id in users:
                    moment = reminder_moment(halfway, tz_of(user_id))
                    if user_id not in answered and moment <= now < run.closes_at:
                        due.append((run.id, user_id))
        return due

    def mark_reminded(self, run_id: int, user_id: str, at: dt.datetime | None = None) -> bool:
        """Record a reminder once; False when it had already been recorded."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(SurveyInvitation)
                .where(
                    SurveyInvitation.run_id == run_id,
                    SurveyInvitation.user_id == user_id,
                    SurveyInvitation.reminded_at.is_(None),
                )
                .values(reminded_at=as_utc(at or self.clock()))
            )
        return (result.rowcount or 0) == 1

    def participation(self, run_id: int) -> tuple[int, int]:
        """(invited, answered) for one run."""
        status = self.status(run_id)
        return status["invited"], status["answered"]

    def status(self, run_id: int) -> dict[str, int]:
        """How many were invited, reached by the DM, and have answered."""
        with self.sessions() as session:
            row = session.get(SurveyRun, run_id)
            if row is not None and row.invited_count is not None:
                return {
                    "invited": row.invited_count,
                    "delivered": row.delivered_count or 0,
                    "answered": row.answered_count or 0,
                }
            return self._count(session, run_id)

    def _count(self, session: Session, run_id: int) -> dict[str, int]:
        invited, delivered = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((SurveyInvitation.delivered, 1), else_=0)), 0),
            ).where(SurveyInvitation.run_id == run_id)
        ).one()
        # Only invited people can submit, once per key: the keyed responses are who answered.
        keyed = SurveyResponse.respondent_key.is_not(None)
        answered = session.scalar(
            select(func.count()).where(SurveyResponse.run_id == run_id, keyed)
        )
        return {"invited": invited, "delivered": int(delivered), "answered": int(answered or 0)}

    def _answered(self, session: Session, run_id: int, users: Iterable[str]) -> set[str]:
        """Which of `users` have a response: found by their keys, as nothing else says it."""
        keys = set(
            session.scalars(
                select(SurveyResponse.respondent_key).where(
                    SurveyResponse.run_id == run_id, SurveyResponse.respondent_key.is_not(None)
                )
            )
        )
        return {user for user in users if self.respondent_key(run_id, user) in keys}

    # -- responses ---------------------------------------------------------------------
    def respondent_key(self, run_id: int, user_id: str) -> str:
        """The pseudonymous key of one person's response to one run (hex HMAC-SHA256)."""
        message = f"{run_id}:{user_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def submit(
        self,
        run_id: int,
        user_id: str,
        answers: Mapping[str, object],
        attributes: Mapping[str, object] | None = None,
        *,
        survey: Survey | None = None,
    ) -> SubmitResult:
        """Store one person's answers to a run; a repeat or a change replaces the earlier ones.

        Raises:
            LookupError: no such run, or (NotInvited) the person was not invited to it.
            SurveyClosed: the run has closed; `closed_on` says when.
            InvalidAnswers: the answers do not fit the survey's questions.
        """
        run = self.get_run(run_id)
        self._check_open(run)
        survey = survey or self._survey(run.survey_id)
        clean = validate_answers(survey, answers)
        fields = response_fields(survey, clean, self.labeller)
        kept, key = stored_attributes(attributes), self.respondent_key(run_id, user_id)
        with self.sessions.begin() as session:
            # Touching the invitation (an update that changes nothing) locks it — a row lock
            # on PostgreSQL, the write lock on SQLite — so two submits by one person run one
            # after the other. It records nothing: who answered is not stored anywhere.
            result = session.execute(
                update(SurveyInvitation)
                .where(SurveyInvitation.run_id == run_id, SurveyInvitation.user_id == user_id)
                .values(user_id=SurveyInvitation.user_id)
            )
            self._check_open(Run.of(row := session.get(SurveyRun, run_id, populate_existing=True)))
            if row.scored_with != scoring_key(survey):
                row.scored_with = None  # scored under another definition: rescored at close
            if (result.rowcount or 0) == 0:
                raise NotInvited(f"{user_id} was not invited to survey run {run_id}")
            existing = session.scalars(
                select(SurveyResponse).where(
                    SurveyResponse.run_id == run_id, SurveyResponse.respondent_key == key
                )
            ).first()
            if existing is None:
                session.add(
                    SurveyResponse(
                        id=uuid.uuid4().hex,
                        run_id=run_id,
                        respondent_key=key,
                        answers=clean,
                        attributes=kept,
                        **fields,
                    )
                )
                return SubmitResult(stored=True, replaced=False)
            if existing.answers == clean and existing.attributes == kept:
                return SubmitResult(stored=False, replaced=False)
            for name, value in {"answers": clean, "attributes": kept, **fields}.items():
                setattr(existing, name, value)  # the stored scores follow the answers
            return SubmitResult(stored=True, replaced=True)

    def _check_open(self, run: Run) -> None:
        now = as_utc(self.clock())
        if run.status == CLOSED or now >= run.closes_at:
            closed_at = min(now, run.closes_at)
            raise SurveyClosed(closed_at.date(), closed_at)

    def _survey(self, survey_id: str) -> Survey:
        survey = (self.surveys() if self.surveys else {}).get(survey_id)
        if survey is None:
            raise LookupError(
                f"survey '{survey_id}' is no longer defined, so its answers cannot be checked"
            )
        return survey

    def responses(self, run_id: int) -> list[Response]:
        """Every response to a run, as plain answers and attributes (no keys, no times)."""
        with self.sessions() as session:
            rows = session.execute(
                select(SurveyResponse.answers, SurveyResponse.attributes)
                .where(SurveyResponse.run_id == run_id)
                .order_by(SurveyResponse.id)
            ).all()
        return [Response(answers=dict(a), attributes=dict(b or {})) for a, b in rows]

    def cells(
        self,
        survey: Survey,
        run_id: int,
        *,
        dimensions: Collection[str] = DIMENSIONS,
        comments: bool = False,
    ) -> list[Cell]:
        """The run's cells (per group labels), as bot.surveys.run_summary keeps or sums them."""
        with self.sessions.begin() as session:
            return summed_cells(
                session, survey, run_id, self.labeller, dimensions=dimensions, comments=comments
            )

"""Survey runs, invitations and private responses: the write side of pulse surveys.

Who answered and what they answered live in two tables that share no user id.
`survey_invitations` knows who was asked and whether they answered (for reminders and
participation); `survey_responses` holds the answers under a pseudonymous key, an
HMAC of run and user under a server secret: the same person's second submit finds
and replaces their first, but nobody reading the table can tell whose answers it holds
without the secret. Responses keep only department, team and location, never a name.

Every method is safe to repeat: a run exists once per (survey, due date), a person
has one response per run however often they click, and a reminder is marked once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Float, Text, case, cast, column, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import SurveyInvitation, SurveyResponse, SurveyRun
from bot.surveys.definitions import DIMENSIONS, Question, Survey
from bot.surveys.scoring import NOT_RECORDED, Response, item_score
from bot.timeutil import as_utc, utcnow, zone

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
OPEN, CLOSED = "open", "closed"
ATTRIBUTES = ("department", "team", "location")  # all a response may say about its author
MAX_TEXT = 3000  # Slack's limit for a plain-text input
REMINDER_TIME = dt.time(9, 0)  # a reminder due at the weekend waits for Monday, 09:00 local


class SurveyClosed(Exception):
    """The run no longer takes answers. `closed_at` (UTC) lets a caller show local time."""

    def __init__(self, closed_on: dt.date, closed_at: dt.datetime | None = None) -> None:
        super().__init__(f"This survey closed on {closed_on:%A %d %B %Y}.")
        self.closed_on = closed_on
        self.closed_at = closed_at


class InvalidAnswers(ValueError):
    """Answers that do not fit the survey's questions; `problems` lists each one."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class NotInvited(LookupError):
    """The person was not invited to this run, so their answers cannot be counted."""


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


@dataclass(frozen=True)
class SubmitResult:
    """`stored`: the answers given are now the stored ones (False: the same were already
    there, e.g. a double click). `replaced`: an earlier, different response was overwritten."""

    stored: bool
    replaced: bool


@dataclass(frozen=True)
class GroupStats:
    """Aggregates of one group's responses, computed in SQL.

    `total` counts every response (the comment threshold uses it), `scored` those with
    at least one scale answer (the score threshold uses it); `means` are 1..5 means
    per dimension over respondents, and `counts` how many respondents each mean is over.
    `comments` are the group's non-empty text answers, when asked for, in no set order.
    """

    total: int
    scored: int
    means: dict[str, float | None]
    counts: dict[str, int]
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunStats:
    by: str
    groups: dict[str, GroupStats]

    @property
    def overall(self) -> GroupStats:
        """Everyone together: each dimension's mean weighted by its respondents per group."""
        means: dict[str, float | None] = {}
        counts: dict[str, int] = {}
        for dimension in DIMENSIONS:
            n = sum(group.counts[dimension] for group in self.groups.values())
            total = sum(
                (group.means[dimension] or 0.0) * group.counts[dimension]
                for group in self.groups.values()
            )
            counts[dimension] = n
            means[dimension] = total / n if n else None
        return GroupStats(
            total=sum(group.total for group in self.groups.values()),
            scored=sum(group.scored for group in self.groups.values()),
            means=means,
            counts=counts,
        )


def reminder_moment(moment: dt.datetime, tz: str) -> dt.datetime:
    """`moment`, or Monday 09:00 in `tz` when it falls on a Saturday or Sunday there (UTC)."""
    local_zone = zone(tz)
    local = as_utc(moment).astimezone(local_zone)
    if local.weekday() < 5:
        return as_utc(moment)
    monday = local.date() + dt.timedelta(days=7 - local.weekday())
    return dt.datetime.combine(monday, REMINDER_TIME, tzinfo=local_zone).astimezone(dt.UTC)


def validate_answers(survey: Survey, answers: Mapping[str, object]) -> dict[str, int | str]:
    """The answers to store: checked against the questions, blanks and None left out.

    Raises:
        InvalidAnswers: naming every unknown question, bad value and missing required answer.
    """
    if not isinstance(answers, Mapping):
        raise InvalidAnswers(
            [f"answers must be a mapping of question id to answer, not {answers!r}"]
        )
    questions = {question.id: question for question in survey.questions}
    problems: list[str] = []
    clean: dict[str, int | str] = {}
    wrong: set[str] = set()
    for question_id, value in answers.items():
        question = questions.get(question_id)
        if question is None:
            problems.append(f"'{question_id}' is not a question of survey '{survey.id}'")
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # left blank
        problem = _check(question, value)
        if problem:
            problems.append(problem)
            wrong.add(question_id)
        else:
            clean[question_id] = value.strip() if isinstance(value, str) else value
    problems += [
        f"'{question.id}' needs an answer"
        for question in survey.questions
        if question.required and question.id not in clean and question.id not in wrong
    ]
    if problems:
        raise InvalidAnswers(problems)
    return clean


def _check(question: Question, value: object) -> str | None:
    if question.is_scale:
        try:
            item_score(question, value)  # type: ignore[arg-type]
        except ValueError as exc:
            return str(exc)
        return None
    if question.type == "choice":
        if value not in question.options:
            return f"answer {value!r} to '{question.id}' is not one of its options"
        return None
    if not isinstance(value, str):
        return f"answer to '{question.id}' must be text, not {type(value).__name__}"
    if len(value) > MAX_TEXT:
        return f"answer to '{question.id}' is longer than {MAX_TEXT} characters"
    return None


def _attributes(attributes: Mapping[str, object] | None) -> dict[str, str]:
    """Only department, team and location, as text; anything else is not stored."""
    kept = {}
    for key in ATTRIBUTES:
        value = (attributes or {}).get(key)
        if value is not None and str(value).strip():
            kept[key] = str(value).strip()
    return kept


class SurveyRuns:
    """Runs, invitations and responses in the database.

    Args:
        secret: server secret for the respondent key; without it keys cannot be linked
            to people. Changing it orphans the keys of open runs (a resubmit adds a row).
        surveys: the current definitions by id, to validate answers against; `submit`
            can also be handed the survey directly.
    """

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        secret: bytes,
        clock: Clock = utcnow,
        surveys: Callable[[], Mapping[str, Survey]] | None = None,
    ) -> None:
        if not secret:
            raise ValueError("SurveyRuns needs a non-empty secret for the respondent key")
        self.sessions = session_factory
        self._secret = bytes(secret)
        self.clock = clock
        self.surveys = surveys

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

        A conditional UPDATE per run decides, so two schedulers never both alert on one run.
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
                closed.append(self.get_run(run_id))
        return closed

    # -- invitations -------------------------------------------------------------------
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
                        SurveyInvitation.answered_at.is_(None),
                        SurveyInvitation.reminded_at.is_(None),
                    )
                    .order_by(SurveyInvitation.user_id)
                ).all()
                for user_id in users:
                    moment = reminder_moment(halfway, tz_of(user_id))
                    if moment <= now < run.closes_at:
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
            invited, delivered, answered = session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((SurveyInvitation.delivered, 1), else_=0)), 0),
                    func.count(SurveyInvitation.answered_at),
                ).where(SurveyInvitation.run_id == run_id)
            ).one()
        return {"invited": invited, "delivered": delivered, "answered": answered}

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
        kept = _attributes(attributes)
        key = self.respondent_key(run_id, user_id)
        now = as_utc(self.clock())
        # Only the day is kept, in both tables: an exact answer time in invitations would
        # let anyone pair responses with people by the order they arrived in.
        day = dt.datetime.combine(now.date(), dt.time(), tzinfo=dt.UTC)
        with self.sessions.begin() as session:
            # Writing the invitation first locks it (a row lock on PostgreSQL, the write
            # lock on SQLite), so two submits by one person run one after the other.
            result = session.execute(
                update(SurveyInvitation)
                .where(SurveyInvitation.run_id == run_id, SurveyInvitation.user_id == user_id)
                .values(answered_at=func.coalesce(SurveyInvitation.answered_at, day))
            )
            if (result.rowcount or 0) == 0:
                raise NotInvited(f"{user_id} was not invited to survey run {run_id}")
            self._check_open(Run.of(session.get(SurveyRun, run_id, populate_existing=True)))
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
                        submitted_at=day,
                    )
                )
                return SubmitResult(stored=True, replaced=False)
            if existing.answers == clean and existing.attributes == kept:
                return SubmitResult(stored=False, replaced=False)
            existing.answers = clean
            existing.attributes = kept
            existing.submitted_at = day
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

    # -- aggregates in SQL, for reports on large runs ---------------------------------
    def run_stats(
        self,
        survey: Survey,
        run_id: int,
        by: str = "department",
        *,
        dimensions: Collection[str] = DIMENSIONS,
        comments: bool = False,
    ) -> RunStats:
        """Per-group counts, 1..5 means of `dimensions` and, if asked, comments: one scan.

        Matches bot.surveys.scoring: a respondent's dimension score is the mean of the
        items they answered, and each respondent counts once in the group's mean. Leaving
        dimensions out (None, count 0) saves reading their answers; `scored` still counts
        every scale item, so group sizes and suppression never depend on `dimensions`.
        """
        questions = [q for q in survey.scale_questions if q.dimension in dimensions]
        text_ids = [q.id for q in survey.questions if q.type == "text"] if comments else []
        wanted = [d for d in DIMENSIONS if any(q.dimension == d for q in questions)]
        with self.sessions() as session:
            query = _stats_query(
                session.get_bind().dialect.name,
                run_id,
                by,
                survey.scale_questions,
                questions,
                text_ids,
                wanted,
            )
            rows = session.execute(query).all()
        groups = {}
        for row in rows:
            data = row._mapping
            texts = []
            for number in range(len(text_ids)):
                found = data[f"t{number}"]
                found = json.loads(found) if isinstance(found, str) else found
                texts += [t.strip() for t in found or () if isinstance(t, str) and t.strip()]
            groups[data["grp"]] = GroupStats(
                total=int(data["total"]),
                scored=int(data["scored"] or 0),
                means={
                    d: None if d not in wanted or data[f"m_{d}"] is None else float(data[f"m_{d}"])
                    for d in DIMENSIONS
                },
                counts={d: int(data[f"n_{d}"]) if d in wanted else 0 for d in DIMENSIONS},
                comments=tuple(texts),
            )
        return RunStats(by=by, groups=groups)


def _stats_query(dialect: str, run_id: int, by: str, scale, questions, text_ids, dimensions):
    """SELECT per group: total, scored, avg and count per dimension, comments as JSON arrays.

    Each answer is read from the JSON once per row. On SQLite the query is built in layers
    that must not be merged (that would repeat the reading at every use); SQLite keeps a
    subquery with a LIMIT apart. PostgreSQL parses each row's answers once with
    json_to_record, twice as fast as casting to jsonb, and may then merge the layers.
    `scored` is a CASE over every scale item (`scale`), which stops at the first answer.
    """

    def fenced(query):
        # PostgreSQL's record columns are cheap to reuse: there the layers may be merged.
        return (query.limit(-1) if dialect == "sqlite" else query).subquery()

    source = SurveyResponse.__table__
    if dialect == "postgresql":
        record = (
            func.json_to_record(SurveyResponse.answers)
            .table_valued(
                *(column(q.id, Float) for q in scale), *(column(t, Text) for t in text_ids)
            )
            .render_derived(with_types=True)
        )
        source = source.join(record, true())
        number = text = record.c.__getitem__
    else:
        answers = SurveyResponse.answers
        number, text = (lambda key: answers[key].as_float()), (lambda key: answers[key].as_string())
    attribute = SurveyResponse.attributes[_attribute(by)].as_string()
    scored = case(*((number(q.id).is_not(None), 1) for q in scale), else_=0)
    values = fenced(
        select(
            func.coalesce(func.nullif(attribute, ""), NOT_RECORDED).label("grp"),
            scored.label("scored"),
            *(_item_score(q, number(q.id)).label(f"s{i}") for i, q in enumerate(questions)),
            *(text(t).label(f"t{i}") for i, t in enumerate(text_ids)),
        )
        .select_from(source)
        .where(SurveyResponse.run_id == run_id)
    )
    scores = {q.id: values.c[f"s{i}"] for i, q in enumerate(questions)}
    per_person = fenced(
        select(
            values.c.grp,
            values.c.scored,
            *(
                _respondent_mean([scores[q.id] for q in questions if q.dimension == d]).label(d)
                for d in dimensions
            ),
            *(values.c[f"t{i}"] for i in range(len(text_ids))),
        )
    )
    columns = [per_person.c.grp, func.count().label("total"), func.sum(per_person.c.scored)]
    columns[-1] = columns[-1].label("scored")
    for d in dimensions:
        columns += [func.avg(per_person.c[d]).label(f"m_{d}"), func.count(per_person.c[d])]
        columns[-1] = columns[-1].label(f"n_{d}")
    aggregate = func.json_agg if dialect == "postgresql" else func.json_group_array
    for i in range(len(text_ids)):
        comment = per_person.c[f"t{i}"]
        columns.append(aggregate(comment).filter(comment.is_not(None)).label(f"t{i}"))
    return select(*columns).group_by(per_person.c.grp)


def _attribute(by: str) -> str:
    if by not in ATTRIBUTES:
        raise ValueError(f"cannot group by {by!r}; use one of {', '.join(ATTRIBUTES)}")
    return by


def _item_score(question: Question, value):
    """scoring.item_score in SQL: the answer on the 1..5 scale, reverse items flipped."""
    score = value if question.type == "likert5" else 1.0 + value * 0.4
    return 6.0 - score if question.reverse else score


def _respondent_mean(scores: list):
    """The mean of the item scores a respondent has in one dimension; NULL if none."""
    if len(scores) == 1:
        return scores[0]
    total = sum((func.coalesce(score, 0.0) for score in scores[1:]), func.coalesce(scores[0], 0.0))
    answered = sum(
        (case((score.is_not(None), 1), else_=0) for score in scores[1:]),
        case((scores[0].is_not(None), 1), else_=0),
    )
    return total / cast(func.nullif(answered, 0), Float)  # not NUMERIC: PostgreSQL is slow at it

"""Survey runs and responses in the database: once per run, once per person, never named."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from bot.store.db import make_session_factory
from bot.store.models import SurveyInvitation, SurveyResponse, SurveyRun
from bot.surveys.definitions import Survey
from bot.surveys.runs import (
    InvalidAnswers,
    NotInvited,
    SubmitResult,
    SurveyClosed,
    SurveyRuns,
    reminder_moment,
)
from bot.surveys.scoring import Response
from bot.surveys.stored_scores import SCORE_COLUMNS, SENTIMENT_COLUMNS

SECRET = b"test-secret-0123456789"
UTC = dt.UTC

SURVEY = Survey.model_validate(
    {
        "id": "pulse",
        "title": "Pulse",
        "intro": "Anonymous.",
        "cadence": {"weekly": {"day": "mon"}},
        "response_window_days": 5,
        "anonymity": {"scores": 3, "comments": 4},
        "questions": [
            {"id": "res", "text": "Extra work.", "type": "likert5", "dimension": "resistance"},
            {"id": "conf", "text": "I will cope.", "type": "scale0_10", "dimension": "confidence"},
            {
                "id": "role",
                "text": "Role?",
                "type": "choice",
                "options": ["IC", "Manager"],
                "required": False,
            },
            {"id": "comment", "text": "Anything else?", "type": "text"},
        ],
    }
)
GOOD = {"res": 4, "conf": 7}
# Realistic Slack member ids: none of them may ever reach survey_responses.
PEOPLE = ["U07ANA0001", "U07BEN0002", "U07CAI0003", "W01DEV0004"]

OPENS = dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday
CLOSES = dt.datetime(2026, 3, 6, 17, 0, tzinfo=UTC)  # Friday


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def sessions(db_engine):
    return make_session_factory(db_engine)


@pytest.fixture
def runs(sessions, clock) -> SurveyRuns:
    return SurveyRuns(
        session_factory=sessions, secret=SECRET, clock=clock, surveys=lambda: {SURVEY.id: SURVEY}
    )


def new_run(runs: SurveyRuns, people=PEOPLE, day=dt.date(2026, 3, 2), opens=OPENS, closes=CLOSES):
    run, created = runs.create_run(SURVEY, day, list(people), opens_at=opens, closes_at=closes)
    assert created
    return run


def count(sessions, model, **where) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query)


def as_utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes (stored as UTC), PostgreSQL aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- runs -----------------------------------------------------------------------------------
def test_creating_a_run_twice_gives_the_same_run_and_invites_once(runs, sessions):
    first, created = runs.create_run(
        SURVEY, dt.date(2026, 3, 2), [*PEOPLE, PEOPLE[0]], opens_at=OPENS, closes_at=CLOSES
    )
    again, created_again = runs.create_run(
        SURVEY, dt.date(2026, 3, 2), [*PEOPLE, "U07NEW0005"], opens_at=OPENS, closes_at=CLOSES
    )
    assert (created, created_again) == (True, False)
    assert again == first
    assert first.opens_at == OPENS and first.closes_at == CLOSES and first.status == "open"
    assert count(sessions, SurveyRun) == 1
    assert count(sessions, SurveyInvitation, run_id=first.id) == len(PEOPLE)
    assert runs.status(first.id) == {"invited": 4, "delivered": 0, "answered": 0}


def test_the_database_refuses_a_second_run_for_the_same_date(runs, sessions):
    run = new_run(runs)
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(
            SurveyRun(
                survey_id=run.survey_id,
                due_date=run.due_date,
                opens_at=OPENS,
                closes_at=CLOSES,
                status="open",
                created_at=OPENS,
            )
        )


def test_concurrent_run_creation_makes_one_run(runs, sessions):
    barrier = threading.Barrier(4)
    results: list = []

    def create() -> None:
        barrier.wait()
        results.append(
            runs.create_run(SURVEY, dt.date(2026, 3, 9), PEOPLE, opens_at=OPENS, closes_at=CLOSES)
        )

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len({run.id for run, _ in results}) == 1
    assert count(sessions, SurveyRun) == 1
    assert count(sessions, SurveyInvitation) == len(PEOPLE)


def test_runs_are_found_by_state(runs, clock):
    older = new_run(
        runs,
        day=dt.date(2026, 2, 16),
        opens=OPENS - dt.timedelta(days=14),
        closes=CLOSES - dt.timedelta(days=14),
    )
    old = new_run(
        runs,
        day=dt.date(2026, 2, 23),
        opens=OPENS - dt.timedelta(days=7),
        closes=CLOSES - dt.timedelta(days=7),
    )
    assert [run.id for run in runs.close_due(clock())] == [older.id, old.id]
    current = new_run(runs)
    assert runs.open_run("pulse") == current
    assert runs.latest_closed_run("pulse").id == old.id
    assert runs.previous_closed_run("pulse", current.id).id == old.id
    assert runs.previous_closed_run("pulse", old.id).id == older.id
    assert runs.previous_closed_run("pulse", older.id) is None
    assert runs.open_run("other") is None
    assert [run.id for run in runs.runs("pulse")] == [older.id, old.id, current.id]
    assert runs.find_run("pulse", dt.date(2026, 2, 23)).id == old.id
    with pytest.raises(LookupError):
        runs.get_run(999)


def test_close_due_closes_each_run_once_and_only_when_its_window_ends(runs, clock):
    run = new_run(runs)
    assert runs.close_due(CLOSES - dt.timedelta(seconds=1)) == []
    closed = runs.close_due(CLOSES)
    assert [item.id for item in closed] == [run.id]
    assert closed[0].status == "closed"
    assert runs.close_due(CLOSES + dt.timedelta(days=1)) == []  # no second alert
    assert runs.get_run(run.id).status == "closed"


# -- the pseudonymous key ---------------------------------------------------------------------
def test_respondent_key_is_an_hmac_of_run_and_user_under_the_secret(runs, sessions):
    key = runs.respondent_key(7, "U07ANA0001")
    assert key == hmac.new(SECRET, b"7:U07ANA0001", hashlib.sha256).hexdigest()
    assert len(key) == 64 and int(key, 16) >= 0
    assert runs.respondent_key(8, "U07ANA0001") != key  # not linkable across runs
    other = SurveyRuns(session_factory=sessions, secret=b"another-secret")
    assert other.respondent_key(7, "U07ANA0001") != key  # useless without the secret
    with pytest.raises(ValueError, match="secret"):
        SurveyRuns(session_factory=sessions, secret=b"")


def test_no_slack_user_id_is_stored_with_the_answers(runs, db_engine):
    run = new_run(runs)
    for number, user in enumerate(PEOPLE):
        runs.submit(
            run.id,
            user,
            {"res": 1 + number, "conf": 2 * number, "comment": f"note from person {number}"},
            {
                "department": "Data",
                "team": "Platform",
                "location": "Leeds",
                # whatever the caller hands over, only the three group attributes are kept
                "user_id": user,
                "email": f"{user.lower()}@example.com",
                "real_name": "Ana Ng",
            },
        )
    columns = {column["name"] for column in inspect(db_engine).get_columns("survey_responses")}
    # The stored scores and comment labels are figures computed from the answers (issue 12).
    computed = {"scored", "comments", *SCORE_COLUMNS.values(), *SENTIMENT_COLUMNS.values()}
    assert columns == {"id", "run_id", "respondent_key", "answers", "attributes", *computed}
    with db_engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM survey_responses")).mappings().all()
    assert len(rows) == len(PEOPLE)
    stored = " ".join(
        json.dumps(value) if isinstance(value, dict | list) else str(value)
        for row in rows
        for value in row.values()
    )
    for user in PEOPLE:
        assert user not in stored
        assert user.lower() not in stored.lower()
    assert "example.com" not in stored and "Ana Ng" not in stored
    for row in rows:
        attributes = row["attributes"]
        attributes = json.loads(attributes) if isinstance(attributes, str) else attributes
        assert attributes == {"department": "Data", "team": "Platform", "location": "Leeds"}
    keys = {row["respondent_key"] for row in rows}
    assert keys == {runs.respondent_key(run.id, user) for user in PEOPLE}


def test_response_ids_are_random_not_a_sequence(runs, clock):
    run = new_run(runs)
    for minutes, user in enumerate(PEOPLE):
        clock.now = dt.datetime(2026, 3, 3, 10, minutes * 7, 13, tzinfo=UTC)
        runs.submit(run.id, user, GOOD)
    with runs.sessions() as session:
        ids = session.scalars(select(SurveyResponse.id)).all()
    assert all(len(response_id) == 32 and not response_id.isdigit() for response_id in ids)


# -- submitting -------------------------------------------------------------------------------
def test_a_double_click_stores_one_response(runs, sessions):
    run = new_run(runs)
    first = runs.submit(run.id, PEOPLE[0], GOOD, {"department": "Data"})
    second = runs.submit(run.id, PEOPLE[0], GOOD, {"department": "Data"})
    assert first == SubmitResult(stored=True, replaced=False)
    assert second == SubmitResult(stored=False, replaced=False)
    assert count(sessions, SurveyResponse, run_id=run.id) == 1
    assert runs.participation(run.id) == (4, 1)


def test_a_change_before_close_replaces_the_earlier_answers(runs, sessions, clock):
    run = new_run(runs)
    runs.submit(run.id, PEOPLE[0], {**GOOD, "comment": "first thoughts"}, {"department": "Data"})
    clock.now = CLOSES - dt.timedelta(minutes=1)
    result = runs.submit(run.id, PEOPLE[0], {"res": 2, "conf": 9}, {"department": "Ops"})
    assert result == SubmitResult(stored=True, replaced=True)
    assert runs.responses(run.id) == [
        Response(answers={"res": 2, "conf": 9}, attributes={"department": "Ops"})
    ]
    assert runs.participation(run.id) == (4, 1)  # answered once, however often


@pytest.mark.parametrize("closed_by", ["time", "status"])
def test_submitting_after_close_says_when_it_closed(runs, sessions, clock, closed_by):
    run = new_run(runs)
    if closed_by == "time":
        clock.now = CLOSES  # the window is [opens_at, closes_at)
        expected = CLOSES.date()
    else:
        clock.now = CLOSES - dt.timedelta(days=2)
        with sessions.begin() as session:
            session.get(SurveyRun, run.id).status = "closed"
        expected = clock.now.date()
    with pytest.raises(SurveyClosed) as caught:
        runs.submit(run.id, PEOPLE[0], GOOD)
    assert caught.value.closed_on == expected
    assert caught.value.closed_at == (CLOSES if closed_by == "time" else clock.now)
    assert expected.strftime("%d %B %Y") in str(caught.value)
    assert count(sessions, SurveyResponse) == 0
    assert runs.participation(run.id) == (4, 0)


@pytest.mark.parametrize(
    ("answers", "problem"),
    [
        ({**GOOD, "salary": 3}, "'salary' is not a question of survey 'pulse'"),
        ({"res": 6, "conf": 7}, "answer 6 to 'res' is not a whole number 1..5"),
        ({"res": 0, "conf": 7}, "answer 0 to 'res' is not a whole number 1..5"),
        ({"res": 4, "conf": 11}, "answer 11 to 'conf' is not a whole number 0..10"),
        ({"res": 4.5, "conf": 7}, "answer 4.5 to 'res' is not a whole number 1..5"),
        ({"res": True, "conf": 7}, "answer True to 'res' is not a whole number 1..5"),
        ({"res": "4", "conf": 7}, "answer '4' to 'res' is not a whole number 1..5"),
        ({**GOOD, "role": "CEO"}, "answer 'CEO' to 'role' is not one of its options"),
        ({**GOOD, "comment": 42}, "answer to 'comment' must be text, not int"),
        ({**GOOD, "comment": "x" * 3001}, "answer to 'comment' is longer than 3000 characters"),
        ({"res": 4}, "'conf' needs an answer"),
        ({"res": 4, "conf": None}, "'conf' needs an answer"),
    ],
)
def test_invalid_answers_are_rejected_with_a_reason(runs, sessions, answers, problem):
    run = new_run(runs)
    with pytest.raises(InvalidAnswers) as caught:
        runs.submit(run.id, PEOPLE[0], answers)
    assert caught.value.problems == [problem]
    assert count(sessions, SurveyResponse) == 0
    assert runs.participation(run.id) == (4, 0)


def test_every_problem_is_reported_at_once(runs):
    run = new_run(runs)
    with pytest.raises(InvalidAnswers) as caught:
        runs.submit(run.id, PEOPLE[0], {"res": 9, "nope": 1})
    assert len(caught.value.problems) == 3
    assert "'nope'" in str(caught.value) and "'conf' needs an answer" in str(caught.value)


def test_optional_and_blank_answers(runs):
    run = new_run(runs)
    runs.submit(run.id, PEOPLE[0], {**GOOD, "role": "IC", "comment": "  spaced out  "})
    runs.submit(run.id, PEOPLE[1], {**GOOD, "role": None, "comment": "   "})
    assert sorted(runs.responses(run.id), key=lambda r: len(r.answers)) == [
        Response(answers=GOOD),
        Response(answers={**GOOD, "role": "IC", "comment": "spaced out"}),
    ]


def test_unknown_runs_and_uninvited_people_are_refused(runs, sessions):
    run = new_run(runs)
    with pytest.raises(LookupError, match="999"):
        runs.submit(999, PEOPLE[0], GOOD)
    with pytest.raises(NotInvited):
        runs.submit(run.id, "U07STRANGER", GOOD)
    assert count(sessions, SurveyResponse) == 0


def test_answers_are_checked_against_the_survey_given(sessions, clock):
    runs = SurveyRuns(session_factory=sessions, secret=SECRET, clock=clock)  # no definitions
    run = new_run(runs)
    with pytest.raises(LookupError, match="no longer defined"):
        runs.submit(run.id, PEOPLE[0], GOOD)
    assert runs.submit(run.id, PEOPLE[0], GOOD, survey=SURVEY).stored


def test_concurrent_submits_by_one_person_leave_one_response(runs, sessions):
    run = new_run(runs)
    barrier = threading.Barrier(6)
    results: list[SubmitResult] = []
    errors: list[BaseException] = []

    def submit(value: int) -> None:
        try:
            barrier.wait()
            results.append(runs.submit(run.id, PEOPLE[0], {"res": value, "conf": value}))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(value,)) for value in range(1, 6)]
    threads.append(threading.Thread(target=submit, args=(3,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count(sessions, SurveyResponse) == 1
    assert len(results) == 6
    assert sum(1 for r in results if r.stored and not r.replaced) == 1  # exactly one insert
    [stored] = runs.responses(run.id)
    assert stored.answers["res"] == stored.answers["conf"] in range(1, 6)
    assert runs.participation(run.id) == (4, 1)


def test_concurrent_submits_by_different_people_are_all_kept(runs, sessions):
    run = new_run(runs)
    barrier = threading.Barrier(len(PEOPLE))

    def submit(user: str) -> None:
        barrier.wait()
        runs.submit(run.id, user, GOOD)

    threads = [threading.Thread(target=submit, args=(user,)) for user in PEOPLE]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert count(sessions, SurveyResponse) == len(PEOPLE)
    assert runs.participation(run.id) == (4, 4)


# -- reminders --------------------------------------------------------------------------------
AUCKLAND, LOS_ANGELES = "U07AKL0001", "U07LAX0002"
ZONES = {AUCKLAND: "Pacific/Auckland", LOS_ANGELES: "America/Los_Angeles"}


def reminders_at(runs, now):
    return runs.due_reminders(now, ZONES.get)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_reminders_go_out_half_way_to_people_who_have_not_answered(runs):
    # Mon 2 March 00:00 UTC .. Fri 6 March 00:00: half-way is Wed 4 March 00:00 UTC,
    # a weekday in Auckland (Wed 13:00) and in Los Angeles (Tue 16:00).
    run = new_run(
        runs,
        people=[AUCKLAND, LOS_ANGELES, "U07DONE003", "U07LOST004"],
        opens=at(2, 0),
        closes=at(6, 0),
    )
    for user in (AUCKLAND, LOS_ANGELES, "U07DONE003"):  # U07LOST004's DM never arrived
        assert runs.mark_delivered(run.id, user)
    assert not runs.mark_delivered(run.id, AUCKLAND)
    runs.submit(run.id, "U07DONE003", GOOD)
    assert reminders_at(runs, at(3, 23, 59)) == []
    due = reminders_at(runs, at(4, 0))
    assert due == [(run.id, AUCKLAND), (run.id, LOS_ANGELES)]
    assert runs.mark_reminded(run.id, AUCKLAND, at=at(4, 0))
    assert not runs.mark_reminded(run.id, AUCKLAND)  # a second tick does not remind twice
    assert reminders_at(runs, at(4, 1)) == [(run.id, LOS_ANGELES)]
    runs.submit(run.id, LOS_ANGELES, GOOD)
    assert reminders_at(runs, at(5, 0)) == []
    assert reminders_at(runs, at(6, 0)) == []


def test_a_reminder_due_at_the_weekend_waits_for_monday_morning_in_the_persons_zone(runs):
    # Thu 5 March 20:00 UTC .. Mon 9 March 20:00 UTC: half-way is Sat 7 March 20:00 UTC.
    # Auckland (UTC+13): Sun 8 March 09:00 -> Mon 9 March 09:00 NZDT = Sun 8 March 20:00 UTC.
    # Los Angeles: Sat 7 March 12:00 PST -> Mon 9 March 09:00, after the switch to daylight
    # saving on 8 March, so PDT (UTC-7) = Mon 9 March 16:00 UTC.
    run = new_run(runs, people=[AUCKLAND, LOS_ANGELES], opens=at(5, 20), closes=at(9, 20))
    for user in ZONES:
        runs.mark_delivered(run.id, user)
    assert reminders_at(runs, at(7, 20)) == []
    assert reminders_at(runs, at(8, 19, 59)) == []
    assert reminders_at(runs, at(8, 20)) == [(run.id, AUCKLAND)]
    assert reminders_at(runs, at(9, 15, 59)) == [(run.id, AUCKLAND)]
    assert reminders_at(runs, at(9, 16)) == [(run.id, AUCKLAND), (run.id, LOS_ANGELES)]
    runs.mark_reminded(run.id, AUCKLAND)
    assert reminders_at(runs, at(9, 16)) == [(run.id, LOS_ANGELES)]
    assert reminders_at(runs, at(9, 20)) == []  # closed: too late to remind


def test_a_monday_reminder_after_the_close_is_never_sent(runs):
    # Half-way Sat 7 March 20:00 UTC, closing Mon 9 March 12:00 UTC: before 09:00 in LA.
    run = new_run(runs, people=[LOS_ANGELES], opens=at(6, 4), closes=at(9, 12))
    runs.mark_delivered(run.id, LOS_ANGELES)
    assert [reminders_at(runs, at(day, hour)) for day, hour in ((8, 0), (9, 11))] == [[], []]


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (at(4, 0), "Pacific/Auckland", at(4, 0)),
        (at(6, 11), "Pacific/Auckland", at(8, 20)),  # Sat 00:00 NZDT -> Mon 09:00 NZDT
        (at(6, 11), "America/Los_Angeles", at(6, 11)),  # still Friday 03:00 there
        (at(7, 20), "Europe/London", at(9, 9)),
        (at(7, 20), "", at(9, 9)),  # no zone: UTC
        (at(7, 20), "Not/AZone", at(9, 9)),
    ],
)
def test_reminder_moment(moment, zone, expected):
    assert reminder_moment(moment, zone) == expected


def test_reminders_can_be_limited_to_surveys_that_want_them(runs):
    run = new_run(runs, people=[AUCKLAND], opens=at(2, 0), closes=at(6, 0))
    runs.mark_delivered(run.id, AUCKLAND)
    assert runs.due_reminders(at(4, 0), ZONES.get, survey_ids=["other"]) == []
    assert runs.due_reminders(at(4, 0), ZONES.get, survey_ids=["pulse"]) == [(run.id, AUCKLAND)]

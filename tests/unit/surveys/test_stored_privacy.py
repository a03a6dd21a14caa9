"""Attacks by someone holding a copy of the database (with or without the secret): what
the survey tables say about who answered and who said what."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from sqlalchemy import DateTime, inspect, text

from bot.store.db import make_session_factory
from bot.surveys.definitions import Survey
from bot.surveys.reports import build_report, load_report
from bot.surveys.runs import SurveyRuns
from bot.surveys.scoring import Response

UTC = dt.UTC
SURVEY = Survey.model_validate(
    {
        "id": "pulse",
        "title": "Pulse",
        "intro": "Anonymous.",
        "cadence": {"weekly": {"day": "mon"}},
        "anonymity": {"scores": 3, "comments": 3},
        "questions": [
            {"id": "res", "text": "Extra work.", "type": "likert5", "dimension": "resistance"},
            {"id": "conf", "text": "I will cope.", "type": "likert5", "dimension": "confidence"},
            {"id": "comment", "text": "Anything else?", "type": "text", "required": False},
        ],
    }
)
OPENS = dt.datetime(2026, 3, 2, 8, tzinfo=UTC)
CLOSES = dt.datetime(2026, 3, 6, 17, tzinfo=UTC)
SECRET = b"stored-privacy-secret"
# (user, department, location): Lisbon has one person, the one the attacker is after.
PEOPLE = [
    ("U01", "Data", "Leeds"),
    ("U02", "Data", "Leeds"),
    ("U03", "Data", "Leeds"),
    ("U04", "Data", "Lisbon"),
    ("U05", "Ops", "Leeds"),
    ("U06", "Ops", "Leeds"),
    ("U07", "Ops", "Leeds"),
    ("U08", "Ops", "Leeds"),
]
ANSWER_ORDER = ["U04", "U07", "U01", "U05", "U08", "U02", "U06", "U03"]


@pytest.fixture
def world(db_engine):
    clock = type("Clock", (), {"now": OPENS})()
    runs = SurveyRuns(
        session_factory=make_session_factory(db_engine),
        secret=SECRET,
        clock=lambda: clock.now,
        surveys=lambda: {SURVEY.id: SURVEY},
    )
    run, _ = runs.create_run(
        SURVEY, OPENS.date(), [p for p, _, _ in PEOPLE], opens_at=OPENS, closes_at=CLOSES
    )
    where = {user: {"department": d, "location": loc} for user, d, loc in PEOPLE}
    for hours, user in enumerate(ANSWER_ORDER[:6]):  # U06 and U03 never answer
        clock.now = OPENS + dt.timedelta(hours=hours * 9, minutes=hours)
        runs.submit(run.id, user, {"res": 1 + hours % 5, "conf": 3, "comment": f"by {user}"},
                    where[user])  # fmt: skip
    return runs, run, db_engine


def table(engine, name: str, order: str = "") -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT * FROM {name} {order}")).mappings().all()
    return [dict(row) for row in rows]


def decoded(value):
    return json.loads(value) if isinstance(value, str) else value


def test_response_rows_hold_no_answer_time(world):
    _, _, engine = world
    for name in ("survey_responses", "survey_invitations"):
        columns = inspect(engine).get_columns(name)
        names = {column["name"] for column in columns}
        assert "submitted_at" not in names and "answered_at" not in names
    response_times = [
        c["name"]
        for c in inspect(engine).get_columns("survey_responses")
        if isinstance(c["type"], DateTime)
    ]
    assert response_times == []  # the run is the finest time a response has


def test_an_open_runs_invitations_do_not_say_who_answered(world):
    _, _, engine = world
    rows = {row["user_id"]: row for row in table(engine, "survey_invitations")}

    def without_who(row):
        return {k: v for k, v in row.items() if k not in {"id", "user_id"}}

    answered, not_yet = without_who(rows["U04"]), without_who(rows["U03"])
    assert answered == not_yet  # someone who answered looks like someone who did not


def test_who_was_invited_is_erased_when_the_run_closes(world):
    runs, run, engine = world
    assert runs.participation(run.id) == (8, 6)
    runs.close_due(CLOSES)
    assert [r for r in table(engine, "survey_invitations") if r["run_id"] == run.id] == []
    assert runs.participation(run.id) == (8, 6)  # the counts stay, on the run


def test_a_closed_runs_responses_cannot_be_linked_even_with_the_secret(world):
    runs, run, engine = world
    runs.close_due(CLOSES)
    keys = {row["respondent_key"] for row in table(engine, "survey_responses")}
    everyone = {runs.respondent_key(run.id, user) for user, _, _ in PEOPLE}
    assert not keys & everyone


def test_closed_run_labels_never_single_out_fewer_than_the_threshold(world):
    """Lisbon has one person: a response labelled Lisbon would be theirs."""
    runs, _, engine = world
    runs.close_due(CLOSES)
    combinations = Counter(
        json.dumps(decoded(row["attributes"]), sort_keys=True)
        for row in table(engine, "survey_responses")
    )
    assert min(combinations.values()) >= SURVEY.anonymity.scores, combinations
    assert all(
        "Lisbon" not in combination or "Leeds" in combination for combination in combinations
    )


@pytest.mark.parametrize("position", ["id", "storage"])
def test_closed_run_rows_do_not_follow_the_order_people_answered_in(world, position):
    runs, _, engine = world
    runs.close_due(CLOSES)
    physical = "rowid" if engine.dialect.name == "sqlite" else "ctid"
    order = {"id": "ORDER BY id", "storage": f"ORDER BY {physical}"}[position]
    authors = [
        decoded(row["answers"])["comment"][3:] for row in table(engine, "survey_responses", order)
    ]
    assert sorted(authors) == sorted(ANSWER_ORDER[:6])
    assert authors != ANSWER_ORDER[:6]


def test_a_sealed_run_cannot_be_reported_finer_by_lowering_the_threshold(db_engine):
    """HR edits the survey file after the close: a lower threshold must not split blocks."""
    strict = SURVEY.model_copy(update={"anonymity": SURVEY.anonymity.model_copy(
        update={"scores": 5, "comments": 5})})  # fmt: skip
    runs = SurveyRuns(
        session_factory=make_session_factory(db_engine),
        secret=SECRET,
        clock=lambda: OPENS,
        surveys=lambda: {SURVEY.id: strict},
    )
    teams = ["A"] * 3 + ["B"] * 3 + ["C"] * 4
    people = [f"U{i:02d}" for i in range(len(teams))]
    run, _ = runs.create_run(strict, OPENS.date(), people, opens_at=OPENS, closes_at=CLOSES)
    raw = []
    for number, (user, team) in enumerate(zip(people, teams, strict=True)):
        answers, where = {"res": 1 + number % 5, "conf": 3}, {"department": "Data", "team": team}
        runs.submit(run.id, user, answers, where)
        raw.append((answers, where))
    runs.close_due(CLOSES)
    closed = runs.get_run(run.id)

    def shown(report) -> set[str]:
        return {group.name for group in report.groups if not group.suppressed}

    assert shown(load_report(runs, strict, closed, by="team")) == set()  # 3 + 3 + 4 < 5 each
    unsealed = [Response(answers=a, attributes=w) for a, w in raw]
    assert shown(build_report(SURVEY, closed, unsealed, by="team")) == {"A", "B", "C"}  # at 3
    assert shown(load_report(runs, SURVEY, closed, by="team")) == set()  # sealed: still none

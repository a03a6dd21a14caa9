"""Scores and comment labels stored at submit; reports sum them and never label again."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, event, insert, inspect, select, text

from bot.store.db import alembic_config, make_engine, make_session_factory, migrate
from bot.store.models import SurveyResponse, SurveyRun, SurveyRunCell
from bot.surveys.definitions import Survey
from bot.surveys.overview import PulseOverview
from bot.surveys.reports import build_report, load_report, render_text
from bot.surveys.runs import SurveyRuns
from bot.surveys.scoring import Response, respondent_mean, text_answers
from bot.surveys.sentiment import LABELS
from bot.surveys.stored_scores import (
    SCORE_COLUMNS,
    SENTIMENT_COLUMNS,
    response_fields,
    scoring_key,
)

UTC = dt.UTC
OPENS = dt.datetime(2026, 3, 2, 8, tzinfo=UTC)
CLOSES = OPENS + dt.timedelta(days=5)
SURVEY = Survey.model_validate(
    {
        "id": "pulse",
        "title": "Pulse",
        "intro": "Anonymous.",
        "cadence": {"weekly": {"day": "mon"}},
        "anonymity": {"scores": 4, "comments": 6},
        "questions": [
            {"id": "res", "text": "Extra.", "type": "likert5", "dimension": "resistance"},
            {
                "id": "res-rev",
                "text": "Willing.",
                "type": "likert5",
                "dimension": "resistance",
                "reverse": True,
                "required": False,
            },
            {"id": "conf", "text": "Cope.", "type": "scale0_10", "dimension": "confidence"},
            {
                "id": "conf2",
                "text": "Left behind.",
                "type": "scale0_10",
                "dimension": "confidence",
                "reverse": True,
                "required": False,
            },
            {
                "id": "aware",
                "text": "Why.",
                "type": "likert5",
                "dimension": "awareness",
                "required": False,
            },
            {"id": "comment", "text": "Else?", "type": "text"},
            {"id": "wish", "text": "One wish?", "type": "text"},
        ],
    }
)


class CountingLabeller:
    """Labels by a word in the text and counts every call."""

    def __init__(self) -> None:
        self.calls = 0

    def label(self, text: str) -> str:
        self.calls += 1
        return "negative" if "bad" in text else "positive" if "good" in text else "neutral"


def answers_of(number: int, rng: random.Random) -> dict:
    answers = {"res": rng.randint(1, 5), "conf": rng.randint(0, 10)}
    for key, values in (("res-rev", range(1, 6)), ("conf2", range(11)), ("aware", range(1, 6))):
        if rng.random() < 0.6:
            answers[key] = rng.choice(list(values))
    if rng.random() < 0.5:
        answers["comment"] = rng.choice(["good tools", "bad timing", "ok"]) + f" {number}"
    if rng.random() < 0.2:
        answers["wish"] = f"  more good docs {number}  "
    return answers


DEPARTMENTS = ["Data", "Ops", "Sales", "HR", "Legal"]


def responses(count: int = 60, seed: int = 12) -> list[Response]:
    rng = random.Random(seed)
    return [
        Response(
            answers=answers_of(number, rng),
            attributes={"department": DEPARTMENTS[min(int(rng.paretovariate(1.3)) - 1, 4)]},
        )
        for number in range(count)
    ]


@pytest.fixture
def world(db_engine):
    labeller = CountingLabeller()
    clock = type("Clock", (), {"now": OPENS + dt.timedelta(hours=1)})()
    runs = SurveyRuns(
        session_factory=make_session_factory(db_engine),
        secret=b"s3cret",
        clock=lambda: clock.now,
        surveys=lambda: {SURVEY.id: SURVEY},
        labeller=labeller,
    )
    return runs, labeller, db_engine


def stored_run(runs: SurveyRuns, given: list[Response], *, close: bool = True):
    users = [f"U{number:04d}" for number in range(len(given) + 2)]
    run, _ = runs.create_run(SURVEY, OPENS.date(), users, opens_at=OPENS, closes_at=CLOSES)
    for user, response in zip(users, given, strict=False):
        runs.submit(run.id, user, response.answers, response.attributes)
    if close:
        runs.close_due(CLOSES)
    return runs.get_run(run.id)


def rows(engine, run_id: int) -> list[dict]:
    with engine.connect() as connection:
        found = connection.execute(
            select(SurveyResponse.__table__).where(SurveyResponse.run_id == run_id)
        )
        return [dict(row) for row in found.mappings()]


def assert_stored_as_computed(engine, run_id: int, survey: Survey = SURVEY) -> None:
    labeller = CountingLabeller()
    found = rows(engine, run_id)
    assert found
    for row in found:
        answers = row["answers"]
        answers = json.loads(answers) if isinstance(answers, str) else answers
        response = Response(answers=answers)
        for dimension, name in SCORE_COLUMNS.items():
            expected = respondent_mean(survey, response, dimension)
            assert row[name] == pytest.approx(expected), (name, answers)
        assert row["scored"] == int(any(k in answers for k in ("res", "res-rev", "conf", "conf2")))
        comments = text_answers(survey, response)
        assert (row["comments"] or None) == (comments or None)
        labels = [labeller.label(t) for t in comments]
        for label in LABELS:
            assert row[SENTIMENT_COLUMNS[label]] == labels.count(label)


def same(a, b) -> None:
    for name in ("respondents", "by", "barrier", "sentiment", "run_id"):
        assert getattr(a, name) == getattr(b, name), name
    assert sorted(a.comments) == sorted(b.comments)
    assert a.groups and len(a.groups) == len(b.groups)
    for left, right in [(a.overall, b.overall), *zip(a.groups, b.groups, strict=True)]:
        assert (left.name, left.n, left.suppressed) == (right.name, right.n, right.suppressed)
        assert left.resistance == pytest.approx(right.resistance)
        assert left.confidence == pytest.approx(right.confidence)
    assert a.stages == pytest.approx(b.stages)


# -- at submit --------------------------------------------------------------------------------
def test_stored_scores_equal_the_computed_ones(world):
    runs, labeller, engine = world
    run = stored_run(runs, responses(), close=False)
    assert_stored_as_computed(engine, run.id)
    comments = sum(len(text_answers(SURVEY, r)) for r in responses())
    assert labeller.calls == comments  # each comment labelled once, when it was submitted


def test_a_resubmitted_answer_updates_its_stored_scores(world):
    runs, _, engine = world
    run, _ = runs.create_run(SURVEY, OPENS.date(), ["U1"], opens_at=OPENS, closes_at=CLOSES)
    runs.submit(run.id, "U1", {"res": 5, "conf": 10, "comment": "bad and bad"})
    runs.submit(run.id, "U1", {"res": 1, "res-rev": 5, "conf": 0, "wish": "good"})
    (row,) = rows(engine, run.id)
    assert row["score_resistance"] == pytest.approx(1.0)  # (1 + (6 - 5)) / 2
    assert row["score_confidence"] == pytest.approx(1.0)
    assert row["comments"] == ["good"]
    assert (row["comments_negative"], row["comments_positive"]) == (0, 1)
    runs.submit(run.id, "U1", {"res": 3, "conf": 5})  # the comment taken back
    (row,) = rows(engine, run.id)
    assert row["score_resistance"] == pytest.approx(3.0)
    assert row["comments"] is None and row["comments_positive"] == 0


def test_response_fields_match_scoring_for_every_dimension():
    for response in responses(40, seed=3):
        fields = response_fields(SURVEY, response.answers, CountingLabeller())
        for dimension, name in SCORE_COLUMNS.items():
            assert fields[name] == pytest.approx(respondent_mean(SURVEY, response, dimension))


# -- reports ------------------------------------------------------------------------------------
def test_the_report_equals_the_old_computation_and_labels_nothing(world):
    runs, labeller, _ = world
    given = responses()
    run = stored_run(runs, given)
    participation = runs.participation(run.id)
    before = labeller.calls
    report = load_report(runs, SURVEY, run, rng=random.Random(1))
    assert labeller.calls == before  # counted from the stored labels
    expected = build_report(
        SURVEY, run, given, analyzer=CountingLabeller(), participation=participation
    )
    same(report, expected)
    assert sum(report.sentiment.values()) == len(report.comments) > 0
    assert any(g.suppressed for g in report.groups) and any(not g.suppressed for g in report.groups)


def test_a_sealed_runs_report_reads_its_kept_cells_not_the_responses(world):
    runs, _, engine = world
    run = stored_run(runs, responses())
    with engine.connect() as connection:
        kept = connection.execute(select(SurveyRunCell.run_id)).all()
        key = connection.execute(select(SurveyRun.cells_with)).scalar_one()
    assert kept and key == scoring_key(SURVEY)
    seen: list[str] = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731 (statement)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        first = render_text(load_report(runs, SURVEY, run, rng=random.Random(1)))
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert seen and not [s for s in seen if "survey_responses" in s]
    # Tampering with the responses of a sealed run does not change what is kept.
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM survey_responses"))
    assert render_text(load_report(runs, SURVEY, run, rng=random.Random(1))) == first


def test_the_console_overview_uses_the_stored_labels(world):
    runs, labeller, _ = world
    run = stored_run(runs, responses())
    before = labeller.calls
    pulse = PulseOverview(
        runs=runs, surveys=lambda: {SURVEY.id: SURVEY}, rise_points=10, min_participation=0.5
    )
    overview = pulse.overview(SURVEY.id, run_id=run.id)
    assert labeller.calls == before
    assert sum(overview.report.sentiment.values()) == len(overview.report.comments) > 0


def test_an_edited_definition_rescores_the_run_before_its_report(world):
    runs, _, engine = world
    given = responses()
    run = stored_run(runs, given)
    edited = Survey.model_validate(
        {
            **SURVEY.model_dump(),
            "questions": [
                {**q.model_dump(), "reverse": not q.reverse} if q.id == "res" else q.model_dump()
                for q in SURVEY.questions
            ],
        }
    )
    assert scoring_key(edited) != scoring_key(SURVEY)
    report = load_report(runs, edited, run)
    expected = build_report(
        edited, run, given, analyzer=CountingLabeller(), participation=runs.participation(run.id)
    )
    same(report, expected)
    assert_stored_as_computed(engine, run.id, edited)
    with engine.connect() as connection:
        keys = connection.execute(select(SurveyRun.scored_with, SurveyRun.cells_with)).one()
    assert tuple(keys) == (scoring_key(edited),) * 2
    same(load_report(runs, SURVEY, run), build_report(
        SURVEY, run, given, analyzer=CountingLabeller(), participation=runs.participation(run.id)
    ))  # fmt: skip


def test_a_submit_under_another_definition_marks_the_run_for_rescoring(world):
    runs, _, engine = world
    run, _ = runs.create_run(SURVEY, OPENS.date(), ["U1", "U2"], opens_at=OPENS, closes_at=CLOSES)
    runs.submit(run.id, "U1", {"res": 5, "conf": 10, "comment": "ok"})
    edited = Survey.model_validate({**SURVEY.model_dump(), "title": "Renamed"})  # same scoring
    runs.submit(run.id, "U2", {"res": 4, "conf": 9, "comment": "ok"}, survey=edited)
    with engine.connect() as connection:
        assert connection.execute(select(SurveyRun.scored_with)).scalar_one() == scoring_key(SURVEY)
    flipped = Survey.model_validate(
        {**SURVEY.model_dump(), "questions": [q.model_dump() for q in SURVEY.questions[::-1]]}
    )
    runs.submit(run.id, "U2", {"res": 3, "conf": 9, "comment": "ok"}, survey=flipped)
    with engine.connect() as connection:
        assert connection.execute(select(SurveyRun.scored_with)).scalar_one() is None


# -- migration 0011 backfills -------------------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_engine(request, tmp_path):
    """An engine migrated only to 0010, as a database from before stored scores."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        admin = schema = None
    else:
        url = os.environ.get("CHANGEBOT_TEST_POSTGRES_URL")
        if not url:
            pytest.skip(
                "CHANGEBOT_TEST_POSTGRES_URL is not set; PostgreSQL store tests need a server"
            )
        schema = f"t_{uuid.uuid4().hex}"
        admin = create_engine(url)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in url else "?"
        engine = make_engine(f"{url}{separator}options=-csearch_path%3D{schema}")
    command.upgrade(alembic_config(engine), "0010_console_signin_ingest_log")
    try:
        yield engine
    finally:
        engine.dispose()
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def old_rows(engine, given: list[Response]) -> tuple[int, int]:
    """A sealed closed run and an open run written as 0010 wrote them (no scores)."""
    with engine.begin() as connection:
        ids = []
        for due, status in ((dt.date(2026, 3, 2), "closed"), (dt.date(2026, 3, 9), "open")):
            ids.append(
                connection.execute(
                    insert(SurveyRun.__table__).values(
                        survey_id="pulse",
                        due_date=due,
                        opens_at=OPENS,
                        closes_at=CLOSES,
                        status=status,
                        created_at=OPENS,
                        invited_count=len(given) + 2,
                        delivered_count=len(given) + 2,
                        answered_count=len(given),
                        sealed=status == "closed",
                    )
                ).inserted_primary_key[0]
            )
        for run_id in ids:
            for number, response in enumerate(given):
                connection.execute(
                    text(
                        "INSERT INTO survey_responses (id, run_id, respondent_key, answers, "
                        "attributes) VALUES (:id, :run, :key, :answers, :attributes)"
                    ),
                    {
                        "id": uuid.uuid4().hex,
                        "run": run_id,
                        "key": None if run_id == ids[0] else f"key-{number}",
                        "answers": json.dumps(response.answers),
                        "attributes": json.dumps(response.attributes),
                    },
                )
    return ids[0], ids[1]


def test_migration_0011_backfills_scores_labels_and_kept_cells(old_engine):
    given = responses()
    closed_id, open_id = old_rows(old_engine, given)
    migrate(old_engine, surveys=lambda: {SURVEY.id: SURVEY}, labeller=CountingLabeller)
    for run_id in (closed_id, open_id):
        assert_stored_as_computed(old_engine, run_id)
    with old_engine.connect() as connection:
        keys = dict(connection.execute(select(SurveyRun.id, SurveyRun.scored_with)).all())
        kept = {row[0] for row in connection.execute(select(SurveyRunCell.run_id))}
    assert keys == {closed_id: scoring_key(SURVEY), open_id: scoring_key(SURVEY)}
    assert kept == {closed_id}  # only a sealed run's cells are kept
    labeller = CountingLabeller()
    runs = SurveyRuns(
        session_factory=make_session_factory(old_engine), secret=b"x", labeller=labeller
    )
    run = runs.get_run(closed_id)
    expected = build_report(
        SURVEY, run, given, analyzer=CountingLabeller(), participation=runs.participation(run.id)
    )
    same(load_report(runs, SURVEY, run), expected)
    assert labeller.calls == 0


def test_without_the_definitions_the_first_report_scores_the_run(old_engine):
    given = responses()
    closed_id, _ = old_rows(old_engine, given)
    migrate(old_engine)  # a bare upgrade: no survey definitions to score with
    with old_engine.connect() as connection:
        assert connection.execute(select(SurveyRun.scored_with)).scalars().all() == [None, None]
        assert {r["scored"] for r in rows(old_engine, closed_id)} == {None}
    labeller = CountingLabeller()
    runs = SurveyRuns(
        session_factory=make_session_factory(old_engine), secret=b"x", labeller=labeller
    )
    run = runs.get_run(closed_id)
    report = load_report(runs, SURVEY, run)
    assert labeller.calls == sum(len(text_answers(SURVEY, r)) for r in given)
    same(report, build_report(
        SURVEY, run, given, analyzer=CountingLabeller(), participation=runs.participation(run.id)
    ))  # fmt: skip
    assert_stored_as_computed(old_engine, closed_id)
    calls = labeller.calls
    load_report(runs, SURVEY, run)
    assert labeller.calls == calls  # scored once


def test_an_open_runs_participation_is_counted_without_hashing_every_invitation(world):
    runs, _, _ = world
    users = ["U1", "U2", "U3"]
    run, _ = runs.create_run(SURVEY, OPENS.date(), users, opens_at=OPENS, closes_at=CLOSES)
    runs.submit(run.id, "U1", {"res": 5, "conf": 10})
    runs.submit(run.id, "U1", {"res": 4, "conf": 10})  # a change: still one person
    runs.submit(run.id, "U2", {"res": 3, "conf": 2})
    hashed = []
    runs.respondent_key = lambda run_id, user: hashed.append(user) or "x"  # type: ignore
    assert runs.participation(run.id) == (3, 2)
    assert hashed == []  # counted in SQL: no invitation was hashed


class BatchLabeller(CountingLabeller):
    """A labeller with `label_many` (as a learned classifier has): rescoring uses it."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def label_many(self, texts):
        self.batches.append(len(texts))
        return [CountingLabeller.label(self, text) for text in texts]


def test_rescoring_labels_comments_in_batches_when_the_labeller_can(old_engine):
    given = responses()
    closed_id, _ = old_rows(old_engine, given)
    labeller = BatchLabeller()
    migrate(old_engine, surveys=lambda: {SURVEY.id: SURVEY}, labeller=lambda: labeller)
    assert_stored_as_computed(old_engine, closed_id)
    per_run = sum(len(text_answers(SURVEY, r)) for r in given)
    assert labeller.batches == [per_run, per_run]  # one call per run (two runs), all comments


def test_migration_0011_downgrades_and_upgrades_again_keeping_the_answers(old_engine):
    given = responses(12)
    closed_id, _ = old_rows(old_engine, given)
    migrate(old_engine, surveys=lambda: {SURVEY.id: SURVEY}, labeller=CountingLabeller)
    command.downgrade(alembic_config(old_engine), "0010_console_signin_ingest_log")
    names = {c["name"] for c in inspect(old_engine).get_columns("survey_responses")}
    assert names == {"id", "run_id", "respondent_key", "answers", "attributes"}
    assert "survey_run_cells" not in inspect(old_engine).get_table_names()
    migrate(old_engine, surveys=lambda: {SURVEY.id: SURVEY}, labeller=CountingLabeller)
    assert_stored_as_computed(old_engine, closed_id)

"""An open run is reported as participation only: HR asking for results before and after
one more person answers must not learn that person's scores, stages or comment."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.store.db import make_session_factory
from bot.surveys.definitions import Survey
from bot.surveys.reports import export_csv, load_report, load_reports, render_text
from bot.surveys.runs import SurveyRuns

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
            {"id": "aware", "text": "I know why.", "type": "likert5", "dimension": "awareness"},
            {"id": "comment", "text": "Anything else?", "type": "text", "required": False},
        ],
    }
)
OPENS = dt.datetime(2026, 3, 2, 8, tzinfo=UTC)
CLOSES = dt.datetime(2026, 3, 6, 17, tzinfo=UTC)
PEOPLE = [f"U{i:03d}" for i in range(12)]
STEADY = {"res": 3, "conf": 3, "aware": 3}


@pytest.fixture
def runs(db_engine):
    clock = type("Clock", (), {"now": OPENS + dt.timedelta(hours=1)})()
    runs = SurveyRuns(
        session_factory=make_session_factory(db_engine),
        secret=b"open-run-secret",
        clock=lambda: clock.now,
        surveys=lambda: {SURVEY.id: SURVEY},
    )
    runs.clock_ = clock
    return runs


def everything_hr_sees(runs: SurveyRuns, run, by: str) -> str:
    report = load_report(runs, SURVEY, runs.get_run(run.id), by=by)
    return render_text(report) + export_csv(report)


def without_counts(text: str) -> str:
    return re.sub(r"\d+", "#", text)


@pytest.mark.parametrize("by", ["department", "team", "location"])
def test_open_run_results_do_not_move_per_respondent(runs, by):
    run, _ = runs.create_run(SURVEY, OPENS.date(), PEOPLE, opens_at=OPENS, closes_at=CLOSES)
    for user in PEOPLE[:6]:
        runs.submit(run.id, user, STEADY, {"department": "Data", "team": "A", "location": "X"})
    before = everything_hr_sees(runs, run, by)

    runs.submit(
        run.id,
        PEOPLE[6],
        {"res": 5, "conf": 1, "aware": 1, "comment": "I am the one who answered last"},
        {"department": "Data", "team": "A", "location": "X"},
    )
    after = everything_hr_sees(runs, run, by)

    assert after != before  # the participation count moved …
    assert without_counts(after) == without_counts(before)  # … and nothing else did
    assert "I am the one" not in after
    for figure in ("Resistance index", "Confidence index", "ADKAR", "sentiment", "Barrier"):
        assert figure not in after


def test_an_open_run_says_participation_so_far_and_when_full_results_come(runs):
    run, _ = runs.create_run(SURVEY, OPENS.date(), PEOPLE, opens_at=OPENS, closes_at=CLOSES)
    for user in PEOPLE[:4]:
        runs.submit(run.id, user, STEADY, {"department": "Data"})
    report = load_report(runs, SURVEY, runs.get_run(run.id))
    text = render_text(report)
    assert "Participation so far: 4 of 12 invited (33%)" in text
    assert "Full results when the run closes on Friday 06 March 2026 17:00 UTC" in text
    assert report.groups == [] and report.comments == [] and report.sentiment is None
    assert report.resistance is None and set(report.stages.values()) == {None}
    assert export_csv(report) == (
        "status,invited,answered,closes_at\nopen,12,4,2026-03-06T17:00:00+00:00\n"
    )


def test_the_same_run_gets_its_full_report_once_closed(runs):
    run, _ = runs.create_run(SURVEY, OPENS.date(), PEOPLE, opens_at=OPENS, closes_at=CLOSES)
    for user in PEOPLE[:4]:
        runs.submit(run.id, user, STEADY, {"department": "Data"})
    runs.close_due(CLOSES)
    report, _ = load_reports(runs, SURVEY, runs.get_run(run.id))
    assert report.resistance == pytest.approx(50.0)
    assert "Resistance index: 50.0 / 100" in render_text(report)

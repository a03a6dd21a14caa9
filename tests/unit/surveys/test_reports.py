"""HR reports: figures worked out by hand, what stays hidden, alerts, CSV, trend chart."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import replace

import pytest

from bot.store.db import make_session_factory
from bot.surveys.charts import trend_chart_png
from bot.surveys.definitions import Survey
from bot.surveys.reports import (
    Report,
    alerts,
    build_report,
    export_csv,
    load_report,
    render_text,
    trend,
)
from bot.surveys.runs import Run, SurveyRuns
from bot.surveys.scoring import NOT_RECORDED, GroupScore, Response

UTC = dt.UTC
SURVEY = Survey.model_validate(
    {
        "id": "pulse",
        "title": "Pulse",
        "intro": "Anonymous.",
        "cadence": {"weekly": {"day": "mon"}},
        "anonymity": {"scores": 3, "comments": 4},
        "questions": [
            {"id": "res", "text": "Extra work.", "type": "likert5", "dimension": "resistance"},
            {
                "id": "res-rev",
                "text": "Willing.",
                "type": "likert5",
                "dimension": "resistance",
                "reverse": True,
            },
            {"id": "conf", "text": "I will cope.", "type": "scale0_10", "dimension": "confidence"},
            {"id": "aware", "text": "I know why.", "type": "likert5", "dimension": "awareness"},
            {"id": "know", "text": "I know how.", "type": "likert5", "dimension": "knowledge"},
            {"id": "comment", "text": "Anything else?", "type": "text"},
        ],
    }
)


def people(department: str, n: int, comments: list[str] = (), **answers) -> list[Response]:
    """`n` identical answers from one department; the first ones carry the comments."""
    values = {key.replace("_", "-"): value for key, value in answers.items()}
    return [
        Response(
            answers={**values, **({"comment": comments[i]} if i < len(comments) else {})},
            attributes={"department": department, "team": f"{department}-team"},
        )
        for i in range(n)
    ]


# This run, by hand (items on 1..5; index = (mean - 1) / 4 * 100):
#   Data  (4): resistance (4 + (6-2)) / 2 = 4 -> 75;   confidence 1 + 5*0.4 = 3 -> 50
#   Ops   (3): resistance (2 + (6-4)) / 2 = 2 -> 25;   confidence 1 + 10*0.4 = 5 -> 100
#   Sales (2): resistance (5 + (6-1)) / 2 = 5 -> 100;  confidence 1 + 0 = 1 -> 0
#   everyone (9): resistance (4*4 + 3*2 + 2*5) / 9 = 32/9 -> 63.89; confidence 29/9 -> 55.56
#   awareness (4*4 + 3*5 + 2*3) / 9 = 37/9 = 4.11; knowledge (4*2 + 3*3 + 2*1) / 9 = 19/9 = 2.11
# Sales (2) is under the threshold of 3, so it is merged with the smallest other
# department (Ops) into one block: both are hidden. The run has 9 responses, at least the
# comment threshold of 4, so every comment is released (never per group).
CURRENT = [
    *people(
        "Data",
        4,
        ["The registry is a game changer", "Training felt rushed"],
        res=4,
        res_rev=2,
        conf=5,
        aware=4,
        know=2,
    ),
    *people("Ops", 3, ["ops-only remark"], res=2, res_rev=4, conf=10, aware=5, know=3),
    *people("Sales", 2, ["sales-only remark"], res=5, res_rev=1, conf=0, aware=3, know=1),
]
# The previous run: Data 62.5 / 50, Ops 25 / 100; everyone 24/9 -> 41.67, 37/9 -> 77.78.
PREVIOUS = [
    *people("Data", 4, res=4, res_rev=3, conf=5, aware=4, know=3),
    *people("Ops", 5, res=2, res_rev=4, conf=10, aware=4, know=3),
]
LABELS = {
    "The registry is a game changer": "positive",
    "Training felt rushed": "negative",
    "ops-only remark": "negative",
    "sales-only remark": "negative",
}


class FakeAnalyzer:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def label(self, text: str) -> str:
        self.seen.append(text)
        return LABELS.get(text, "neutral")


RUN = Run(
    2,
    "pulse",
    dt.date(2026, 3, 9),
    dt.datetime(2026, 3, 9, tzinfo=UTC),
    dt.datetime(2026, 3, 14, tzinfo=UTC),
    "closed",
    dt.datetime(2026, 3, 9, tzinfo=UTC),
)
PREVIOUS_RUN = replace(RUN, id=1, due_date=dt.date(2026, 3, 2))


def reports(by: str = "department") -> tuple[Report, Report]:
    before = build_report(SURVEY, PREVIOUS_RUN, PREVIOUS, by=by, analyzer=FakeAnalyzer())
    now = build_report(
        SURVEY,
        RUN,
        CURRENT,
        previous=before,
        by=by,
        analyzer=FakeAnalyzer(),
        rng=random.Random(3),
        participation=(12, 9),
    )
    return now, before


def test_report_figures_worked_out_by_hand():
    report, _ = reports()
    assert report.respondents == 9 and report.overall.n == 9
    assert report.resistance == pytest.approx(575 / 9)  # 63.89
    assert report.confidence == pytest.approx(500 / 9)  # 55.56
    assert report.resistance_delta == pytest.approx(575 / 9 - 375 / 9)  # +22.22
    assert report.confidence_delta == pytest.approx(500 / 9 - 700 / 9)  # -22.22
    assert report.previous_due_date == dt.date(2026, 3, 2)
    assert report.stages == pytest.approx(
        {
            "awareness": 37 / 9,
            "desire": None,
            "knowledge": 19 / 9,
            "ability": None,
            "reinforcement": None,
        }
    )
    assert report.barrier == "knowledge"
    assert report.participation == pytest.approx(0.75)
    assert (report.invited, report.answered) == (12, 9)


def test_a_small_group_is_hidden_with_the_group_it_was_merged_with():
    report, _ = reports()
    assert report.groups == [
        GroupScore("Data", 4, 75.0, 50.0, suppressed=False),
        GroupScore("Ops", None, None, None, suppressed=True),  # merged with Sales: hidden
        GroupScore("Sales", None, None, None, suppressed=True, small=True),
    ]


def test_all_comments_of_the_run_are_released_with_counts_of_sentiment():
    report, _ = reports()
    assert sorted(report.comments) == sorted(LABELS)
    assert report.sentiment == {"negative": 3, "neutral": 0, "positive": 1}


def test_no_comments_or_sentiment_when_the_run_is_below_the_comment_threshold():
    analyzer = FakeAnalyzer()
    small = build_report(SURVEY, RUN, CURRENT[4:7], analyzer=analyzer)  # 3 of Ops
    assert small.respondents < SURVEY.anonymity.comments
    assert small.sentiment is None and small.comments == []
    assert analyzer.seen == []  # not even labelled
    assert "Comments are shown only when 4 or more people answered the run" in render_text(small)


def test_everything_is_hidden_when_too_few_answered():
    report = build_report(SURVEY, RUN, CURRENT[-2:], analyzer=FakeAnalyzer())
    assert report.overall == GroupScore("everyone", 2, None, None, suppressed=True)
    assert report.resistance is None and report.barrier is None
    assert set(report.stages.values()) == {None}
    assert report.groups == [GroupScore("Sales", None, None, None, suppressed=True, small=True)]
    text = render_text(report)
    assert "Fewer than 3 people gave scores" in text and "100.0" not in text


def test_text_report_shows_the_figures_and_nothing_hidden():
    report, _ = reports()
    text = render_text(report)
    assert "Participation: 9 of 12 invited (75%)" in text
    assert "Resistance index: 63.9 / 100 (+22.2 since 2026-03-02)" in text
    assert "Confidence index: 55.6 / 100 (-22.2 since 2026-03-02)" in text
    assert "Barrier point: knowledge" in text
    assert "Comment sentiment: 3 negative, 0 neutral, 1 positive (of 4 comments)" in text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines() if line[:2] == "  "}
    assert rows["Data"] == ["4", "75.0", "50.0"]
    assert rows["Ops"] == ["hidden", "—", "—"]  # 3, but a hidden group's size is not given
    assert rows["Sales"] == ["<3", "—", "—"]
    assert "25.0" not in text and "100.0" not in text and "0.0 " not in text


def test_csv_export_holds_aggregates_only():
    report, _ = reports()
    exported = export_csv(report)
    assert exported == (
        "department,respondents,resistance_index,confidence_index\n"
        "(everyone),9,63.9,55.6\n"
        "Data,4,75.0,50.0\n"
        "Ops,hidden,,\n"
        "Sales,<3,,\n"
    )
    rows = list(csv.reader(io.StringIO(exported)))
    assert len(rows) == 1 + 1 + len(report.groups) < report.respondents  # never one per person
    assert "game changer" not in exported and "rushed" not in exported


def test_csv_export_defuses_spreadsheet_formulas_in_group_names():
    report = build_report(SURVEY, RUN, people("=HYPERLINK(1)", 3, res=3, res_rev=3, conf=5))
    assert "\n'=HYPERLINK(1),3," in export_csv(report)


def test_responses_without_the_attribute_form_their_own_group():
    missing = [
        Response(answers=r.answers, attributes={}) for r in people("x", 3, res=1, res_rev=5, conf=0)
    ]
    report = build_report(SURVEY, RUN, [*missing, *CURRENT[:4]], analyzer=FakeAnalyzer())
    assert [group.name for group in report.groups] == [NOT_RECORDED, "Data"]


# -- alerts ---------------------------------------------------------------------------------
def test_alerts_on_a_resistance_rise_in_a_group_and_overall():
    report, before = reports()
    found = alerts(report, before, rise_points=10, min_participation=0.6)
    assert found == [
        "Resistance rose 22.2 points overall (41.7 → 63.9).",
        "Resistance in department Data rose 12.5 points (62.5 → 75.0).",
    ]
    assert alerts(report, before, rise_points=12.5, min_participation=0.6)[1:] == [found[1]]
    assert alerts(report, before, rise_points=12.6, min_participation=0.6) == [found[0]]
    assert alerts(report, None, rise_points=10, min_participation=0.6) == []


def test_no_group_alert_when_the_group_is_hidden_or_grouped_differently():
    report, before = reports()
    hidden = replace(
        report, groups=[replace(g, resistance=None, suppressed=True) for g in report.groups]
    )
    assert len(alerts(hidden, before, rise_points=10, min_participation=0.6)) == 1
    by_team = replace(before, by="team")
    assert len(alerts(report, by_team, rise_points=10, min_participation=0.6)) == 1


def test_alerts_on_low_participation():
    report, _ = reports()
    low = replace(report, invited=16, answered=9)  # 56%
    assert alerts(low, None, rise_points=10, min_participation=0.6) == [
        "Participation was 56% (9 of 16), below 60%."
    ]
    exactly = replace(report, invited=15, answered=9)  # 60% is not below 60%
    assert alerts(exactly, None, rise_points=10, min_participation=0.6) == []
    unknown = replace(report, invited=None, answered=None)
    assert alerts(unknown, None, rise_points=10, min_participation=0.6) == []


# -- trend and chart ------------------------------------------------------------------------
def test_trend_is_oldest_first_for_one_survey():
    report, before = reports()
    other = replace(RUN, id=9, survey_id="other")
    points = trend("pulse", [(RUN, report), (other, report), (PREVIOUS_RUN, before)])
    assert points == [
        (dt.date(2026, 3, 2), pytest.approx(375 / 9), pytest.approx(700 / 9)),
        (dt.date(2026, 3, 9), pytest.approx(575 / 9), pytest.approx(500 / 9)),
    ]


@pytest.mark.parametrize(
    "points",
    [
        [(dt.date(2026, 3, 2), 41.7, 77.8)],
        [
            (dt.date(2026, 3, 2), 41.7, 77.8),
            (dt.date(2026, 3, 9), None, 55.6),
            (dt.date(2026, 3, 16), 63.9, 50.0),
        ],
        [],
    ],
    ids=["one run", "a suppressed index", "no runs"],
)
def test_trend_chart_is_a_png(points):
    png = trend_chart_png(points, "Pulse: Resistance and Confidence")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert png[12:16] == b"IHDR" and int.from_bytes(png[16:20], "big") == 800
    assert png.endswith(b"IEND\xaeB`\x82")


# -- the database path gives the same report ------------------------------------------------
def store(
    runs: SurveyRuns, survey: Survey, day: dt.date, responses: list[Response], close=True
) -> Run:
    """A run with these responses (3 invited people never answer), closed and sealed."""
    users = [f"U{day:%m%d}{i:04d}" for i in range(len(responses) + 3)]
    closes = dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(days=5)
    run, _ = runs.create_run(
        survey, day, users, opens_at=dt.datetime.combine(day, dt.time(), UTC), closes_at=closes
    )
    for user, response in zip(users, responses, strict=False):
        runs.submit(run.id, user, response.answers, response.attributes, survey=survey)
    if close:
        runs.close_due(closes)
        assert runs.seal(run.id, survey=survey)
    return runs.get_run(run.id)


@pytest.fixture
def runs(db_engine):
    clock = type("Clock", (), {"now": dt.datetime(2026, 3, 2, 1, tzinfo=UTC)})()
    return SurveyRuns(
        session_factory=make_session_factory(db_engine), secret=b"s3cret", clock=lambda: clock.now
    ), clock


def same(a: Report, b: Report) -> None:
    for name in ("respondents", "by", "invited", "answered", "barrier", "sentiment", "run_id"):
        assert getattr(a, name) == getattr(b, name), name
    assert sorted(a.comments) == sorted(b.comments)
    for left, right in [(a.overall, b.overall), *zip(a.groups, b.groups, strict=True)]:
        assert (left.name, left.n, left.suppressed) == (right.name, right.n, right.suppressed)
        assert left.resistance == pytest.approx(right.resistance)
        assert left.confidence == pytest.approx(right.confidence)
    assert a.stages == pytest.approx(b.stages)
    assert a.resistance_delta == pytest.approx(b.resistance_delta)
    assert a.confidence_delta == pytest.approx(b.confidence_delta)


@pytest.mark.parametrize("by", ["department", "team"])
def test_the_database_report_matches_the_hand_computed_one(runs, by):
    runs, clock = runs
    before = store(runs, SURVEY, dt.date(2026, 3, 2), PREVIOUS)
    clock.now = dt.datetime(2026, 3, 9, 1, tzinfo=UTC)
    now = store(runs, SURVEY, dt.date(2026, 3, 9), CURRENT)
    from_db = load_report(runs, SURVEY, now, by=by, previous_run=before, analyzer=FakeAnalyzer())
    expected, _ = reports(by)
    same(from_db, replace(expected, run_id=now.id, invited=12, answered=9))
    assert from_db.previous_run_id == before.id


def test_the_database_report_matches_scoring_on_messy_data(runs):
    """Missing answers, comment-only responses, no department, 0..10 reversed items."""
    runs, _ = runs
    survey = Survey.model_validate(
        {
            **SURVEY.model_dump(exclude={"questions"}),
            "anonymity": {"scores": 4, "comments": 6},
            "questions": [{**q.model_dump(), "required": False} for q in SURVEY.questions]
            + [
                {
                    "id": "conf2",
                    "text": "Not left behind.",
                    "type": "scale0_10",
                    "dimension": "confidence",
                    "reverse": True,
                    "required": False,
                }
            ],
        }
    )
    rng = random.Random(20261127)
    departments = ["Data", "Ops", "Sales", "HR", "", None]
    responses = []
    for number in range(70):
        answers = {
            qid: rng.choice([None, *range(1, 6)]) for qid in ("res", "res-rev", "aware", "know")
        } | {qid: rng.choice([None, *range(0, 11)]) for qid in ("conf", "conf2")}
        if rng.random() < 0.4:
            answers["comment"] = f"comment number {number}"
        department = departments[min(int(rng.paretovariate(1.2)) - 1, 5)]
        attributes = {"department": department} if department is not None else {}
        responses.append(
            Response(
                answers={k: v for k, v in answers.items() if v is not None}, attributes=attributes
            )
        )
    run = store(runs, survey, dt.date(2026, 3, 2), responses, close=False)
    stored = runs.responses(run.id)
    assert sorted(map(repr, stored)) == sorted(
        repr(Response(r.answers, {k: v for k, v in r.attributes.items() if v})) for r in responses
    )
    participation = runs.participation(run.id)
    runs.close_due(run.closes_at)
    assert runs.seal(run.id, survey=survey)
    run = runs.get_run(run.id)
    expected = build_report(
        survey, run, stored, analyzer=FakeAnalyzer(), participation=participation
    )
    assert any(group.suppressed for group in expected.groups)
    assert any(not group.suppressed for group in expected.groups)
    assert expected.comments
    # The sealed run (labels widened to blocks, rows rewritten) publishes the same.
    same(load_report(runs, survey, run, analyzer=FakeAnalyzer()), expected)
    same(build_report(survey, run, runs.responses(run.id), analyzer=FakeAnalyzer(),
                      participation=participation), expected)  # fmt: skip

"""Attacks on a closed run's reports by HR with ordinary commands: subtract one grouping
from another, or a group from the total, and see whether anything finer than the
anonymity threshold falls out.

Every published figure is a mean over a set of respondents, so HR learns linear
equations over the respondents' scores. Two people are *indistinguishable* when every
linear combination of the published figures weighs them equally (their columns of the
projection onto the equations' row space are equal). The promise holds when everyone
who enters any published figure is indistinguishable from at least threshold - 1 others:
then no sum, difference or other combination says anything about fewer people than the
threshold. The tests enumerate every grouping HR can ask for (department, team,
location) plus the total, for hand-made organisations from the review and for random
ones.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from bot.surveys.definitions import Survey
from bot.surveys.reports import build_report, export_csv, render_text
from bot.surveys.runs import Run
from bot.surveys.scoring import NOT_RECORDED, Response

GROUPINGS = ("department", "team", "location")
UTC = dt.UTC
CLOSED = Run(
    1,
    "pulse",
    dt.date(2026, 3, 2),
    dt.datetime(2026, 3, 2, tzinfo=UTC),
    dt.datetime(2026, 3, 7, tzinfo=UTC),
    "closed",
    dt.datetime(2026, 3, 2, tzinfo=UTC),
)


ITEMS = {"resistance": ("r1", "r2"), "confidence": ("c1",)}


def survey(scores: int = 5, comments: int = 10, optional_confidence: bool = False) -> Survey:
    return Survey.model_validate(
        {
            "id": "pulse",
            "title": "Pulse",
            "intro": "Anonymous.",
            "cadence": {"weekly": {"day": "mon"}},
            "anonymity": {"scores": scores, "comments": comments},
            "questions": [
                {"id": "r1", "text": "Extra work.", "type": "likert5", "dimension": "resistance"},
                {"id": "r2", "text": "Not for me.", "type": "likert5", "dimension": "resistance"},
                {
                    "id": "c1",
                    "text": "I will cope.",
                    "type": "likert5",
                    "dimension": "confidence",
                    "required": not optional_confidence,
                },
                {"id": "comment", "text": "Anything else?", "type": "text", "required": False},
            ],
        }
    )


class Neutral:
    def label(self, text: str) -> str:
        return "neutral"


def person(department="", team="", location="", r=(3, 3), c=3, comment=None) -> Response:
    answers: dict[str, int | str] = {"r1": r[0], "r2": r[1]}
    if c is not None:
        answers["c1"] = c
    if comment:
        answers["comment"] = comment
    labels = {"department": department, "team": team, "location": location}
    return Response(answers=answers, attributes={k: v for k, v in labels.items() if v})


def crowd(n: int, **where) -> list[Response]:
    return [person(**where) for _ in range(n)]


def reports(the_survey: Survey, responses: list[Response]):
    return {
        by: build_report(the_survey, CLOSED, responses, by=by, analyzer=Neutral(), rng=None)
        for by in GROUPINGS
    }


def equations(responses: list[Response], by_grouping: dict, dimension: str) -> list[list[int]]:
    """One row per published figure of `dimension`: the respondents it is a mean over."""
    answered = [i for i, r in enumerate(responses) if any(q in r.answers for q in ITEMS[dimension])]
    rows = []
    for by, report in by_grouping.items():
        if getattr(report.overall, dimension) is not None:
            rows.append(answered)
        for group in report.groups:
            if getattr(group, dimension) is None:
                continue
            rows.append(
                [
                    i
                    for i in answered
                    if (responses[i].attributes.get(by) or NOT_RECORDED) == group.name
                ]
            )
    return rows


def smallest_indistinguishable_set(rows: list[list[int]], n: int) -> int | None:
    """Size of the smallest set of people that the published figures cannot tell apart.

    None when no figure is published at all. People in no figure are left out.
    """
    if not rows:
        return None
    matrix = np.zeros((len(rows), n))
    for row, members in enumerate(rows):
        matrix[row, members] = 1.0
    _, singular, vt = np.linalg.svd(matrix)
    basis = vt[: int((singular > 1e-9).sum())]
    projection = basis.T @ basis  # column i: what the figures say about person i
    involved = np.abs(projection).max(axis=0) > 1e-9
    columns = projection[:, involved]
    if not columns.shape[1]:
        return None
    apart = np.abs(columns[:, :, None] - columns[:, None, :]).max(axis=0)
    return int((apart < 1e-9).sum(axis=1).min())


def assert_nobody_isolated(the_survey: Survey, responses: list[Response]) -> dict:
    threshold = the_survey.anonymity.scores
    by_grouping = reports(the_survey, responses)
    for dimension in ("resistance", "confidence"):
        rows = equations(responses, by_grouping, dimension)
        smallest = smallest_indistinguishable_set(rows, len(responses))
        assert smallest is None or smallest >= threshold, (dimension, smallest)
        # The weaker form: nobody's own score can be solved for.
        if rows:
            matrix = np.zeros((len(rows), len(responses)))
            for row, members in enumerate(rows):
                matrix[row, members] = 1.0
            rank = np.linalg.matrix_rank(matrix)
            for i in range(len(responses)):
                alone = np.zeros(len(responses))
                alone[i] = 1.0
                assert np.linalg.matrix_rank(np.vstack([matrix, alone])) > rank, (dimension, i)
    return by_grouping


# -- the review's organisations -------------------------------------------------------------
TARGET = {"r": (5, 5), "c": 3}  # resistance 100, confidence 50


def issue_example() -> list[Response]:
    """6 x Data - 5 x Alpha gave the lone Solo member's 100 / 50 (the review's numbers)."""
    alpha = [(3, 4), (3, 4), (3, 4), (3, 4), (4, 4)]  # resistance 65.0
    return [
        *(person("Data", "Alpha", r=r, c=4) for r in alpha),
        person("Data", "Solo", **TARGET),
        *crowd(5, department="Ops", team="Ab"),
        *crowd(7, department="Ops", team="Zed"),
    ]


def two_groups_of_one() -> list[Response]:
    """Hidden: 1 and 1, so 'everyone minus the visible groups' was a total over 2 people."""
    return [
        person("A", **TARGET),
        person("B", r=(1, 1), c=5),
        *crowd(10, department="C"),
        *crowd(10, department="D"),
    ]


def team_nested_in_a_department() -> list[Response]:
    """Two small teams in one department: department - big team = the two small ones."""
    return [
        *crowd(5, department="Data", team="Alpha"),
        person("Data", "Beta", **TARGET),
        person("Data", "Beta", r=(1, 2), c=4),
        person("Data", "Gamma", r=(2, 2), c=1),
        *crowd(9, department="Ops", team="Ops-1"),
    ]


def department_and_location_overlap() -> list[Response]:
    """Department A is Lisbon plus one person in Porto: A - Lisbon = that person."""
    return [
        *crowd(5, department="A", location="Lisbon"),
        person("A", location="Porto", **TARGET),
        *crowd(5, department="C", location="Kyiv"),
        *crowd(10, department="B", location="Berlin"),
    ]


def one_answer_to_an_optional_item() -> list[Response]:
    """Data has 6 respondents, but only one answered the (optional) confidence item."""
    return [
        *crowd(5, department="Data", c=None),
        person("Data", **TARGET),
        *crowd(6, department="Ops"),
    ]


CASES = {
    "issue example: department vs team": (issue_example, False),
    "two groups of one": (two_groups_of_one, False),
    "a team nested in a department": (team_nested_in_a_department, False),
    "department vs location overlap": (department_and_location_overlap, False),
    "one answer to an optional item in a large group": (one_answer_to_an_optional_item, True),
}


@pytest.mark.parametrize(("organisation", "optional"), CASES.values(), ids=CASES.keys())
def test_no_combination_of_groupings_isolates_fewer_than_the_threshold(organisation, optional):
    assert_nobody_isolated(survey(optional_confidence=optional), organisation())


def test_department_vs_team_cannot_isolate_one_respondent():
    """The review's exact attack: 6 x 70.8 - 5 x 65.0 = 100 (and 50 for confidence)."""
    by = reports(survey(), issue_example())
    data = next(g for g in by["department"].groups if g.name == "Data")
    alpha = next(g for g in by["team"].groups if g.name == "Alpha")
    assert data.resistance is None or alpha.resistance is None
    assert data.confidence is None or alpha.confidence is None


def test_two_single_person_groups_are_not_revealed_by_subtraction():
    report = reports(survey(), two_groups_of_one())["department"]
    shown = [g for g in report.groups if not g.suppressed]
    left = report.overall.n - sum(g.n for g in shown)
    assert left == 0 or left >= 5  # what is hidden is, together, at least the threshold


def test_comments_are_the_same_whatever_the_grouping():
    """Comments came per group large enough, so department minus team was one comment."""
    the_survey = survey(scores=3, comments=4)
    responses = [
        *(person("Data", "Alpha", comment=f"alpha {i}") for i in range(4)),
        person("Data", "Solo", comment="the lone voice"),
        *(person("Ops", "Ops-1", comment=f"ops {i}") for i in range(2)),
    ]
    released = {by: sorted(r.comments) for by, r in reports(the_survey, responses).items()}
    assert released["department"] == released["team"] == released["location"]
    assert "the lone voice" in released["department"]  # 7 responses >= 4: all of them


def test_no_comment_is_released_when_the_run_has_too_few_responses():
    the_survey = survey(scores=3, comments=8)
    responses = [person("Data", comment=f"note {i}") for i in range(7)]
    for report in reports(the_survey, responses).values():
        assert report.comments == [] and report.sentiment is None


def test_a_hidden_groups_size_is_never_printed():
    the_survey = survey(scores=3, comments=10)
    responses = [
        *crowd(4, department="Data"),  # 4 >= 3, hidden only to protect Sales
        *crowd(2, department="Sales"),
        *crowd(3, department="Ops"),
    ]
    report = reports(the_survey, responses)["department"]
    hidden = {g.name for g in report.groups if g.suppressed}
    assert "Sales" in hidden and len(hidden) >= 2
    rows = {line.split()[0]: line.split()[1] for line in render_text(report).splitlines()[-20:]
            if line.startswith("  ") and line.split()[0] in hidden}  # fmt: skip
    exported = {line.split(",")[0]: line.split(",")[1] for line in export_csv(report).splitlines()}
    for name in hidden:
        true_size = sum(1 for r in responses if r.attributes["department"] == name)
        expected = "<3" if true_size < 3 else "hidden"
        assert rows[name] == exported[name] == expected, name


# -- random organisations -------------------------------------------------------------------
def random_organisation(rng: random.Random) -> list[Response]:
    departments = [f"D{i}" for i in range(rng.randint(1, 4))]
    teams = {d: [f"{d}-t{j}" for j in range(rng.randint(1, 3))] for d in departments}
    locations = [f"L{k}" for k in range(rng.randint(1, 3))]
    people = []
    for _ in range(rng.randint(4, 30)):
        department = rng.choice(departments)
        people.append(
            person(
                department if rng.random() > 0.05 else "",
                rng.choice(teams[department]) if rng.random() > 0.1 else "",
                rng.choice(locations),
                r=(rng.randint(1, 5), rng.randint(1, 5)),
                c=rng.randint(1, 5),
            )
        )
    return people


def test_random_organisations_never_isolate_anyone_across_all_groupings():
    rng = random.Random(20261201)
    useful = 0
    for _ in range(300):
        threshold = rng.choice([3, 4, 5])
        organisation = random_organisation(rng)
        the_survey = survey(scores=threshold, comments=threshold)
        by_grouping = assert_nobody_isolated(the_survey, organisation)
        useful += any(
            not group.suppressed and group.n < len(organisation)
            for report in by_grouping.values()
            for group in report.groups
        )
    assert useful > 150  # the reports still show groups; hiding everything is no answer

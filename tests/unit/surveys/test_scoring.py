"""Scoring: the numbers HR sees, and what stays hidden to protect small groups."""

from __future__ import annotations

import random

import pytest

from bot.surveys.definitions import ADKAR_STAGES, Question, Survey
from bot.surveys.scoring import (
    NOT_RECORDED,
    GroupScore,
    Response,
    barrier_point,
    dimension_means,
    index_0_100,
    item_score,
    participation,
    stage_profile,
)
from bot.surveys.suppression import allowed_comments, breakdown, overall


def question(qid: str, kind: str, dimension: str | None, reverse: bool = False) -> dict:
    return {"id": qid, "text": f"Statement {qid}", "type": kind, "dimension": dimension,
            "reverse": reverse}  # fmt: skip


SURVEY = Survey.model_validate(
    {
        "id": "pulse",
        "title": "Pulse",
        "intro": "Anonymous.",
        "cadence": {"weekly": {"day": "tue"}},
        "questions": [
            question("res", "likert5", "resistance"),
            question("res-rev", "likert5", "resistance", reverse=True),
            question("conf", "scale0_10", "confidence"),
            question("conf-rev", "scale0_10", "confidence", reverse=True),
            *(question(stage, "likert5", stage) for stage in ADKAR_STAGES),
            {"id": "comment", "text": "Anything else?", "type": "text"},
            {"id": "role", "text": "Your role?", "type": "choice", "options": ["IC", "Manager"]},
        ],
    }
)


def answers(**values: int | str) -> Response:
    return Response(answers={k.replace("_", "-"): v for k, v in values.items()})


def in_group(group: str, n: int, **values: int | str) -> list[Response]:
    fields = {k.replace("_", "-"): v for k, v in values.items()}
    return [Response(answers=dict(fields), attributes={"department": group}) for _ in range(n)]


def q(qid: str) -> Question:
    return next(item for item in SURVEY.questions if item.id == qid)


@pytest.mark.parametrize(
    ("qid", "value", "expected"),
    [
        ("res", 1, 1.0),
        ("res", 4, 4.0),
        ("res-rev", 4, 2.0),  # reverse-worded: agreeing means less resistance
        ("res-rev", 1, 5.0),
        ("conf", 0, 1.0),  # scale0_10 maps linearly onto 1..5
        ("conf", 5, 3.0),
        ("conf", 7, 3.8),
        ("conf", 10, 5.0),
        ("conf-rev", 10, 1.0),  # flipped after mapping
        ("conf-rev", 7, 2.2),
        ("conf-rev", 0, 5.0),
    ],
)
def test_item_score(qid, value, expected):
    assert item_score(q(qid), value) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("qid", "value"),
    [("res", 0), ("res", 6), ("res", "3"), ("res", True), ("conf", 11), ("conf", -1),
     ("comment", 3)],
)  # fmt: skip
def test_item_score_rejects_answers_the_item_cannot_have(qid, value):
    with pytest.raises(ValueError):
        item_score(q(qid), value)


def test_dimension_means_average_people_not_answers():
    responses = [
        answers(res=5, res_rev=1, conf=10),  # resistance (5 + 5) / 2 = 5; confidence 5
        answers(res=3),  # resistance 3; skipped for confidence (no answer)
        answers(res=2, res_rev=5, conf=0, conf_rev=0, comment="fine"),  # resistance 1.5; conf 3
    ]

    means = dimension_means(SURVEY, responses)

    assert means["resistance"] == pytest.approx((5 + 3 + 1.5) / 3)
    assert means["confidence"] == pytest.approx((5 + 3) / 2)
    assert means["awareness"] is None  # nobody answered it
    assert list(means) == ["resistance", "confidence", *ADKAR_STAGES]


def test_no_responses_give_no_means():
    assert set(dimension_means(SURVEY, []).values()) == {None}


@pytest.mark.parametrize(
    ("mean", "expected"), [(1.0, 0.0), (2.0, 25.0), (3.0, 50.0), (4.2, 80.0), (5.0, 100.0)]
)
def test_index_0_100(mean, expected):
    assert index_0_100(mean) == pytest.approx(expected)


def test_index_0_100_keeps_no_data_and_rejects_off_scale_means():
    assert index_0_100(None) is None
    with pytest.raises(ValueError):
        index_0_100(0.5)


def test_stage_profile_is_in_adkar_order():
    responses = [answers(awareness=5, desire=4, knowledge=3, ability=2, reinforcement=1)]

    profile = stage_profile(SURVEY, responses)

    assert list(profile.items()) == [
        ("awareness", 5.0), ("desire", 4.0), ("knowledge", 3.0), ("ability", 2.0),
        ("reinforcement", 1.0),
    ]  # fmt: skip


def profile(*means: float | None) -> dict[str, float | None]:
    return dict(zip(ADKAR_STAGES, means, strict=True))


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        (profile(4.5, 4.0, 3.6, 3.2, 3.1), None),  # nothing at or below 3.0
        (profile(4.5, 3.0, 3.6, 3.2, 3.1), "desire"),  # 3.0 itself is a barrier
        (profile(4.5, 4.0, 2.1, 1.5, 2.9), "knowledge"),  # the first of several
        (profile(2.0, 1.0, 1.0, 1.0, 1.0), "awareness"),
        (profile(None, 3.5, None, 2.5, 1.0), "ability"),  # unmeasured stages are skipped
        (profile(None, None, None, None, None), None),
    ],
)
def test_barrier_point(stages, expected):
    assert barrier_point(stages) == expected


def test_barrier_point_reads_stages_in_adkar_order_not_dict_order():
    shuffled = {"reinforcement": 1.0, "ability": 2.0, "awareness": 4.0, "desire": 2.5}
    assert barrier_point(shuffled) == "desire"


def shown(groups: list[GroupScore]) -> dict[str, bool]:
    return {group.name: group.suppressed for group in groups}


def test_breakdown_scores_visible_groups():
    responses = in_group("Data", 5, res=4, res_rev=2, conf=10) + in_group("Ops", 6, res=2, conf=5)

    groups = breakdown(SURVEY, responses, by="department", threshold=5)

    assert groups == [
        GroupScore("Data", 5, resistance=75.0, confidence=100.0, suppressed=False),
        GroupScore("Ops", 6, resistance=25.0, confidence=50.0, suppressed=False),
    ]


@pytest.mark.parametrize(
    ("sizes", "hidden"),
    [
        pytest.param({"Data": 5, "Ops": 9, "Sales": 7}, set(), id="all-at-threshold-or-above"),
        pytest.param({"Data": 4, "Ops": 9}, {"Data", "Ops"}, id="two-groups-one-small"),
        pytest.param(
            {"Data": 2, "Ops": 9, "Sales": 6, "Finance": 12},
            {"Data", "Sales"},
            id="exactly-one-hidden-so-next-smallest-too",
        ),
        pytest.param(
            {"Data": 2, "Ops": 3, "Sales": 6, "Finance": 12}, {"Data", "Ops"}, id="two-hidden"
        ),
        pytest.param(
            {"Data": 1, "Ops": 6, "Sales": 6, "Finance": 12},
            {"Data", "Ops"},
            id="tie-for-next-smallest-goes-to-first-name",
        ),
        pytest.param({"Data": 3}, {"Data"}, id="only-group-too-small"),
    ],
)
def test_breakdown_suppression(sizes, hidden):
    responses = [r for name, n in sizes.items() for r in in_group(name, n, res=3, conf=5)]

    groups = breakdown(SURVEY, responses, by="department", threshold=5)

    assert shown(groups) == {name: name in hidden for name in sorted(sizes)}
    for group in groups:
        # A hidden group's size is not given, only whether it is below the threshold.
        assert group.n == (None if group.suppressed else sizes[group.name])
        assert group.small == (sizes[group.name] < 5)
        assert (group.resistance is None) == group.suppressed
        assert (group.confidence is None) == group.suppressed


def test_breakdown_counts_only_people_who_gave_a_score():
    responses = in_group("Data", 5, res=3) + in_group("Data", 3, comment="only words")

    [group] = breakdown(SURVEY, responses, by="department", threshold=5)

    assert (group.n, group.suppressed) == (5, False)


def test_people_without_the_attribute_form_their_own_group():
    responses = in_group("Data", 6, res=3) + [answers(res=5)] * 5

    assert shown(breakdown(SURVEY, responses, threshold=5)) == {"Data": False, NOT_RECORDED: False}


def test_the_survey_threshold_applies_and_cannot_be_lowered():
    responses = in_group("Data", 4, res=3) + in_group("Ops", 4, res=3)

    assert shown(breakdown(SURVEY, responses)) == {"Data": True, "Ops": True}  # default 5
    with pytest.raises(ValueError, match="below the survey's anonymity setting"):
        breakdown(SURVEY, responses, threshold=3)


def test_overall_is_suppressed_below_the_threshold():
    assert overall(SURVEY, in_group("Data", 4, res=3)).suppressed
    everyone = overall(SURVEY, in_group("Data", 5, res=3))
    assert (everyone.n, everyone.resistance, everyone.suppressed) == (5, 50.0, False)


def commenters(group: str, n: int) -> list[Response]:
    where = {"department": group}
    return [Response({"res": 3, "comment": f"{group} comment {i}"}, where) for i in range(n)]


@pytest.mark.parametrize(("n", "released"), [(9, 0), (10, 10), (12, 12)])
def test_comments_overall_need_the_threshold_of_respondents(n, released):
    assert len(allowed_comments(SURVEY, commenters("Data", n), threshold=10)) == released


def test_comments_come_from_the_whole_run_never_per_group():
    """Per group large enough, department minus team was one person's comment (issue 9)."""
    responses = commenters("Data", 10) + commenters("Ops", 1) + commenters("Sales", 11)

    comments = allowed_comments(SURVEY, responses, rng=random.Random(1))

    assert sorted(comments) == sorted(r.answers["comment"] for r in responses)


def test_comments_are_bare_text_without_blanks_or_choice_answers():
    responses = [
        Response(answers={"comment": "  more training please  ", "role": "Manager"},
                 attributes={"department": "Data", "team": "Routing"}),
        Response(answers={"comment": "   "}),
        *[Response(answers={"res": 3}) for _ in range(8)],
    ]  # fmt: skip

    assert allowed_comments(SURVEY, responses, threshold=10) == ["more training please"]


def test_comment_shuffling_is_repeatable_with_a_seeded_rng():
    responses = commenters("Data", 12)
    in_answer_order = [f"Data comment {i}" for i in range(12)]
    expected = list(in_answer_order)
    random.Random(42).shuffle(expected)

    first = allowed_comments(SURVEY, responses, rng=random.Random(42))
    again = allowed_comments(SURVEY, responses, rng=random.Random(42))

    assert first == again == expected
    assert first != in_answer_order  # the order people answered in is not kept


@pytest.mark.parametrize(
    ("invited", "answered", "expected"), [(40, 30, 0.75), (10, 0, 0.0), (7, 7, 1.0), (0, 0, 0.0)]
)
def test_participation(invited, answered, expected):
    assert participation(invited, answered) == pytest.approx(expected)


@pytest.mark.parametrize(("invited", "answered"), [(5, 6), (-1, 0), (3, -1)])
def test_participation_rejects_impossible_counts(invited, answered):
    with pytest.raises(ValueError):
        participation(invited, answered)

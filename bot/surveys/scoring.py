"""Scores for one survey run, computed from plain responses (no database, no Slack).

Every scale answer is first put on one 1..5 scale (scale0_10 mapped linearly, then
reverse-worded items flipped), so items of different types average together. Reports
built from these functions never show a group smaller than the survey's anonymity
threshold, and release comments only from groups large enough, in shuffled order.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean

from bot.surveys.definitions import ADKAR_STAGES, DIMENSIONS, Dimension, Question, Survey

BARRIER_AT = 3.0  # a stage averaging "neither agree nor disagree" or lower holds people back
NOT_RECORDED = "(not recorded)"  # the group of respondents without the attribute


@dataclass(frozen=True)
class Response:
    """One person's answers, keyed by question id, with attributes copied when they answered."""

    answers: dict[str, int | str]
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupScore:
    """Indices (0..100) for one group; None when suppressed.

    `n` is the true number of scored respondents: a report should show a suppressed
    group's size only as "fewer than <threshold>" when it is below the threshold.
    """

    name: str
    n: int
    resistance: float | None
    confidence: float | None
    suppressed: bool


def item_score(question: Question, value: int | str) -> float:
    """One answer on the common 1..5 scale; raises ValueError for an answer the item cannot have."""
    if not question.is_scale:
        raise ValueError(f"'{question.id}' is a {question.type} question and has no score")
    low, high = (1, 5) if question.type == "likert5" else (0, 10)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"answer {value!r} to '{question.id}' is not a whole number {low}..{high}")
    score = float(value) if question.type == "likert5" else 1 + value * 4 / 10
    return 6 - score if question.reverse else score


def _respondent_mean(survey: Survey, response: Response, dimension: str) -> float | None:
    scores = [
        item_score(question, response.answers[question.id])
        for question in survey.scale_questions
        if question.dimension == dimension and response.answers.get(question.id) is not None
    ]
    return fmean(scores) if scores else None


def _dimension_mean(survey: Survey, responses: Sequence[Response], dimension: str) -> float | None:
    # Each person counts once, however many of the dimension's items they answered.
    means = [_respondent_mean(survey, response, dimension) for response in responses]
    answered = [mean for mean in means if mean is not None]
    return fmean(answered) if answered else None


def dimension_means(survey: Survey, responses: Sequence[Response]) -> dict[Dimension, float | None]:
    """Mean (1..5) per dimension over respondents; None where nobody answered its items."""
    return {dimension: _dimension_mean(survey, responses, dimension) for dimension in DIMENSIONS}


def index_0_100(mean_1_5: float | None) -> float | None:
    """A 1..5 mean as 0..100, the scale the Resistance and Confidence indices are reported on."""
    if mean_1_5 is None:
        return None
    if not 1 <= mean_1_5 <= 5:
        raise ValueError(f"a mean on the 1..5 scale was expected, got {mean_1_5}")
    return (mean_1_5 - 1) / 4 * 100


def stage_profile(survey: Survey, responses: Sequence[Response]) -> dict[str, float | None]:
    """Mean (1..5) per ADKAR stage, in order awareness -> reinforcement."""
    return {stage: _dimension_mean(survey, responses, stage) for stage in ADKAR_STAGES}


def barrier_point(profile: Mapping[str, float | None], at: float = BARRIER_AT) -> str | None:
    """The first ADKAR stage whose mean is <= `at`: later stages cannot hold while it is weak.

    Stages without data are skipped; None when no measured stage is at or below `at`.
    """
    for stage in ADKAR_STAGES:
        mean = profile.get(stage)
        if mean is not None and mean <= at:
            return stage
    return None


def _threshold(given: int | None, configured: int) -> int:
    if given is None:
        return configured
    if given < configured:
        raise ValueError(f"threshold {given} is below the survey's anonymity setting {configured}")
    return given


def _scored(survey: Survey, responses: Sequence[Response]) -> list[Response]:
    ids = {question.id for question in survey.scale_questions}
    return [r for r in responses if any(r.answers.get(i) is not None for i in ids)]


def _groups(responses: Sequence[Response], by: str) -> dict[str, list[Response]]:
    groups: dict[str, list[Response]] = {}
    for response in responses:
        groups.setdefault(response.attributes.get(by) or NOT_RECORDED, []).append(response)
    return groups


def _group_score(survey: Survey, name: str, members: list[Response], hide: bool) -> GroupScore:
    if hide:
        return GroupScore(name, len(members), None, None, suppressed=True)
    resistance = index_0_100(_dimension_mean(survey, members, "resistance"))
    confidence = index_0_100(_dimension_mean(survey, members, "confidence"))
    return GroupScore(name, len(members), resistance, confidence, suppressed=False)


def overall(
    survey: Survey, responses: Sequence[Response], threshold: int | None = None
) -> GroupScore:
    """Indices over everyone who gave a score, suppressed when fewer than the threshold did."""
    scored = _scored(survey, responses)
    limit = _threshold(threshold, survey.anonymity.scores)
    return _group_score(survey, "everyone", scored, hide=len(scored) < limit)


def breakdown(
    survey: Survey,
    responses: Sequence[Response],
    by: str = "department",
    threshold: int | None = None,
) -> list[GroupScore]:
    """Indices per value of attribute `by`, sorted by group name, with small groups suppressed.

    Groups with fewer than `threshold` scored respondents (default: the survey's
    `anonymity.scores`; it can be raised, never lowered) are suppressed. When exactly
    one group is suppressed, the smallest visible group is suppressed too, so the
    hidden one cannot be worked out from the overall figure by subtraction. Ties for
    smallest go to the first group name in sort order: one extra group is enough, since
    subtraction then only yields the two groups' combined score. With two or more
    groups suppressed, nothing more is hidden. Respondents without the attribute form
    the group NOT_RECORDED.
    """
    limit = _threshold(threshold, survey.anonymity.scores)
    groups = _groups(_scored(survey, responses), by)
    hidden = {name for name, members in groups.items() if len(members) < limit}
    if len(hidden) == 1:
        visible = sorted(
            (len(members), name) for name, members in groups.items() if name not in hidden
        )
        if visible:
            hidden.add(visible[0][1])
    return [
        _group_score(survey, name, members, hide=name in hidden)
        for name, members in sorted(groups.items())
    ]


def allowed_comments(
    survey: Survey,
    responses: Sequence[Response],
    by: str | None = None,
    threshold: int | None = None,
    rng: random.Random | None = None,
) -> list[str]:
    """Text answers that may be shown: bare strings, shuffled so order cannot date them.

    Args:
        by: attribute to group on; comments come only from groups with at least
            `threshold` respondents. Without it, all comments or none, by the total.
        threshold: default the survey's `anonymity.comments`; it can be raised, never lowered.
        rng: shuffles the comments; pass a seeded `random.Random` for a repeatable order.
    """
    limit = _threshold(threshold, survey.anonymity.comments)
    if by is None:
        released = list(responses) if len(responses) >= limit else []
    else:
        released = [
            response
            for members in _groups(responses, by).values()
            if len(members) >= limit
            for response in members
        ]
    text_ids = [question.id for question in survey.questions if question.type == "text"]
    comments = [
        answer.strip()
        for response in released
        for question_id in text_ids
        if isinstance(answer := response.answers.get(question_id), str) and answer.strip()
    ]
    (rng or random.Random()).shuffle(comments)
    return comments


def participation(invited: int, answered: int) -> float:
    """Share of invited people who answered, 0.0..1.0 (0.0 when nobody was invited)."""
    if invited < 0 or answered < 0 or answered > invited:
        raise ValueError(f"cannot have {answered} answers from {invited} invited")
    return answered / invited if invited else 0.0

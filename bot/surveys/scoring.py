"""Scores for one survey run, computed from plain responses (no database, no Slack).

Every scale answer is first put on one 1..5 scale (scale0_10 mapped linearly, then
reverse-worded items flipped), so items of different types average together. What a
report may show of these scores, per group and across groupings, is decided in
bot.surveys.suppression.
"""

from __future__ import annotations

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
    """Indices (0..100) for one group; None when suppressed (or a dimension is too sparse).

    `n` is the number of respondents with scores, None for a hidden group: its size is
    never given, except `small` = certainly fewer than the threshold.
    """

    name: str
    n: int | None
    resistance: float | None
    confidence: float | None
    suppressed: bool
    small: bool = False


def item_score(question: Question, value: int | str) -> float:
    """One answer on the common 1..5 scale; raises ValueError for an answer the item cannot have."""
    if not question.is_scale:
        raise ValueError(f"'{question.id}' is a {question.type} question and has no score")
    low, high = (1, 5) if question.type == "likert5" else (0, 10)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"answer {value!r} to '{question.id}' is not a whole number {low}..{high}")
    score = float(value) if question.type == "likert5" else 1 + value * 4 / 10
    return 6 - score if question.reverse else score


def respondent_mean(survey: Survey, response: Response, dimension: str) -> float | None:
    """One person's 1..5 mean over the items of `dimension` they answered; None if none."""
    scores = [
        item_score(question, response.answers[question.id])
        for question in survey.scale_questions
        if question.dimension == dimension and response.answers.get(question.id) is not None
    ]
    return fmean(scores) if scores else None


def _dimension_mean(survey: Survey, responses: Sequence[Response], dimension: str) -> float | None:
    # Each person counts once, however many of the dimension's items they answered.
    means = [respondent_mean(survey, response, dimension) for response in responses]
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


def threshold_for(given: int | None, configured: int) -> int:
    """`given` (a caller's stricter threshold) or the survey's; never below the survey's."""
    if given is None:
        return configured
    if given < configured:
        raise ValueError(f"threshold {given} is below the survey's anonymity setting {configured}")
    return given


def text_answers(survey: Survey, response: Response) -> list[str]:
    """A response's non-blank text answers, stripped."""
    return [
        answer.strip()
        for question in survey.questions
        if question.type == "text"
        and isinstance(answer := response.answers.get(question.id), str)
        and answer.strip()
    ]


def participation(invited: int, answered: int) -> float:
    """Share of invited people who answered, 0.0..1.0 (0.0 when nobody was invited)."""
    if invited < 0 or answered < 0 or answered > invited:
        raise ValueError(f"cannot have {answered} answers from {invited} invited")
    return answered / invited if invited else 0.0

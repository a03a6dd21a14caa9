"""Employee Net Promoter Score of an `enps` question (0..10 "would you recommend...").

eNPS = % promoters (9-10) - % detractors (0-6), from -100 to +100; passives (7-8) count in
the total only. Like every score it is shown only when at least the survey's score threshold
(`anonymity.scores`) of people answered the question; below it only that it is hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.surveys.definitions import Survey

PROMOTER_FROM = 9
DETRACTOR_UP_TO = 6


@dataclass(frozen=True)
class Enps:
    question_id: str
    respondents: int | None  # None when suppressed: not even the count is shown
    promoters: int | None
    passives: int | None
    detractors: int | None
    score: float | None  # -100..100, None when suppressed

    @property
    def suppressed(self) -> bool:
        return self.score is None


def enps(question_id: str, values: Iterable[int], threshold: int) -> Enps:
    """The eNPS of the 0..10 ``values``, suppressed below ``threshold`` respondents."""
    values = [int(value) for value in values]
    if any(not 0 <= value <= 10 for value in values):
        raise ValueError("eNPS answers run from 0 to 10")
    if len(values) < threshold or not values:
        return Enps(question_id, None, None, None, None, None)
    promoters = sum(value >= PROMOTER_FROM for value in values)
    detractors = sum(value <= DETRACTOR_UP_TO for value in values)
    score = 100.0 * (promoters - detractors) / len(values)
    return Enps(
        question_id, len(values), promoters, len(values) - promoters - detractors, detractors, score
    )


def survey_enps(survey: Survey, answers: Sequence[dict[str, object]]) -> list[Enps]:
    """One Enps per `enps` question of ``survey``, from each response's answers."""
    return [
        enps(
            question.id,
            (a[question.id] for a in answers if isinstance(a.get(question.id), int)),
            survey.anonymity.scores,
        )
        for question in survey.questions
        if question.type == "enps"
    ]


def render(result: Enps) -> str:
    """One line for a text report."""
    if result.suppressed:
        return f"eNPS ({result.question_id}): hidden, too few answers"
    return (
        f"eNPS ({result.question_id}): {result.score:+.0f} "
        f"({result.promoters} promoters, {result.passives} passives, "
        f"{result.detractors} detractors of {result.respondents})"
    )

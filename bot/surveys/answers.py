"""A person's answers checked against the survey before they are stored, and what
submitting them can end in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.surveys.definitions import Question, Survey
from bot.surveys.scoring import item_score
from bot.surveys.suppression import ATTRIBUTES

MAX_TEXT = 3000  # Slack's limit for a plain-text input


class SurveyClosed(Exception):
    """The run no longer takes answers. `closed_at` (UTC) lets a caller show local time."""

    def __init__(self, closed_on: dt.date, closed_at: dt.datetime | None = None) -> None:
        super().__init__(f"This survey closed on {closed_on:%A %d %B %Y}.")
        self.closed_on = closed_on
        self.closed_at = closed_at


class NotInvited(LookupError):
    """The person was not invited to this run, so their answers cannot be counted."""


@dataclass(frozen=True)
class SubmitResult:
    """`stored`: the answers given are now the stored ones (False: the same were already
    there, e.g. a double click). `replaced`: an earlier, different response was overwritten."""

    stored: bool
    replaced: bool


class InvalidAnswers(ValueError):
    """Answers that do not fit the survey's questions; `problems` lists each one."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def validate_answers(survey: Survey, answers: Mapping[str, object]) -> dict[str, int | str]:
    """The answers to store: checked against the questions, blanks and None left out.

    Raises:
        InvalidAnswers: naming every unknown question, bad value and missing required answer.
    """
    if not isinstance(answers, Mapping):
        raise InvalidAnswers(
            [f"answers must be a mapping of question id to answer, not {answers!r}"]
        )
    questions = {question.id: question for question in survey.questions}
    problems: list[str] = []
    clean: dict[str, int | str] = {}
    wrong: set[str] = set()
    for question_id, value in answers.items():
        question = questions.get(question_id)
        if question is None:
            problems.append(f"'{question_id}' is not a question of survey '{survey.id}'")
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # left blank
        problem = _check(question, value)
        if problem:
            problems.append(problem)
            wrong.add(question_id)
        else:
            clean[question_id] = value.strip() if isinstance(value, str) else value
    problems += [
        f"'{question.id}' needs an answer"
        for question in survey.questions
        if question.required and question.id not in clean and question.id not in wrong
    ]
    if problems:
        raise InvalidAnswers(problems)
    return clean


def _check(question: Question, value: object) -> str | None:
    if question.is_scale:
        try:
            item_score(question, value)  # type: ignore[arg-type]
        except ValueError as exc:
            return str(exc)
        return None
    if question.type == "enps":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
            return f"answer to '{question.id}' must be a whole number from 0 to 10, not {value!r}"
        return None
    if question.type == "choice":
        if value not in question.options:
            return f"answer {value!r} to '{question.id}' is not one of its options"
        return None
    if not isinstance(value, str):
        return f"answer to '{question.id}' must be text, not {type(value).__name__}"
    if len(value) > MAX_TEXT:
        return f"answer to '{question.id}' is longer than {MAX_TEXT} characters"
    return None


def stored_attributes(attributes: Mapping[str, object] | None) -> dict[str, str]:
    """Only department, team and location, as text, always in that order (equal labels
    must be stored as equal JSON text, see bot.surveys.aggregate); nothing else is kept."""
    kept = {}
    for key in ATTRIBUTES:
        value = (attributes or {}).get(key)
        if value is not None and str(value).strip():
            kept[key] = str(value).strip()
    return kept

"""Each response's scores and comment sentiment, computed once when it is stored.

A report sums these columns per group (bot.surveys.aggregate) instead of reading every
answer and labelling every comment each time. They are a cache of `answers` under one
survey definition: the run records which (`scored_with`, a hash of all that scoring
reads — each scale item's id, type, dimension and reverse flag, and the text items'
ids). A report or a seal of a run scored under another definition (HR edited the file)
or not scored at all (rows written before migration 0011 without the definitions)
rescores the run first (`ensure_scored`), so the figures follow the current definition
as they did when every report re-read the answers. A comment keeps the label the
analyzer gave it when it was stored (or rescored); reports never label again.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from functools import cache
from statistics import fmean

from sqlalchemy import Float, Integer, bindparam, case, cast, func, or_, select, update
from sqlalchemy.orm import Session

from bot.store.models import SurveyResponse, SurveyRun
from bot.surveys.definitions import DIMENSIONS, Question, Survey
from bot.surveys.scoring import Response, item_score, text_answers
from bot.surveys.sentiment import LABELS, Labeller, SentimentAnalyzer

SCORE_COLUMNS = {dimension: f"score_{dimension}" for dimension in DIMENSIONS}
SENTIMENT_COLUMNS = {label: f"comments_{label}" for label in LABELS}
BATCH = 2000  # comments labelled and written per statement when a run is rescored


@cache
def default_labeller() -> SentimentAnalyzer:
    """VADER with the workplace rules, built once (its lexicon takes a moment to load)."""
    return SentimentAnalyzer()


def scoring_key(survey: Survey) -> str:
    """A hash of everything the stored columns are computed from in `survey`."""
    scale = [[q.id, q.type, q.dimension, q.reverse] for q in survey.scale_questions]
    texts = [q.id for q in survey.questions if q.type == "text"]
    return hashlib.sha256(json.dumps([scale, texts]).encode()).hexdigest()[:32]


def _mean(survey: Survey, answers: Mapping[str, object], dimension: str) -> float | None:
    # scoring.respondent_mean, except that an answer an edited item can no longer have
    # (a 0..10 answer to what is now a 1..5 item) is left out instead of raising.
    scores = []
    for question in survey.scale_questions:
        value = answers.get(question.id)
        if question.dimension != dimension or value is None:
            continue
        try:
            scores.append(item_score(question, value))  # type: ignore[arg-type]
        except ValueError:
            continue
    return fmean(scores) if scores else None


def sentiment_counts(
    comments: list[str], labeller: Labeller, labels: list[str] | None = None
) -> dict[str, int]:
    """The comment-count columns: how many of `comments` got each label (`labels`, when
    they were worked out already, else the labeller's)."""
    counts = Counter(labels if labels is not None else map(labeller.label, comments))
    return {SENTIMENT_COLUMNS[label]: counts.get(label, 0) for label in LABELS}


def label_all(texts: list[str], labeller: Labeller) -> list[str]:
    """Labels for many comments: in one call when the labeller has `label_many` (a learned
    classifier embeds a batch far faster than one text at a time), else one by one."""
    many = getattr(labeller, "label_many", None)
    return list(many(texts)) if many is not None and texts else [labeller.label(t) for t in texts]


def response_fields(
    survey: Survey, answers: Mapping[str, object], labeller: Labeller
) -> dict[str, object]:
    """The stored columns of one response: scored, a 1..5 mean per dimension, comments and
    their label counts. The same figures as scoring.respondent_mean and text_answers."""
    fields: dict[str, object] = {
        "scored": int(any(answers.get(q.id) is not None for q in survey.scale_questions))
    }
    for dimension, name in SCORE_COLUMNS.items():
        fields[name] = _mean(survey, answers, dimension)
    comments = text_answers(survey, Response(answers=dict(answers)))
    fields["comments"] = comments or None
    fields.update(sentiment_counts(comments, labeller))
    return fields


def ensure_scored(session: Session, survey: Survey, run_id: int, labeller: Labeller) -> bool:
    """Rescore the run's responses unless they were scored under `survey` as it is now.

    True when it rescored. Two processes doing it at once write the same values.
    """
    # Only the columns named here are read and written (no ORM row), so migration 0011
    # can call this whatever columns later revisions add.
    key = scoring_key(survey)
    found = session.execute(select(SurveyRun.scored_with).where(SurveyRun.id == run_id)).first()
    if found is None or found[0] == key:
        return False
    rescore_run(session, survey, run_id, labeller)
    session.execute(update(SurveyRun).where(SurveyRun.id == run_id).values(scored_with=key))
    return True


def rescore_run(session: Session, survey: Survey, run_id: int, labeller: Labeller) -> None:
    """Every response of the run scored from its answers: the scores with one UPDATE in
    SQL, the comments (only rows that have one) labelled in Python in batches."""
    table = SurveyResponse.__table__
    answers = table.c.answers
    mine = table.c.run_id == run_id
    number = (lambda key: answers[key].as_float()) if survey.scale_questions else None
    values: dict[str, object] = {
        "scored": case(*((number(q.id).is_not(None), 1) for q in survey.scale_questions), else_=0)
        if survey.scale_questions
        else 0,
        "comments": None,
        **{name: 0 for name in SENTIMENT_COLUMNS.values()},
    }
    for dimension, name in SCORE_COLUMNS.items():
        items = [q for q in survey.scale_questions if q.dimension == dimension]
        values[name] = _sql_mean([_sql_item(q, number(q.id)) for q in items]) if items else None
    session.execute(update(table).where(mine).values(values))
    text_ids = [q.id for q in survey.questions if q.type == "text"]
    if not text_ids:
        return
    has_text = or_(*(answers[key].as_string().is_not(None) for key in text_ids))
    rows = session.execute(select(table.c.id, answers).where(mine, has_text)).all()
    write = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(
            comments=bindparam("texts", type_=table.c.comments.type),
            **{name: bindparam(f"n_{name}", type_=Integer) for name in SENTIMENT_COLUMNS.values()},
        )
    )
    for start in range(0, len(rows), BATCH):
        found = [
            (row_id, text_answers(survey, Response(answers=dict(stored or {}))))
            for row_id, stored in rows[start : start + BATCH]
        ]
        found = [(row_id, comments) for row_id, comments in found if comments]
        labels = iter(label_all([text for _, comments in found for text in comments], labeller))
        batch = []
        for row_id, comments in found:
            given = [next(labels) for _ in comments]
            counts = sentiment_counts(comments, labeller, given)
            batch.append(
                {"row_id": row_id, "texts": comments}
                | {f"n_{name}": count for name, count in counts.items()}
            )
        if batch:
            session.connection().execute(write, batch)


def _sql_item(question: Question, value):
    """scoring.item_score in SQL: the answer on the 1..5 scale, reverse items flipped."""
    score = value if question.type == "likert5" else 1.0 + value * 0.4
    return 6.0 - score if question.reverse else score


def _sql_mean(scores: list):
    """The mean of the item scores a respondent has in one dimension; NULL if none."""
    if len(scores) == 1:
        return scores[0]
    total = sum((func.coalesce(score, 0.0) for score in scores[1:]), func.coalesce(scores[0], 0.0))
    answered = sum(
        (case((score.is_not(None), 1), else_=0) for score in scores[1:]),
        case((scores[0].is_not(None), 1), else_=0),
    )
    return total / cast(func.nullif(answered, 0), Float)

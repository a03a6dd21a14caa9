"""A run's cells computed in the database: one GROUP BY over the responses' group labels.

The one place where responses become aggregates for reports and for sealing a run (see
bot.surveys.suppression for what a cell is and how cells become published figures). A
run with 100,000 responses is never pulled into Python.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from sqlalchemy import Float, Text, case, cast, column, func, select, true
from sqlalchemy.orm import Session

from bot.store.models import SurveyResponse
from bot.surveys.definitions import DIMENSIONS, Question, Survey
from bot.surveys.suppression import Cell, labels_of, merge_equal


def run_cells(
    session: Session,
    survey: Survey,
    run_id: int,
    *,
    dimensions: Collection[str] = DIMENSIONS,
    comments: bool = False,
) -> list[Cell]:
    """Per distinct group labels: counts, per-dimension sums and counts, and (if asked)
    the comments. Matches suppression.cells_from_responses.

    Leaving dimensions out (count 0) saves reading their answers; `scored` still counts
    every scale item, so the partition never depends on `dimensions`.
    """
    questions = [q for q in survey.scale_questions if q.dimension in dimensions]
    text_ids = [q.id for q in survey.questions if q.type == "text"] if comments else []
    wanted = [d for d in DIMENSIONS if any(q.dimension == d for q in questions)]
    query = _cells_query(
        session.get_bind().dialect.name,
        run_id,
        survey.scale_questions,
        questions,
        text_ids,
        wanted,
    )
    cells = []
    for row in session.execute(query).all():
        data = row._mapping
        texts: list[str] = []
        for number in range(len(text_ids)):
            found = data[f"t{number}"]
            found = json.loads(found) if isinstance(found, str) else found
            texts += [t.strip() for t in found or () if isinstance(t, str) and t.strip()]
        stored = data["labels"]
        cells.append(
            Cell(
                labels=labels_of(json.loads(stored) if isinstance(stored, str) else stored),
                total=int(data["total"]),
                scored=int(data["scored"] or 0),
                sums={d: float(data[f"s_{d}"] or 0.0) for d in wanted},
                counts={d: int(data[f"n_{d}"]) for d in wanted},
                comments=tuple(texts),
            )
        )
    return merge_equal(cells)


def _cells_query(dialect: str, run_id: int, scale, questions, text_ids, dimensions):
    """SELECT per stored labels: total, scored, sum and count per dimension, comments.

    Each answer is read from the JSON once per row. On SQLite the query is built in layers
    that must not be merged (that would repeat the reading at every use); SQLite keeps a
    subquery with a LIMIT apart. PostgreSQL parses each row's answers once with
    json_to_record, twice as fast as casting to jsonb, and may then merge the layers.
    `scored` is a CASE over every scale item (`scale`), which stops at the first answer.
    """

    def fenced(query):
        # PostgreSQL's record columns are cheap to reuse: there the layers may be merged.
        return (query.limit(-1) if dialect == "sqlite" else query).subquery()

    source = SurveyResponse.__table__
    if dialect == "postgresql":
        record = (
            func.json_to_record(SurveyResponse.answers)
            .table_valued(
                *(column(q.id, Float) for q in scale), *(column(t, Text) for t in text_ids)
            )
            .render_derived(with_types=True)
        )
        source = source.join(record, true())
        number = text = record.c.__getitem__
    else:
        answers = SurveyResponse.answers
        number, text = (lambda key: answers[key].as_float()), (lambda key: answers[key].as_string())
    scored = case(*((number(q.id).is_not(None), 1) for q in scale), else_=0)
    values = fenced(
        select(
            # The labels as stored (JSON text): equal dicts are written alike, and cells
            # spelled differently are merged in Python after parsing.
            cast(SurveyResponse.attributes, Text).label("labels"),
            scored.label("scored"),
            *(_item_score(q, number(q.id)).label(f"s{i}") for i, q in enumerate(questions)),
            *(text(t).label(f"t{i}") for i, t in enumerate(text_ids)),
        )
        .select_from(source)
        .where(SurveyResponse.run_id == run_id)
    )
    scores = {q.id: values.c[f"s{i}"] for i, q in enumerate(questions)}
    per_person = fenced(
        select(
            values.c.labels,
            values.c.scored,
            *(
                _respondent_mean([scores[q.id] for q in questions if q.dimension == d]).label(d)
                for d in dimensions
            ),
            *(values.c[f"t{i}"] for i in range(len(text_ids))),
        )
    )
    columns = [per_person.c.labels, func.count().label("total")]
    columns.append(func.sum(per_person.c.scored).label("scored"))
    for d in dimensions:
        columns.append(func.sum(per_person.c[d]).label(f"s_{d}"))
        columns.append(func.count(per_person.c[d]).label(f"n_{d}"))
    aggregate = func.json_agg if dialect == "postgresql" else func.json_group_array
    for i in range(len(text_ids)):
        comment = per_person.c[f"t{i}"]
        columns.append(aggregate(comment).filter(comment.is_not(None)).label(f"t{i}"))
    return select(*columns).group_by(per_person.c.labels)


def _item_score(question: Question, value):
    """scoring.item_score in SQL: the answer on the 1..5 scale, reverse items flipped."""
    score = value if question.type == "likert5" else 1.0 + value * 0.4
    return 6.0 - score if question.reverse else score


def _respondent_mean(scores: list):
    """The mean of the item scores a respondent has in one dimension; NULL if none."""
    if len(scores) == 1:
        return scores[0]
    total = sum((func.coalesce(score, 0.0) for score in scores[1:]), func.coalesce(scores[0], 0.0))
    answered = sum(
        (case((score.is_not(None), 1), else_=0) for score in scores[1:]),
        case((scores[0].is_not(None), 1), else_=0),
    )
    return total / cast(func.nullif(answered, 0), Float)  # not NUMERIC: PostgreSQL is slow at it

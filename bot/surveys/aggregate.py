"""A run's cells computed in the database: one GROUP BY over the responses' group labels.

The one place where responses become aggregates for reports and for sealing a run (see
bot.surveys.suppression for what a cell is and how cells become published figures). It
sums the scores and comment labels stored with each response when it was submitted
(bot.surveys.stored_scores): no answer is read and no comment labelled here, and a run
with 100,000 responses is never pulled into Python. The caller makes sure the run is
scored under the current definition first (SurveyRuns.cells, SurveyRuns.seal).
"""

from __future__ import annotations

import json
from collections.abc import Collection

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from bot.store.models import SurveyResponse
from bot.surveys.definitions import DIMENSIONS, Survey
from bot.surveys.sentiment import LABELS
from bot.surveys.stored_scores import SCORE_COLUMNS, SENTIMENT_COLUMNS
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
    the comments with their sentiment counts. Matches suppression.cells_from_responses.

    Leaving dimensions out (count 0) saves summing them; `scored` counts every scale
    item, so the partition never depends on `dimensions`.
    """
    wanted = [
        d
        for d in DIMENSIONS
        if d in dimensions and any(q.dimension == d for q in survey.scale_questions)
    ]
    has_text = comments and any(q.type == "text" for q in survey.questions)
    query = _cells_query(session.get_bind().dialect.name, run_id, wanted, comments, has_text)
    cells = []
    for row in session.execute(query).all():
        data = row._mapping
        texts: list[str] = []
        if has_text:
            found = data["texts"]
            for listed in (json.loads(found) if isinstance(found, str) else found) or ():
                texts += listed or ()
        stored = data["labels"]
        cells.append(
            Cell(
                labels=labels_of(json.loads(stored) if isinstance(stored, str) else stored),
                total=int(data["total"]),
                scored=int(data["scored"] or 0),
                sums={d: float(data[f"s_{d}"] or 0.0) for d in wanted},
                counts={d: int(data[f"n_{d}"]) for d in wanted},
                comments=tuple(texts),
                sentiment=(
                    {label: int(data[f"c_{label}"] or 0) for label in LABELS} if comments else None
                ),
            )
        )
    return merge_equal(cells)


def _cells_query(dialect: str, run_id: int, dimensions, comments: bool, has_text: bool):
    """SELECT per stored labels: total, scored, sum and count per dimension, comments."""
    table = SurveyResponse.__table__
    # The labels as stored (JSON text): equal dicts are written alike, and cells spelled
    # differently are merged in Python after parsing.
    labels = cast(table.c.attributes, Text)
    columns = [
        labels.label("labels"),
        func.count().label("total"),
        func.sum(table.c.scored).label("scored"),
    ]
    for d in dimensions:
        score = table.c[SCORE_COLUMNS[d]]
        columns += [func.sum(score).label(f"s_{d}"), func.count(score).label(f"n_{d}")]
    if comments:
        columns += [
            func.sum(table.c[SENTIMENT_COLUMNS[label]]).label(f"c_{label}") for label in LABELS
        ]
    if has_text:
        stored = table.c.comments
        listed = (
            func.json_agg(stored)
            if dialect == "postgresql"
            else func.json_group_array(func.json(stored))
        )
        columns.append(listed.filter(stored.is_not(None)).label("texts"))
    return select(*columns).where(table.c.run_id == run_id).group_by(labels)

"""A sealed run's cells kept in `survey_run_cells`, so its report reads a few rows.

A sealed run no longer changes: it takes no answers and its labels are its blocks. So
its cells (bot.surveys.suppression) are summed once — when it is sealed, or by the first
report after — and every later report reads one row per block instead of every response.
The rows hold nothing the responses table does not (each block's labels already cover
at least the threshold of people there). They are kept under the scoring key of the
definition they were summed with (`survey_runs.cells_with`); when HR edits the survey the
run is rescored (bot.surveys.stored_scores) and its rows are written again.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import SurveyRun, SurveyRunCell
from bot.surveys.aggregate import run_cells
from bot.surveys.definitions import DIMENSIONS, Survey
from bot.surveys.sentiment import Labeller
from bot.surveys.stored_scores import ensure_scored, scoring_key
from bot.surveys.suppression import Cell, attributes_of, labels_of, merge_equal


def summed_cells(
    session: Session,
    survey: Survey,
    run_id: int,
    labeller: Labeller,
    *,
    dimensions: Collection[str] = DIMENSIONS,
    comments: bool = False,
) -> list[Cell]:
    """The run's cells as `aggregate.run_cells` gives them: from the kept rows when the
    run is sealed and they were summed under `survey` as it is now; else summed from the
    stored scores (rescored first if stale), and kept when the run is sealed."""
    key = scoring_key(survey)
    state = session.execute(
        select(SurveyRun.sealed, SurveyRun.cells_with).where(SurveyRun.id == run_id)
    ).first()
    if state is not None and state.sealed and state.cells_with == key:
        return _narrowed(survey, _read(session, run_id, comments), dimensions, comments)
    ensure_scored(session, survey, run_id, labeller)
    if state is None or not state.sealed:
        return run_cells(session, survey, run_id, dimensions=dimensions, comments=comments)
    # Another process may be summing the same run: the row lock (PostgreSQL) or the
    # write lock (SQLite) puts one after the other, and each replaces the rows whole.
    session.execute(select(SurveyRun.id).where(SurveyRun.id == run_id).with_for_update())
    cells = run_cells(session, survey, run_id, comments=True)
    keep(session, run_id, cells, key)
    return _narrowed(survey, cells, dimensions, comments)


def rescore_runs(sessions: sessionmaker[Session], survey: Survey, labeller: Labeller) -> int:
    """Score every run of `survey` again from its answers and label its comments again
    with `labeller` (after the analyzer changed); a sealed run's kept cells follow.
    Returns how many runs. One transaction per run."""
    with sessions() as session:
        ids = session.scalars(select(SurveyRun.id).where(SurveyRun.survey_id == survey.id)).all()
    for run_id in ids:
        with sessions.begin() as session:
            session.execute(
                update(SurveyRun)
                .where(SurveyRun.id == run_id)
                .values(scored_with=None, cells_with=None)
            )
            summed_cells(session, survey, run_id, labeller)
    return len(ids)


def keep(session: Session, run_id: int, cells: list[Cell], key: str) -> None:
    """Replace the run's kept cells with `cells`, summed under scoring `key`."""
    session.execute(delete(SurveyRunCell).where(SurveyRunCell.run_id == run_id))
    rows = [
        {
            "run_id": run_id,
            "labels": json.dumps(attributes_of(cell.labels)),
            "total": cell.total,
            "scored": cell.scored,
            "sums": dict(cell.sums),
            "counts": dict(cell.counts),
            "sentiment": dict(cell.sentiment or {}),
            "comments": list(cell.comments),
        }
        for cell in cells
    ]
    if rows:
        session.execute(insert(SurveyRunCell), rows)
    session.execute(update(SurveyRun).where(SurveyRun.id == run_id).values(cells_with=key))


def forget(session: Session, run_id: int) -> None:
    """Drop the run's kept cells (its responses changed)."""
    session.execute(delete(SurveyRunCell).where(SurveyRunCell.run_id == run_id))
    session.execute(update(SurveyRun).where(SurveyRun.id == run_id).values(cells_with=None))


def _read(session: Session, run_id: int, comments: bool) -> list[Cell]:
    table = SurveyRunCell.__table__
    wanted = [table.c.labels, table.c.total, table.c.scored, table.c.sums, table.c.counts]
    if comments:  # the bulk of the rows: read only for a full report
        wanted += [table.c.sentiment, table.c.comments]
    rows = session.execute(select(*wanted).where(table.c.run_id == run_id)).all()
    cells = [
        Cell(
            labels=labels_of(json.loads(row.labels)),
            total=row.total,
            scored=row.scored,
            sums=row.sums,
            counts=row.counts,
            comments=tuple(row.comments or ()) if comments else (),
            sentiment=row.sentiment if comments else None,
        )
        for row in rows
    ]
    return merge_equal(cells)  # in the order run_cells gives them


def _narrowed(
    survey: Survey, cells: list[Cell], dimensions: Collection[str], comments: bool
) -> list[Cell]:
    """Cells with only what `run_cells(dimensions=..., comments=...)` would have read."""
    wanted = [
        d
        for d in DIMENSIONS
        if d in dimensions and any(q.dimension == d for q in survey.scale_questions)
    ]
    return [
        Cell(
            labels=cell.labels,
            total=cell.total,
            scored=cell.scored,
            sums={d: float(cell.sums.get(d, 0.0)) for d in wanted},
            counts={d: int(cell.counts.get(d, 0)) for d in wanted},
            comments=cell.comments if comments else (),
            sentiment=dict(cell.sentiment or {}) if comments else None,
        )
        for cell in cells
    ]

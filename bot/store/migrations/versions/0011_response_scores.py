"""response scores: each response's dimension means, comments and their sentiment counts,
stored when it is submitted, the scoring the run's rows were computed with, and a sealed
run's cells kept for its reports (survey_run_cells)

Existing rows are backfilled run by run when the caller hands over the survey definitions
(`bot.store.db.migrate(engine, surveys=..., labeller=...)`, as the container does): the
scores in SQL, the comments labelled by the analyzer. A run whose survey is not given (a
bare `alembic upgrade`, a deleted survey file) keeps NULL `scored_with` and is scored by
its first report or seal (bot/surveys/stored_scores.py `ensure_scored`); the cells of a
sealed run are then kept (bot/surveys/run_summary.py).

Revision ID: 0011_response_scores
Revises: 0010_console_signin_ingest_log
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0011_response_scores"
down_revision = "0010_console_signin_ingest_log"
branch_labels = None
depends_on = None

DIMENSIONS = ("resistance", "confidence", "awareness", "desire", "knowledge", "ability",
              "reinforcement")  # fmt: skip
LABELS = ("negative", "neutral", "positive")


def upgrade() -> None:
    with op.batch_alter_table("survey_runs") as batch:
        batch.add_column(sa.Column("scored_with", sa.String(64), nullable=True))
        batch.add_column(sa.Column("cells_with", sa.String(64), nullable=True))
    with op.batch_alter_table("survey_responses") as batch:
        batch.add_column(sa.Column("scored", sa.Integer(), nullable=True))
        for dimension in DIMENSIONS:
            batch.add_column(sa.Column(f"score_{dimension}", sa.Float(), nullable=True))
        batch.add_column(sa.Column("comments", sa.JSON(none_as_null=True), nullable=True))
        for label in LABELS:
            batch.add_column(
                sa.Column(f"comments_{label}", sa.Integer(), nullable=False, server_default="0")
            )
    op.create_table(
        "survey_run_cells",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("survey_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("sums", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("sentiment", sa.JSON(), nullable=False),
        sa.Column("comments", sa.JSON(), nullable=False),
    )
    op.create_index("ix_survey_run_cells_run", "survey_run_cells", ["run_id"])
    _backfill()


def _backfill() -> None:
    given = context.config.attributes.get("surveys")
    surveys = given() if given else None
    if not surveys:
        return  # scored by each run's first report or seal instead
    from sqlalchemy.orm import Session

    from bot.surveys.run_summary import summed_cells
    from bot.surveys.stored_scores import default_labeller

    labeller = context.config.attributes.get("labeller")
    labeller = labeller() if labeller else default_labeller()
    session = Session(bind=op.get_bind())
    runs = sa.table("survey_runs", sa.column("id"), sa.column("survey_id"))
    for run_id, survey_id in session.execute(sa.select(runs.c.id, runs.c.survey_id)).all():
        if survey_id in surveys:
            summed_cells(session, surveys[survey_id], run_id, labeller)  # scores; kept cells
    session.flush()


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), not a batch copy: recreating survey_runs on SQLite
    # would cascade-delete every response (foreign keys are on).
    op.drop_table("survey_run_cells")
    for label in LABELS:
        op.drop_column("survey_responses", f"comments_{label}")
    op.drop_column("survey_responses", "comments")
    for dimension in DIMENSIONS:
        op.drop_column("survey_responses", f"score_{dimension}")
    op.drop_column("survey_responses", "scored")
    op.drop_column("survey_runs", "cells_with")
    op.drop_column("survey_runs", "scored_with")

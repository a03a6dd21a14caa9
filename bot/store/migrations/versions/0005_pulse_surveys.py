"""pulse surveys: runs (once per survey and due date), invitations, pseudonymous responses

Revision ID: 0005_pulse_surveys
Revises: 0004_directory
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_pulse_surveys"
down_revision = "0004_directory"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("survey_id", sa.String(64), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("survey_id", "due_date", name="uq_survey_runs_once"),
    )
    op.create_index("ix_survey_runs_status_closes", "survey_runs", ["status", "closes_at"])
    op.create_table(
        "survey_invitations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("survey_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("run_id", "user_id", name="uq_survey_invitations_once"),
    )
    # No user id column here, by design: see SurveyResponse in bot/store/models.py.
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "run_id",
            sa.Integer(),
            sa.ForeignKey("survey_runs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("respondent_key", sa.String(64), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("run_id", "respondent_key", name="uq_survey_responses_once"),
    )
    op.create_index("ix_survey_responses_run", "survey_responses", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_survey_responses_run", table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_table("survey_invitations")
    op.drop_index("ix_survey_runs_status_closes", table_name="survey_runs")
    op.drop_table("survey_runs")

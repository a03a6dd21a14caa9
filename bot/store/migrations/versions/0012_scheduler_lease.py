"""scheduler lease (one replica runs the scheduled jobs); APScheduler's job table

Revision ID: 0012_scheduler_lease
Revises: 0011_response_scores
Create Date: 2026-12-01

The job table used to be created by APScheduler's job store when a scheduler started;
two replicas starting together raced to create it. Now a migration creates it (under the
migration lock), unless an earlier scheduler already did.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_scheduler_lease"
down_revision = "0011_response_scores"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
    )
    if not sa.inspect(op.get_bind()).has_table("apscheduler_jobs"):
        op.create_table(
            "apscheduler_jobs",
            sa.Column("id", sa.Unicode(191), primary_key=True),
            sa.Column("next_run_time", sa.Float(25), nullable=True),
            sa.Column("job_state", sa.LargeBinary(), nullable=False),
        )
        op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])


def downgrade() -> None:
    # apscheduler_jobs stays: it holds scheduled updates, and the job store uses it as is.
    op.drop_table("scheduler_lease")

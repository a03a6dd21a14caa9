"""send budget shared by every replica: one row per Slack method (GCRA) or paused channel

Revision ID: 0013_send_budget
Revises: 0012_scheduler_lease
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_send_budget"
down_revision = "0012_scheduler_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_budget",
        sa.Column("scope", sa.String(200), primary_key=True),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.Column("paused_until", sa.Float(), nullable=False),
    )
    op.create_index("ix_send_budget_paused_until", "send_budget", ["paused_until"])


def downgrade() -> None:
    op.drop_index("ix_send_budget_paused_until", table_name="send_budget")
    op.drop_table("send_budget")

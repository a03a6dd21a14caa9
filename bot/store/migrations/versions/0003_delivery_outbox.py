"""delivery outbox: one row per (campaign, recipient), and cached DM channel ids

Revision ID: 0003_delivery_outbox
Revises: 0002_questions_feedback
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_delivery_outbox"
down_revision = "0002_questions_feedback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False, unique=True),
        sa.Column("campaign", sa.String(128), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("message_ts", sa.String(32), nullable=False),
        sa.Column("last_error", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_campaign", "outbox", ["campaign"])
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "dm_channels",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dm_channels")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_index("ix_outbox_campaign", table_name="outbox")
    op.drop_table("outbox")

"""leader broadcasts: updates, acknowledgements, questions, audit

Revision ID: 0006_broadcasts
Revises: 0005_pulse_surveys
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_broadcasts"
down_revision = "0005_pulse_surveys"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _broadcast_fk() -> sa.Column:
    return sa.Column(
        "broadcast_id",
        sa.Integer(),
        sa.ForeignKey("broadcasts.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("submission_key", sa.String(128), nullable=False, unique=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("title", sa.String(150), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("ask_ack", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _when("send_at", nullable=True),
        sa.Column("local_time", sa.Boolean(), nullable=False),
        sa.Column("author_tz", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("dm_count", sa.Integer(), nullable=False),
        sa.Column("channel_count", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("sent_at", nullable=True),
        _when("edited_at", nullable=True),
        _when("recalled_at", nullable=True),
    )
    op.create_index("ix_broadcasts_status_send_at", "broadcasts", ["status", "send_at"])
    op.create_table(
        "broadcast_acks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _broadcast_fk(),
        sa.Column("user_id", sa.String(64), nullable=False),
        _when("acknowledged_at"),
        sa.UniqueConstraint("broadcast_id", "user_id", name="uq_broadcast_acks_once"),
    )
    op.create_table(
        "broadcast_questions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _broadcast_fk(),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        _when("asked_at"),
    )
    op.create_index("ix_broadcast_questions_broadcast_id", "broadcast_questions", ["broadcast_id"])
    op.create_table(
        "broadcast_audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        _when("at"),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_broadcast_audit_broadcast_id", "broadcast_audit", ["broadcast_id"])


def downgrade() -> None:
    op.drop_table("broadcast_audit")
    op.drop_table("broadcast_questions")
    op.drop_table("broadcast_acks")
    op.drop_table("broadcasts")

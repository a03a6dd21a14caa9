"""web console: sign-in links, sessions, the sign-in audit; the ingest log

Revision ID: 0010_console_signin_ingest_log
Revises: 0009_forget_answer_times
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_console_signin_ingest_log"
down_revision = "0009_forget_answer_times"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _when("finished_at"),
        sa.Column("root", sa.String(1024), nullable=False),
        sa.Column("indexed_files", sa.Integer(), nullable=False),
        sa.Column("chunks_total", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("passed_over", sa.JSON(), nullable=False),
    )
    op.create_index("ix_ingest_runs_finished_at", "ingest_runs", ["finished_at"])
    op.create_table(
        "console_links",
        sa.Column("nonce_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        _when("issued_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
    )
    op.create_index("ix_console_links_expires_at", "console_links", ["expires_at"])
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
    )
    op.create_index("ix_console_sessions_user_id", "console_sessions", ["user_id"])
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "console_signins",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _when("at"),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
    )
    op.create_index("ix_console_signins_at", "console_signins", ["at"])


def downgrade() -> None:
    op.drop_table("console_signins")
    op.drop_table("console_sessions")
    op.drop_table("console_links")
    op.drop_table("ingest_runs")

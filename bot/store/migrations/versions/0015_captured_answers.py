"""captured answers: the change team's approved FAQ entries for questions the playbook
did not answer (indexed as type faq, kept across rebuilds)

Revision ID: 0015_captured_answers
Revises: 0014_agent_view
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_captured_answers"
down_revision = "0014_agent_view"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "captured_answers",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("source_url", sa.String(2048), nullable=False, server_default=""),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("author_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False, server_default="approved"),
        sa.Column("submission_key", sa.String(128), nullable=False),
        sa.UniqueConstraint("submission_key", name="uq_captured_answers_submission_key"),
    )
    op.create_index("ix_captured_answers_status", "captured_answers", ["status"])


def downgrade() -> None:
    op.drop_index("ix_captured_answers_status", table_name="captured_answers")
    op.drop_table("captured_answers")

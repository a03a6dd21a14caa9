"""the Messages tab (agent view): who was greeted, the channel each person is looking at

Revision ID: 0014_agent_view
Revises: 0013_send_budget
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_agent_view"
down_revision = "0013_send_budget"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_view_users",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("greeted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("context_channel", sa.String(64), nullable=False, server_default=""),
        sa.Column("context_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("agent_view_users")

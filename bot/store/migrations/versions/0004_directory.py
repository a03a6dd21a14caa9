"""directory: the people table (Slack members plus department, team, location from HR's CSV)

Revision ID: 0004_directory
Revises: 0003_delivery_outbox
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_directory"
down_revision = "0003_delivery_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("real_name", sa.String(255), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("is_guest", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("department", sa.String(255), nullable=False),
        sa.Column("team", sa.String(255), nullable=False),
        sa.Column("location", sa.String(255), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_people_email", "people", ["email"])


def downgrade() -> None:
    op.drop_index("ix_people_email", table_name="people")
    op.drop_table("people")

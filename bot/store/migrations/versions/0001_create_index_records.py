"""create index_records: the record manager behind incremental playbook indexing

Revision ID: 0001_create_index_records
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_create_index_records"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "index_records",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("namespace", sa.String(255), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("group_id", sa.String(1024), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("namespace", "key", name="uq_index_records_namespace_key"),
    )
    op.create_index("ix_index_records_namespace_group", "index_records", ["namespace", "group_id"])
    op.create_index(
        "ix_index_records_namespace_updated", "index_records", ["namespace", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_index_records_namespace_updated", table_name="index_records")
    op.drop_index("ix_index_records_namespace_group", table_name="index_records")
    op.drop_table("index_records")

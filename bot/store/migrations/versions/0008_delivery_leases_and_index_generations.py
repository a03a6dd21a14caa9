"""delivery leases and worker heartbeats; blue/green playbook index generations

Outbox rows in `sending` get an owner and a lease (so a second worker recovers only what a
dead one left), live delivery workers a heartbeat row (so `survey run --now` knows the bot
is up), and the playbook index a pointer to the Chroma collection readers use.

Revision ID: 0008_leases_index_generations
Revises: 0007_broadcasts_edited_by
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_leases_index_generations"  # alembic_version holds 32 characters
down_revision = "0007_broadcasts_edited_by"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(128), nullable=False, server_default=""))
        batch.add_column(_when("lease_until", nullable=True))
    op.create_table(
        "delivery_workers",
        sa.Column("worker_id", sa.String(128), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        _when("started_at"),
        _when("heartbeat_at"),
    )
    op.create_index("ix_delivery_workers_heartbeat_at", "delivery_workers", ["heartbeat_at"])
    op.create_table(
        "index_generations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("base", sa.String(255), nullable=False),
        sa.Column("collection", sa.String(255), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        _when("created_at"),
        _when("activated_at", nullable=True),
        _when("retired_at", nullable=True),
    )
    op.create_index("ix_index_generations_base_status", "index_generations", ["base", "status"])


def downgrade() -> None:
    op.drop_index("ix_index_generations_base_status", table_name="index_generations")
    op.drop_table("index_generations")
    op.drop_index("ix_delivery_workers_heartbeat_at", table_name="delivery_workers")
    op.drop_table("delivery_workers")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")

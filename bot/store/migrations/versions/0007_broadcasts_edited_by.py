"""broadcasts: remember who last edited an update (an admin's edit names them on the copies)

Revision ID: 0007_broadcasts_edited_by
Revises: 0006_broadcasts
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_broadcasts_edited_by"
down_revision = "0006_broadcasts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("edited_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("edited_by")

"""forget answer times and who answered: no answer day on invitations or responses, run
counts kept at close, respondent keys nullable (erased at close), sealed flag, frozen
acknowledgement counts on broadcasts (for their retention)

Closed runs are brought to the state a close now leaves: counts on the run, invitations
and the pulse outbox rows of the run deleted, respondent keys erased. Their responses are
sealed (labels widened to blocks, rows shuffled) by the bot's hourly purge, which needs
the survey definitions a migration does not have.

Revision ID: 0009_forget_answer_times
Revises: 0008_leases_index_generations
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_forget_answer_times"
down_revision = "0008_leases_index_generations"
branch_labels = None
depends_on = None

FINAL = ("sent", "failed", "cancelled")


def upgrade() -> None:
    with op.batch_alter_table("survey_runs") as batch:
        batch.add_column(sa.Column("invited_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("delivered_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("answered_count", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("sealed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("survey_responses") as batch:
        batch.alter_column("respondent_key", existing_type=sa.String(64), nullable=True)
    _close_like_now()
    with op.batch_alter_table("survey_invitations") as batch:
        batch.drop_column("answered_at")
    with op.batch_alter_table("survey_responses") as batch:
        batch.drop_column("submitted_at")
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("acks_purged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("acked_dms", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("acked_elsewhere", sa.Integer(), nullable=False, server_default="0")
        )


def _close_like_now() -> None:
    runs = sa.table("survey_runs", sa.column("id"), sa.column("status"),
                    sa.column("invited_count"), sa.column("delivered_count"),
                    sa.column("answered_count"))  # fmt: skip
    invitations = sa.table(
        "survey_invitations",
        sa.column("run_id"),
        sa.column("delivered", sa.Boolean()),
        sa.column("answered_at"),
    )
    responses = sa.table("survey_responses", sa.column("run_id"), sa.column("respondent_key"))
    outbox = sa.table("outbox", sa.column("campaign"), sa.column("status"))
    mine = invitations.c.run_id == runs.c.id
    count = sa.select(sa.func.count()).select_from(invitations)
    op.execute(
        runs.update()
        .where(runs.c.status == "closed")
        .values(
            invited_count=count.where(mine).scalar_subquery(),
            delivered_count=count.where(mine, invitations.c.delivered.is_(True)).scalar_subquery(),
            answered_count=count.where(
                mine, invitations.c.answered_at.is_not(None)
            ).scalar_subquery(),
        )
    )
    closed = sa.select(runs.c.id).where(runs.c.status == "closed")
    op.execute(invitations.delete().where(invitations.c.run_id.in_(closed)))
    op.execute(responses.update().where(responses.c.run_id.in_(closed)).values(respondent_key=None))
    ids = [row[0] for row in op.get_bind().execute(closed)]
    campaigns = [name for i in ids for name in (f"pulse-{i}", f"pulse-{i}-reminder")]
    for start in range(0, len(campaigns), 500):
        op.execute(
            outbox.delete().where(
                outbox.c.campaign.in_(campaigns[start : start + 500]), outbox.c.status.in_(FINAL)
            )
        )


def downgrade() -> None:
    # What was forgotten (answer days, keys and invitations of closed runs) stays forgotten.
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("acked_elsewhere")
        batch.drop_column("acked_dms")
        batch.drop_column("acks_purged_at")
    with op.batch_alter_table("survey_responses") as batch:
        batch.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("survey_invitations") as batch:
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("survey_runs") as batch:
        batch.drop_column("sealed")
        batch.drop_column("answered_count")
        batch.drop_column("delivered_count")
        batch.drop_column("invited_count")

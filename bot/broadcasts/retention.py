"""Retention of who acknowledged a leader's update, and who asked about it.

Once an update was sent longer ago than the acknowledgement retention, its per-person
"Got it" rows are deleted and the askers of its questions are blanked; the figures the
status shows (acknowledged by DM recipients, from channel posts only, questions) stay,
frozen on the update. Such an update can no longer be reminded or edited (either needs
to know who acknowledged it); it can still be recalled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import Broadcast, BroadcastAck, BroadcastQuestion

FORGOTTEN = (
    "This update is older than the acknowledgement retention: who acknowledged it is no "
    "longer kept, so it cannot be reminded or edited (it can still be recalled)."
)


def frozen_acknowledgements(sessions: sessionmaker[Session], broadcast_id: int):
    """(acknowledged by DM recipients, from channel posts only) once forgotten, else None."""
    with sessions() as session:
        row = session.get(Broadcast, broadcast_id)
        if row is None or row.acks_purged_at is None:
            return None
        return row.acked_dms, row.acked_elsewhere


def forget_acknowledgements(
    *,
    sessions: sessionmaker[Session],
    dm_recipients: Callable[[int], set[str]],
    before: dt.datetime,
    now: dt.datetime,
) -> int:
    """Freeze the counts and delete the per-person rows of updates sent before `before`.

    Args:
        dm_recipients: who got an update by DM (from its delivered outbox rows).
    Returns how many updates were done.
    """
    with sessions() as session:
        ids = session.scalars(
            select(Broadcast.id).where(
                Broadcast.acks_purged_at.is_(None),
                Broadcast.sent_at.is_not(None),
                Broadcast.sent_at < before,
            )
        ).all()
    done = 0
    for broadcast_id in ids:
        by_dm = dm_recipients(broadcast_id)
        with sessions.begin() as session:
            acked = set(
                session.scalars(
                    select(BroadcastAck.user_id).where(BroadcastAck.broadcast_id == broadcast_id)
                )
            )
            frozen = session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.acks_purged_at.is_(None))
                .values(
                    acked_dms=len(acked & by_dm),
                    acked_elsewhere=len(acked - by_dm),
                    acks_purged_at=now,
                )
            ).rowcount
            if not frozen:
                continue
            session.execute(delete(BroadcastAck).where(BroadcastAck.broadcast_id == broadcast_id))
            session.execute(
                update(BroadcastQuestion)
                .where(BroadcastQuestion.broadcast_id == broadcast_id)
                .values(user_id="")
            )
            done += 1
    return done

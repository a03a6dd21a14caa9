"""Delivery and acknowledgement figures of updates, counted in the database.

One GROUP BY per question instead of every copy read into Python: the Updates page of
the console shows twenty updates of ten thousand people each, /broadcast status ten.
An acknowledgement counts towards `acknowledged` when the person got the update by DM
(matched on the outbox's unique key, so each look-up is an index probe); otherwise it
came from a channel post and counts apart. Once the acknowledgements are past their
retention, the counts frozen on the update are used.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session

from bot.store.models import Broadcast, BroadcastAck, BroadcastQuestion, OutboxMessage

PREFIX = "broadcast-"  # the update's copies are campaign "broadcast-<id>" (see service.py)


def delivery_stats(session: Session, broadcast_ids: Iterable[int], make) -> dict[int, object]:
    """Figures per update id; `make()` gives an empty Stats to fill."""
    ids = sorted(set(broadcast_ids))
    found = {broadcast_id: make() for broadcast_id in ids}
    if not ids:
        return found
    campaigns = {f"{PREFIX}{broadcast_id}": broadcast_id for broadcast_id in ids}
    channel = func.substr(OutboxMessage.recipient, 1, 1).in_(("C", "G"))
    copies = session.execute(
        select(
            OutboxMessage.campaign,
            OutboxMessage.status,
            case((channel, 1), else_=0).label("channel"),
            func.count(),
        )
        .where(OutboxMessage.campaign.in_(list(campaigns)))
        .group_by(OutboxMessage.campaign, OutboxMessage.status, "channel")
    )
    for campaign, status, is_channel, count in copies:
        stats = found[campaigns[campaign]]
        if status == "sent" and is_channel:
            stats.delivered_channels += count
        elif status == "sent":
            stats.delivered_dms += count
        elif status == "failed":
            stats.failed += count
        elif status in {"pending", "sending"}:
            stats.waiting += count
    reminders = session.execute(
        select(OutboxMessage.campaign, func.count())
        .where(
            OutboxMessage.campaign.startswith(PREFIX, autoescape=True),
            OutboxMessage.campaign.contains("/remind-", autoescape=True),
            OutboxMessage.status == "sent",
        )
        .group_by(OutboxMessage.campaign)
    )
    for campaign, count in reminders:
        broadcast_id = campaigns.get(campaign.split("/", 1)[0])
        if broadcast_id is not None:
            found[broadcast_id].reminded += count
    dm_key = literal(PREFIX) + cast(BroadcastAck.broadcast_id, String) + ":" + BroadcastAck.user_id
    acks = session.execute(
        select(BroadcastAck.broadcast_id, func.count(), func.count(OutboxMessage.id))
        .outerjoin(OutboxMessage, and_(OutboxMessage.key == dm_key, OutboxMessage.status == "sent"))
        .where(BroadcastAck.broadcast_id.in_(ids))
        .group_by(BroadcastAck.broadcast_id)
    )
    for broadcast_id, total, by_dm in acks:
        found[broadcast_id].acknowledged = by_dm
        found[broadcast_id].acknowledged_elsewhere = total - by_dm
    # Past the acknowledgement retention the rows are gone; the counts kept on the update
    # stand in for them (bot/broadcasts/retention.py).
    frozen = session.execute(
        select(Broadcast.id, Broadcast.acked_dms, Broadcast.acked_elsewhere).where(
            Broadcast.id.in_(ids), Broadcast.acks_purged_at.is_not(None)
        )
    )
    for broadcast_id, by_dm, elsewhere in frozen:
        found[broadcast_id].acknowledged = by_dm or 0
        found[broadcast_id].acknowledged_elsewhere = elsewhere or 0
    questions = session.execute(
        select(BroadcastQuestion.broadcast_id, func.count())
        .where(BroadcastQuestion.broadcast_id.in_(ids))
        .group_by(BroadcastQuestion.broadcast_id)
    )
    for broadcast_id, count in questions:
        found[broadcast_id].questions = count
    return found

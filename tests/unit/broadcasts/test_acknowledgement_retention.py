"""Who acknowledged (or asked about) a leader's update is kept only for the retention;
the figures stay, and nothing that needs the per-person rows pretends to work after."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from test_broadcasts_service import (
    ANA,
    BEN,
    CAI,
    EVA,
    GENERAL,
    LEADER,
    Audience,
    deliver,
    sent_update,
)
from test_broadcasts_service import bed as broadcast_bed  # noqa: F401 - a fixture

from bot.broadcasts.retention import FORGOTTEN, forget_acknowledgements
from bot.broadcasts.service import is_channel, post_campaign
from bot.store.models import BroadcastAck, BroadcastQuestion


@pytest.fixture
def bed(broadcast_bed):  # noqa: F811 - the fixture imported above
    """test_broadcasts_service's bed: a real store and outbox, Slack played by hand."""
    return broadcast_bed


def forget(bed, days: int = 180) -> int:
    def dm_recipients(broadcast_id: int) -> set[str]:
        rows = bed.outbox.rows(post_campaign(broadcast_id))
        return {r.recipient for r in rows if r.status == "sent" and not is_channel(r.recipient)}

    now = bed.clock()
    return forget_acknowledgements(
        sessions=bed.sessions,
        dm_recipients=dm_recipients,
        before=now - dt.timedelta(days=days),
        now=now,
    )


def per_person_rows(bed) -> list:
    with bed.sessions() as session:
        acks = session.scalars(select(BroadcastAck.user_id)).all()
        askers = session.scalars(select(BroadcastQuestion.user_id)).all()
    return [*acks, *(user for user in askers if user)]


def test_acknowledgements_are_forgotten_after_the_retention_with_their_counts_kept(bed):
    update = sent_update(bed, ask_ack=True, audience=Audience(channels=(GENERAL,), everyone=True))
    deliver(bed)
    for user in (ANA, CAI, "U0OTHER"):
        bed.service.acknowledge(update.id, user)
    bed.service.record_question(update.id, BEN, 17)
    before = bed.service.stats(update.id)

    bed.clock.advance(days=179)
    assert forget(bed) == 0 and len(per_person_rows(bed)) == 4  # not yet
    bed.clock.advance(days=2)
    assert forget(bed) == 1
    assert per_person_rows(bed) == []
    after = bed.service.stats(update.id)
    assert (after.acknowledged, after.acknowledged_elsewhere) == (2, 1)
    assert after == before
    assert forget(bed) == 0  # once


def test_an_update_past_the_retention_is_not_reminded_or_edited_but_can_be_recalled(bed):
    update = sent_update(bed, ask_ack=True)
    deliver(bed)
    bed.service.acknowledge(update.id, ANA)
    bed.clock.advance(days=181)
    forget(bed)

    reminded = bed.service.remind(update.id, LEADER)  # would DM Ana again: she acknowledged
    assert not reminded.done and reminded.message == FORGOTTEN
    edited = bed.service.edit(update.id, LEADER, title="New", body="Text")
    assert not edited.done and edited.message == FORGOTTEN
    assert bed.service.recall(update.id, LEADER).done


def test_a_late_got_it_after_the_retention_is_thanked_but_not_stored(bed):
    update = sent_update(bed, ask_ack=True)
    deliver(bed)
    bed.clock.advance(days=181)
    forget(bed)
    _, first = bed.service.acknowledge(update.id, EVA)
    assert first and per_person_rows(bed) == []

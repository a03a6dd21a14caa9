"""Outbox campaign queries: families of campaigns (an update and its reminders, edits and
recall), literal prefixes, and new content for rows not yet sent."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import FrozenClock
from sqlalchemy import select

from bot.delivery.outbox import Envelope, Outbox
from bot.store.db import make_session_factory
from bot.store.models import OutboxMessage

NOW = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def sessions(db_engine):
    return make_session_factory(db_engine)


@pytest.fixture
def outbox(sessions, clock) -> Outbox:
    return Outbox(session_factory=sessions, clock=clock)


def queue(outbox: Outbox, campaign: str, *recipients: str, op: str = "post") -> int:
    return outbox.enqueue(
        campaign, [Envelope(r, {"text": f"{campaign} to {r}"}, op=op) for r in recipients]
    )


def statuses(outbox: Outbox, campaign: str) -> dict[str, str]:
    return {row.recipient: row.status for row in outbox.rows(campaign)}


def payloads(sessions, campaign: str) -> dict[str, dict]:
    with sessions() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.campaign == campaign))
        return {row.recipient: row.payload for row in rows}


def send_all(outbox: Outbox, ts: str = "1.000100") -> None:
    for claimed in outbox.claim(100):
        outbox.mark_sent(claimed.id, f"D{claimed.recipient}", ts)


# -- rows / rows_like ------------------------------------------------------------------------
def test_rows_of_one_campaign_in_queue_order(outbox):
    queue(outbox, "broadcast-1", "C0GENERAL", "U0ANA")
    queue(outbox, "broadcast-10", "U0ZED")
    queue(outbox, "broadcast-1/remind-20260310", "U0ANA")
    queue(outbox, "broadcast-1", "U0BEN", "U0ANA")  # Ana again: no second row

    rows = outbox.rows("broadcast-1")
    assert [row.recipient for row in rows] == ["C0GENERAL", "U0ANA", "U0BEN"]
    row = rows[0]
    assert (row.campaign, row.op, row.status, row.channel_id, row.message_ts, row.last_error) == (
        "broadcast-1",
        "post",
        "pending",
        "",
        "",
        "",
    )
    assert outbox.rows("broadcast-2") == []


def test_rows_show_the_outcome_of_delivery(outbox):
    queue(outbox, "broadcast-1", "U0ANA", "U0BEN", "U0CAI")
    first, second, _third = outbox.claim(3)
    outbox.mark_sent(first.id, "DANA", "1773130001.000100")
    outbox.mark_failed(second.id, "user_not_found")
    rows = {row.recipient: row for row in outbox.rows("broadcast-1")}
    assert (rows["U0ANA"].status, rows["U0ANA"].channel_id, rows["U0ANA"].message_ts) == (
        "sent",
        "DANA",
        "1773130001.000100",
    )
    assert (rows["U0BEN"].status, rows["U0BEN"].last_error) == ("failed", "user_not_found")
    assert rows["U0CAI"].status == "sending"


def test_rows_like_gathers_every_campaign_with_the_prefix_in_queue_order(outbox):
    queue(outbox, "broadcast-1/remind-20260310", "U0ANA")
    queue(outbox, "broadcast-1", "U0BEN")
    queue(outbox, "broadcast-10/remind-20260310", "U0ZED")
    queue(outbox, "broadcast-1/edit-2", "U0ANA@1.1", op="update")
    queue(outbox, "broadcast-1/remind-20260311", "U0ANA", "U0CAI")

    reminders = outbox.rows_like("broadcast-1/remind-")
    assert [(row.campaign, row.recipient) for row in reminders] == [
        ("broadcast-1/remind-20260310", "U0ANA"),
        ("broadcast-1/remind-20260311", "U0ANA"),
        ("broadcast-1/remind-20260311", "U0CAI"),
    ]
    follow_ups = outbox.rows_like("broadcast-1/")
    assert [row.campaign for row in follow_ups] == [
        "broadcast-1/remind-20260310",
        "broadcast-1/edit-2",
        "broadcast-1/remind-20260311",
        "broadcast-1/remind-20260311",
    ]
    assert follow_ups[1].op == "update"
    assert [row.campaign for row in outbox.rows_like("broadcast-1")] == [
        "broadcast-1/remind-20260310",
        "broadcast-1",
        "broadcast-10/remind-20260310",  # a bare prefix is only a prefix
        "broadcast-1/edit-2",
        "broadcast-1/remind-20260311",
        "broadcast-1/remind-20260311",
    ]
    assert outbox.rows_like("broadcast-2") == []


@pytest.mark.parametrize(
    ("prefix", "matches"),
    [
        ("a_b", ["a_b/x"]),
        ("50%", ["50%/x"]),
        ("%", ["%lead"]),
        ("_", ["_lead"]),
        ("a/b", ["a/b-1"]),
        ("back\\", ["back\\slash"]),
    ],
)
def test_rows_like_treats_wildcards_literally(outbox, prefix, matches):
    for campaign in ["a_b/x", "axb/x", "50%/x", "50x/x", "%lead", "_lead", "a/b-1", "axb-1"]:
        queue(outbox, campaign, "U0ANA")
    queue(outbox, "back\\slash", "U0ANA")
    queue(outbox, "backslash", "U0ANA")
    assert [row.campaign for row in outbox.rows_like(prefix)] == matches


# -- cancel_family ---------------------------------------------------------------------------
def test_cancel_family_stops_the_campaign_and_its_follow_ups_only(outbox):
    queue(outbox, "broadcast-1", "C0GENERAL", "U0ANA", "U0BEN")
    send_all(outbox)  # the three copies went out ...
    queue(outbox, "broadcast-1", "U0CAI")  # ... one more is still queued
    queue(outbox, "broadcast-1/remind-20260310", "U0ANA", "U0BEN")
    queue(outbox, "broadcast-1/edit-2", "U0ANA@1.000100", op="update")
    for campaign in ["broadcast-10", "broadcast-10/edit-2", "broadcast-1x", "broadcast-12"]:
        queue(outbox, campaign, "U0ZED")

    assert outbox.cancel_family("broadcast-1") == 4
    assert statuses(outbox, "broadcast-1") == {
        "C0GENERAL": "sent",
        "U0ANA": "sent",
        "U0BEN": "sent",
        "U0CAI": "cancelled",
    }
    assert set(statuses(outbox, "broadcast-1/remind-20260310").values()) == {"cancelled"}
    assert statuses(outbox, "broadcast-1/edit-2") == {"U0ANA@1.000100": "cancelled"}
    for campaign in ["broadcast-10", "broadcast-10/edit-2", "broadcast-1x", "broadcast-12"]:
        assert statuses(outbox, campaign) == {"U0ZED": "pending"}, campaign
    assert outbox.cancel_family("broadcast-1") == 0  # nothing left to stop


def test_cancel_family_leaves_rows_being_sent_and_failed_rows_alone(outbox):
    queue(outbox, "broadcast-3", "U0ANA", "U0BEN", "U0CAI")
    _ana, ben = outbox.claim(2)
    outbox.mark_failed(ben.id, "user_not_found")
    assert outbox.cancel_family("broadcast-3") == 1
    assert statuses(outbox, "broadcast-3") == {
        "U0ANA": "sending",
        "U0BEN": "failed",
        "U0CAI": "cancelled",
    }
    assert outbox.claim(10) == []


def test_cancel_family_names_are_literal_too(outbox):
    queue(outbox, "a_b", "U0ANA")
    queue(outbox, "a_b/remind-1", "U0ANA")
    queue(outbox, "axb/remind-1", "U0ANA")
    queue(outbox, "a_bc", "U0ANA")
    assert outbox.cancel_family("a_b") == 2
    assert statuses(outbox, "axb/remind-1") == {"U0ANA": "pending"}
    assert statuses(outbox, "a_bc") == {"U0ANA": "pending"}


def test_plain_cancel_leaves_follow_ups_alone(outbox):
    queue(outbox, "broadcast-1", "U0ANA")
    queue(outbox, "broadcast-1/remind-20260310", "U0BEN")
    assert outbox.cancel("broadcast-1") == 1
    assert statuses(outbox, "broadcast-1/remind-20260310") == {"U0BEN": "pending"}


# -- replace_pending_payloads ----------------------------------------------------------------
def test_replace_pending_payloads_rewrites_only_rows_not_yet_taken(outbox, sessions):
    queue(outbox, "broadcast-1", "U0ANA", "U0BEN", "U0CAI", "U0DEV", "U0EVA")
    ana, ben, _cai = outbox.claim(3)
    outbox.mark_sent(ana.id, "DANA", "1.000100")
    outbox.mark_failed(ben.id, "user_not_found")
    # Cai's row is being sent right now; Eva's was cancelled.
    with sessions.begin() as session:
        eva = session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "U0EVA"))
        eva.status = "cancelled"
    queue(outbox, "broadcast-1/remind-20260310", "U0DEV")
    queue(outbox, "broadcast-2", "U0DEV")
    asked = []

    def payload_for(recipient: str) -> dict:
        asked.append(recipient)
        return {"text": f"new for {recipient}", "version": 2}

    assert outbox.replace_pending_payloads("broadcast-1", payload_for) == 1
    assert asked == ["U0DEV"]
    assert payloads(sessions, "broadcast-1") == {
        "U0ANA": {"text": "broadcast-1 to U0ANA"},
        "U0BEN": {"text": "broadcast-1 to U0BEN"},
        "U0CAI": {"text": "broadcast-1 to U0CAI"},
        "U0DEV": {"text": "new for U0DEV", "version": 2},
        "U0EVA": {"text": "broadcast-1 to U0EVA"},
    }
    assert payloads(sessions, "broadcast-1/remind-20260310") == {
        "U0DEV": {"text": "broadcast-1/remind-20260310 to U0DEV"}
    }
    assert payloads(sessions, "broadcast-2") == {"U0DEV": {"text": "broadcast-2 to U0DEV"}}
    # The rewritten row is still due and goes out with the new content.
    (claimed,) = [c for c in outbox.claim(10) if c.campaign == "broadcast-1"]
    assert (claimed.recipient, claimed.payload) == (
        "U0DEV",
        {"text": "new for U0DEV", "version": 2},
    )


def test_replace_pending_payloads_of_a_campaign_without_pending_rows(outbox, sessions):
    queue(outbox, "broadcast-1", "U0ANA")
    send_all(outbox)

    def payload_for(recipient: str) -> dict:
        raise AssertionError("no row should be rewritten")

    assert outbox.replace_pending_payloads("broadcast-1", payload_for) == 0
    assert outbox.replace_pending_payloads("broadcast-404", payload_for) == 0
    assert payloads(sessions, "broadcast-1") == {"U0ANA": {"text": "broadcast-1 to U0ANA"}}

"""Leaders' updates on a real store and outbox: compose, send, follow up, edit, recall.

Slack never appears here: the outbox rows are the contract. A "delivery" is the worker's
part played by hand (Outbox.claim, then mark_sent / mark_failed).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from conftest import FrozenClock, as_utc
from sqlalchemy import func, select

from bot.broadcasts.service import (
    BODY_LIMIT,
    TITLE_LIMIT,
    Audience,
    Broadcasts,
    Draft,
    NotFound,
    Update,
    as_document,
    campaign_broadcast,
    is_channel,
    plain_markdown,
    post_campaign,
    problems,
)
from bot.delivery.outbox import Claimed, Outbox
from bot.store.db import make_session_factory
from bot.store.models import Broadcast, BroadcastAck, OutboxMessage

UTC = dt.UTC
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# A Tuesday. Amsterdam is UTC+1 (summer time starts 29 March), Tokyo UTC+9,
# New York UTC-4 (summer time started 8 March).
NOW = dt.datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
# As the compose modal gives it: an aware UTC instant (see the SQLite test at the end).
NINE_AMSTERDAM = dt.datetime(2026, 3, 11, 9, 0, tzinfo=AMSTERDAM).astimezone(UTC)  # 08:00 UTC

ANA, BEN, CAI, DEV, EVA = "U0ANA0001", "U0BEN0002", "U0CAI0003", "U0DEV0004", "U0EVA0005"
EVERYONE = [ANA, BEN, CAI, DEV, EVA]
GROUPS = {"S0LEADS": [ANA, BEN]}
DEPARTMENTS = {"Finance": [BEN, CAI], "Sales": [DEV]}
ZONES = {
    ANA: "Europe/Amsterdam",
    BEN: "Asia/Tokyo",
    CAI: "America/New_York",
    DEV: "UTC",
    EVA: "Europe/Amsterdam",
}
GENERAL, LEADS = "C0GENERAL", "C0LEADS"
LEADER = "U0LEADER"
DEPUTY = "U0DEPUTY"  # a broadcast admin: may change anyone's update
OTHER_LEADER = "U0OTHER"  # a leader too, but not the author nor an admin

_submissions = itertools.count(1)
_timestamps = itertools.count(1)


def people(audience: Audience) -> list[str]:
    """Like the directory, but fixed; duplicates on purpose (a person in two groups)."""
    found = list(EVERYONE) if audience.everyone else []
    for group in audience.usergroups:
        found += GROUPS[group]
    for department in audience.departments:
        found += DEPARTMENTS[department]
    return found


class Render:
    """Records what was rendered for whom; the payload says it too, so rows can be read."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, update: Update, user, acked, reminder) -> dict:
        call = {
            "id": update.id,
            "title": update.title,
            "version": update.version,
            "user": user,
            "acked": acked.isoformat() if acked else None,
            "reminder": reminder,
        }
        self.calls.append(call)
        return {"text": f"{update.title}: {update.body}", "blocks": [{"type": "section", **call}]}


@dataclass
class Bed:
    service: Broadcasts
    outbox: Outbox
    sessions: object
    clock: FrozenClock
    render: Render
    indexed: list[Update] = field(default_factory=list)
    unindexed: list[Update] = field(default_factory=list)
    scheduled: list[tuple[int, dt.datetime]] = field(default_factory=list)
    unscheduled: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Delivered:
    claimed: Claimed
    channel: str
    ts: str


@pytest.fixture
def bed(db_engine) -> Bed:
    sessions = make_session_factory(db_engine)
    clock = FrozenClock(NOW)
    outbox = Outbox(session_factory=sessions, clock=clock)
    render = Render()
    bed = Bed(service=None, outbox=outbox, sessions=sessions, clock=clock, render=render)
    bed.service = Broadcasts(
        session_factory=sessions,
        outbox=outbox,
        people=people,
        timezone_of=lambda user: ZONES.get(user, "UTC"),
        render=render,
        index=bed.indexed.append,
        unindex=bed.unindexed.append,
        schedule=lambda broadcast_id, at: bed.scheduled.append((broadcast_id, at)),
        unschedule=bed.unscheduled.append,
        admins=[DEPUTY],
        clock=clock,
    )
    return bed


def draft(**overrides) -> Draft:
    values = {
        "submission_key": f"V{next(_submissions)}",
        "author": LEADER,
        "title": "Orion go-live",
        "body": "We go live on *4 May*.",
        "audience": Audience(channels=(GENERAL,), everyone=True),
    }
    values.update(overrides)
    return Draft(**values)


def sent_update(bed: Bed, **overrides) -> Update:
    created, _ = bed.service.create(draft(**overrides))
    assert bed.service.send(created.id).done
    return bed.service.get(created.id)


def deliver(bed: Bed, pick=lambda claimed: True, fail=()) -> list[Delivered]:
    """Play the worker once: picked due rows are sent (or failed), the others put back."""
    delivered = []
    for claimed in bed.outbox.claim(1000):
        if not pick(claimed):
            bed.outbox.mark_retry(claimed.id, "", delay=0, count_attempt=False)
        elif claimed.recipient in fail:
            bed.outbox.mark_failed(claimed.id, "channel_not_found")
        else:
            delivered.append(sent(bed, claimed))
    return delivered


def sent(bed: Bed, claimed: Claimed) -> Delivered:
    channel = claimed.recipient if is_channel(claimed.recipient) else f"D{claimed.recipient}"
    ts = f"{1773130000 + next(_timestamps)}.000100"
    bed.outbox.mark_sent(claimed.id, channel, ts)
    return Delivered(claimed, channel, ts)


def only(*recipients, campaign: str | None = None):
    def pick(claimed: Claimed) -> bool:
        return claimed.recipient in recipients and (
            campaign is None or claimed.campaign == campaign
        )

    return pick


def stored(bed: Bed, campaign: str | None = None) -> list[OutboxMessage]:
    """Outbox rows with payloads and times (Outbox.rows leaves those out)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if campaign is not None:
        query = query.where(OutboxMessage.campaign == campaign)
    with bed.sessions() as session:
        return list(session.scalars(query))


def outbox_size(bed: Bed) -> int:
    with bed.sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage))


def block(row_or_payload) -> dict:
    payload = row_or_payload if isinstance(row_or_payload, dict) else row_or_payload.payload
    return payload["blocks"][0]


# -- problems --------------------------------------------------------------------------------
def test_a_fine_draft_has_no_problems():
    assert problems(draft(), now=NOW) == {}
    at_limits = draft(title="T" * TITLE_LIMIT, body="B" * BODY_LIMIT, send_at=NOW.replace(hour=7))
    assert problems(at_limits, now=NOW) == {}


@pytest.mark.parametrize(
    ("changes", "field_name"),
    [
        ({"title": ""}, "title"),
        ({"title": "  \t "}, "title"),
        ({"title": "T" * (TITLE_LIMIT + 1)}, "title"),
        ({"body": ""}, "body"),
        ({"body": "\n \n"}, "body"),
        ({"body": "B" * (BODY_LIMIT + 1)}, "body"),
        ({"audience": Audience()}, "audience"),
        ({"send_at": NOW}, "when"),
        ({"send_at": NOW - dt.timedelta(days=1)}, "when"),
    ],
)
def test_each_problem_is_reported_for_its_field(changes, field_name):
    found = problems(draft(**changes), now=NOW)
    assert list(found) == [field_name]
    assert found[field_name].strip()


def test_a_past_time_is_shown_in_the_authors_zone_and_all_problems_come_together():
    bad = draft(
        title=" ",
        body="",
        audience=Audience(),
        send_at=dt.datetime(2026, 3, 10, 5, 0, tzinfo=UTC),
        author_tz="Europe/Amsterdam",
    )
    found = problems(bad, now=NOW)
    assert set(found) == {"title", "body", "audience", "when"}
    assert "10 Mar 2026 06:00" in found["when"]  # 05:00 UTC is 06:00 in Amsterdam


# -- create ----------------------------------------------------------------------------------
def test_create_is_idempotent_per_submission_key(bed):
    first, created = bed.service.create(draft(submission_key="view-1", title="  Orion go-live "))
    again, created_again = bed.service.create(draft(submission_key="view-1", title="Other"))
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert again.title == first.title == "Orion go-live"  # stored once, trimmed
    assert first.status == "scheduled" and first.version == 1
    with bed.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 1
    assert bed.scheduled == []  # "send now" is not handed to the scheduler
    assert outbox_size(bed) == 0


def test_a_scheduled_draft_is_scheduled_once_at_its_time_and_audited(bed):
    at = NOW + dt.timedelta(days=1)
    update, _ = bed.service.create(draft(submission_key="view-2", send_at=at))
    bed.service.create(draft(submission_key="view-2", send_at=at))  # double submit
    assert bed.scheduled == [(update.id, at)]
    assert update.send_at == at and update.local_time is False
    log = bed.service.audit_log(update.id)
    assert [entry["action"] for entry in log] == ["scheduled"]
    assert log[0]["detail"]["send_at"] == at.isoformat()
    assert bed.service.scheduled() == [bed.service.get(update.id)]


def test_local_time_wakes_the_scheduler_for_the_earliest_recipient_zone(bed):
    update, _ = bed.service.create(
        draft(
            audience=Audience(everyone=True),
            send_at=NINE_AMSTERDAM,
            local_time=True,
            author_tz="Europe/Amsterdam",
        )
    )
    tokyo_nine = dt.datetime(2026, 3, 11, 0, 0, tzinfo=UTC)
    assert update.local_time is True
    assert bed.scheduled == [(update.id, tokyo_nine)]
    assert bed.service.first_moment(update) == tokyo_nine


def test_local_time_is_the_send_time_for_channels_only_or_people_further_west(bed):
    def local(audience: Audience) -> Update:
        created, _ = bed.service.create(
            draft(
                audience=audience,
                send_at=NINE_AMSTERDAM,
                local_time=True,
                author_tz="Europe/Amsterdam",
            )
        )
        return created

    nine_utc = dt.datetime(2026, 3, 11, 9, 0, tzinfo=UTC)  # Dev's 09:00, after Amsterdam's
    assert bed.service.first_moment(local(Audience(channels=(GENERAL,)))) == NINE_AMSTERDAM
    assert bed.service.first_moment(local(Audience(departments=("Sales",)))) == nine_utc
    # A channel has no zone of its own: it is due at the author's time.
    with_channel = local(Audience(channels=(GENERAL,), departments=("Sales",)))
    assert bed.service.first_moment(with_channel) == NINE_AMSTERDAM
    assert [at for _, at in bed.scheduled] == [NINE_AMSTERDAM, nine_utc, NINE_AMSTERDAM]


def test_local_time_without_a_send_time_is_not_kept(bed):
    update, _ = bed.service.create(draft(local_time=True))
    assert update.local_time is False and update.send_at is None


# -- send ------------------------------------------------------------------------------------
def test_send_queues_channel_posts_first_then_one_dm_per_person(bed):
    audience = Audience(
        channels=(GENERAL, LEADS, GENERAL), usergroups=("S0LEADS",), departments=("Finance",)
    )
    created, _ = bed.service.create(draft(audience=audience))
    outcome = bed.service.send(created.id)

    assert outcome.done and outcome.count == 5
    assert outcome.detail == {"dms": 3, "channels": 2}
    rows = bed.outbox.rows(post_campaign(created.id))
    assert [row.recipient for row in rows] == [GENERAL, LEADS, ANA, BEN, CAI]
    assert {row.op for row in rows} == {"post"} and {row.status for row in rows} == {"pending"}
    payloads = {row.recipient: row.payload for row in stored(bed)}
    assert block(payloads[GENERAL])["user"] is None
    assert block(payloads[BEN])["user"] == BEN
    assert all(
        p["version"] == 1 and p["text"].startswith("Orion go-live") for p in payloads.values()
    )
    assert all(as_utc(row.next_attempt_at) == NOW for row in stored(bed))

    update = bed.service.get(created.id)
    assert (update.status, update.sent_at, update.dm_count, update.channel_count) == (
        "sent",
        NOW,
        3,
        2,
    )


def test_a_second_send_does_nothing(bed):
    created, _ = bed.service.create(draft())
    assert bed.service.send(created.id).done
    size = outbox_size(bed)
    bed.clock.advance(minutes=5)
    again = bed.service.send(created.id)
    assert not again.done and "sent" in again.message
    assert outbox_size(bed) == size
    assert bed.service.get(created.id).sent_at == NOW  # not moved by the repeat
    assert [u.id for u in bed.indexed] == [created.id]
    assert [e["action"] for e in bed.service.audit_log(created.id)] == ["sent"]


def test_send_indexes_once_and_audits_counts_without_naming_anyone(bed):
    audience = Audience(channels=(GENERAL,), usergroups=("S0LEADS",), departments=("Finance",))
    created, _ = bed.service.create(draft(audience=audience))
    bed.service.send(created.id)

    assert len(bed.indexed) == 1
    assert bed.indexed[0].id == created.id and bed.indexed[0].status == "sent"
    (entry,) = bed.service.audit_log(created.id)
    assert (entry["action"], entry["actor"], entry["at"]) == ("sent", LEADER, NOW)
    assert entry["detail"]["dms"] == 3 and entry["detail"]["channels"] == 1
    assert entry["detail"]["audience"] == audience.to_json()
    assert entry["detail"]["title"] == "Orion go-live"
    dumped = json.dumps(entry["detail"])
    assert not [user for user in EVERYONE if user in dumped]


def test_local_time_dms_wait_for_nine_in_each_recipients_zone(bed):
    created, _ = bed.service.create(
        draft(
            audience=Audience(everyone=True),
            send_at=NINE_AMSTERDAM,
            local_time=True,
            author_tz="Europe/Amsterdam",
        )
    )
    ((_, wake),) = bed.scheduled
    bed.clock.now = wake  # the scheduler fires at Tokyo's 09:00
    assert bed.service.send(created.id).done

    due = {row.recipient: as_utc(row.next_attempt_at) for row in stored(bed)}
    assert due == {
        BEN: dt.datetime(2026, 3, 11, 0, 0, tzinfo=UTC),  # 09:00 Tokyo
        ANA: dt.datetime(2026, 3, 11, 8, 0, tzinfo=UTC),  # 09:00 Amsterdam
        EVA: dt.datetime(2026, 3, 11, 8, 0, tzinfo=UTC),
        DEV: dt.datetime(2026, 3, 11, 9, 0, tzinfo=UTC),  # 09:00 UTC
        CAI: dt.datetime(2026, 3, 11, 13, 0, tzinfo=UTC),  # 09:00 New York (EDT)
    }
    for recipient, at in due.items():
        assert at.astimezone(ZoneInfo(ZONES[recipient])).time() == dt.time(9, 0)
    # Only Tokyo is due now; the outbox holds the rest back.
    assert [c.recipient for c in bed.outbox.claim(100)] == [BEN]
    bed.clock.now = dt.datetime(2026, 3, 11, 8, 0, tzinfo=UTC)
    assert sorted(c.recipient for c in bed.outbox.claim(100)) == sorted([ANA, EVA])


def test_local_time_sent_late_is_never_queued_in_the_past(bed):
    created, _ = bed.service.create(
        draft(
            audience=Audience(everyone=True),
            send_at=NINE_AMSTERDAM,
            local_time=True,
            author_tz="Europe/Amsterdam",
        )
    )
    late = dt.datetime(2026, 3, 11, 8, 30, tzinfo=UTC)  # the bot was down until now
    bed.clock.now = late
    bed.service.send(created.id)
    due = {row.recipient: as_utc(row.next_attempt_at) for row in stored(bed)}
    assert due[ANA] == due[BEN] == due[EVA] == late
    assert due[DEV] == dt.datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
    assert due[CAI] == dt.datetime(2026, 3, 11, 13, 0, tzinfo=UTC)
    assert all(at >= late for at in due.values())


def test_local_time_channel_post_waits_for_the_authors_send_time(bed):
    created, _ = bed.service.create(
        draft(
            audience=Audience(channels=(GENERAL,), everyone=True),
            send_at=NINE_AMSTERDAM,
            local_time=True,
            author_tz="Europe/Amsterdam",
        )
    )
    ((_, wake),) = bed.scheduled
    bed.clock.now = wake
    bed.service.send(created.id)
    (channel_row,) = [row for row in stored(bed) if row.recipient == GENERAL]
    assert as_utc(channel_row.next_attempt_at) == NINE_AMSTERDAM


def test_send_due_sends_only_what_is_due(bed):
    due, _ = bed.service.create(draft(send_at=NOW + dt.timedelta(hours=1)))
    later, _ = bed.service.create(draft(send_at=NOW + dt.timedelta(days=2)))
    cancelled, _ = bed.service.create(draft(send_at=NOW + dt.timedelta(minutes=30)))
    bed.service.cancel(cancelled.id, LEADER)
    bed.clock.advance(hours=1)
    assert bed.service.send_due() == [due.id]
    assert bed.service.get(later.id).status == "scheduled"
    assert bed.service.get(cancelled.id).status == "cancelled"
    assert bed.service.send_due() == []


def service_with(bed: Bed, people_of, told: list) -> Broadcasts:
    """The bed's service, but with another audience lookup and a recording notifier."""
    return Broadcasts(
        session_factory=bed.sessions,
        outbox=bed.outbox,
        people=people_of,
        timezone_of=lambda user: ZONES.get(user, "UTC"),
        render=bed.render,
        notify=lambda user, text: told.append((user, text)),
        clock=bed.clock,
    )


def test_a_scheduled_update_whose_group_is_gone_is_not_sent_and_the_author_is_told(bed):
    def people_of(audience):
        raise LookupError("Slack has no user group 'S0LEADS' (no_such_subteam).")

    told: list = []
    service = service_with(bed, people_of, told)
    created, _ = service.create(
        draft(audience=Audience(channels=(GENERAL,), usergroups=("S0LEADS",)), send_at=NOW)
    )
    outcome = service.send(created.id)

    assert not outcome.done
    assert service.get(created.id).status == "not sent"
    assert stored(bed) == []  # not even the channel post: nothing half-way
    [(user, text)] = told
    assert user == LEADER and "could not go out, and nothing was sent" in text
    assert "no_such_subteam" in text
    entry = service.audit_log(created.id)[-1]
    assert entry["action"] == "not sent" and "no_such_subteam" in entry["detail"]["reason"]
    assert service.send_due() == [] and service.send(created.id).done is False
    assert [u.id for u in service.recent()] == [created.id]  # listed for the leaders


def test_a_passing_error_leaves_the_update_scheduled_for_the_next_try(bed):
    calls = []

    def people_of(audience):
        calls.append(audience)
        if len(calls) == 1:
            raise ConnectionError("Slack did not answer")
        return people(audience)

    service = service_with(bed, people_of, [])
    created, _ = service.create(draft(send_at=NOW))
    with pytest.raises(ConnectionError):
        service.send(created.id)
    assert service.get(created.id).status == "scheduled"
    assert service.send_due() == [created.id]
    assert service.get(created.id).status == "sent"


def test_a_send_now_update_stranded_by_a_stop_is_sent_by_the_minute_check(bed):
    created, _ = bed.service.create(draft())  # "send now", then the process stopped
    assert bed.service.send_due() == []  # not yet: the modal's own send may be running
    bed.clock.advance(minutes=2)
    assert bed.service.send_due() == [created.id]
    assert bed.service.get(created.id).status == "sent"


# -- cancel ----------------------------------------------------------------------------------
def test_cancel_a_scheduled_update_before_it_goes_out(bed):
    created, _ = bed.service.create(draft(send_at=NOW + dt.timedelta(days=1)))
    outcome = bed.service.cancel(created.id, DEPUTY)
    assert outcome.done and "Orion go-live" in outcome.message
    assert bed.service.get(created.id).status == "cancelled"
    assert bed.unscheduled == [created.id]
    assert bed.service.audit_log(created.id)[-1]["action"] == "cancelled"
    assert bed.service.audit_log(created.id)[-1]["actor"] == DEPUTY

    assert not bed.service.send(created.id).done
    assert outbox_size(bed) == 0 and bed.indexed == []
    assert not bed.service.cancel(created.id, LEADER).done
    assert bed.unscheduled == [created.id]


def test_a_sent_update_cannot_be_cancelled(bed):
    update = sent_update(bed)
    outcome = bed.service.cancel(update.id, LEADER)
    assert not outcome.done and "sent" in outcome.message
    assert bed.service.get(update.id).status == "sent"
    assert bed.unscheduled == []
    assert {row.status for row in bed.outbox.rows(post_campaign(update.id))} == {"pending"}


# -- acknowledge -----------------------------------------------------------------------------
def test_acknowledge_counts_once_per_person(bed):
    update = sent_update(bed, ask_ack=True)
    assert bed.service.acknowledge(update.id, ANA) == (NOW, True)
    bed.clock.advance(hours=2)
    assert bed.service.acknowledge(update.id, ANA) == (NOW, False)  # the first time
    assert bed.service.acknowledge(update.id, BEN) == (NOW + dt.timedelta(hours=2), True)
    with bed.sessions() as session:
        assert session.scalar(select(func.count()).select_from(BroadcastAck)) == 2
    assert bed.service.acknowledged_by(update.id) == {ANA, BEN}
    assert bed.service.acknowledged_at(update.id, ANA) == NOW


def test_acknowledge_is_refused_after_recall_and_before_sending(bed):
    update = sent_update(bed, ask_ack=True)
    bed.service.recall(update.id, LEADER)
    with pytest.raises(NotFound):
        bed.service.acknowledge(update.id, ANA)
    scheduled, _ = bed.service.create(draft(send_at=NOW + dt.timedelta(days=1)))
    with pytest.raises(NotFound):
        bed.service.acknowledge(scheduled.id, ANA)
    with pytest.raises(NotFound):
        bed.service.acknowledge(999, ANA)
    assert bed.service.acknowledged_by(update.id) == set()


# -- stats -----------------------------------------------------------------------------------
def test_stats_count_deliveries_acknowledgements_and_questions(bed):
    update = sent_update(bed, audience=Audience(channels=(GENERAL, LEADS), everyone=True))
    # General and four DMs reach Slack; Leads and Dev fail; Eva's DM is still queued.
    deliver(bed, pick=lambda c: c.recipient != EVA, fail={LEADS, DEV})
    for user in (ANA, CAI, EVA, "U0OTHER"):  # Eva and Other saw the channel post
        bed.service.acknowledge(update.id, user)
    bed.service.record_question(update.id, BEN, 17)
    bed.service.record_question(update.id, "U0OTHER", None)

    stats = bed.service.stats(update.id)
    assert (stats.delivered_dms, stats.delivered_channels) == (3, 1)  # Ana, Ben, Cai
    assert (stats.failed, stats.waiting) == (2, 1)
    assert (stats.acknowledged, stats.acknowledged_elsewhere) == (2, 2)
    assert stats.questions == 2
    assert stats.ack_share == pytest.approx(2 / 3)
    assert stats.reminded == 0


def test_stats_before_anything_is_delivered(bed):
    update = sent_update(bed, audience=Audience(channels=(GENERAL,), everyone=True))
    bed.outbox.claim(2)  # two rows are "sending": still waiting
    stats = bed.service.stats(update.id)
    assert (stats.delivered_dms, stats.delivered_channels, stats.failed) == (0, 0, 0)
    assert stats.waiting == 6
    assert stats.ack_share is None
    assert stats.questions == 0


# -- remind ----------------------------------------------------------------------------------
def remind_bed(bed: Bed) -> Update:
    update = sent_update(bed, ask_ack=True)
    deliver(bed, fail={EVA})  # General, Ana, Ben, Cai and Dev got it; Eva's DM failed
    bed.service.acknowledge(update.id, ANA)
    return update


def test_remind_dms_only_delivered_people_who_have_not_acknowledged(bed):
    update = remind_bed(bed)
    bed.render.calls.clear()
    outcome = bed.service.remind(update.id, LEADER)

    assert outcome.done and outcome.count == 3
    campaign = f"{post_campaign(update.id)}/remind-20260310"
    rows = bed.outbox.rows(campaign)
    assert [row.recipient for row in rows] == [BEN, CAI, DEV]
    assert {row.op for row in rows} == {"post"}
    assert [(c["user"], c["reminder"]) for c in bed.render.calls] == [
        (BEN, True),
        (CAI, True),
        (DEV, True),
    ]
    entry = bed.service.audit_log(update.id)[-1]
    assert (entry["action"], entry["detail"]["reminded"]) == ("reminded", 3)

    deliver(bed)
    assert bed.service.stats(update.id).reminded == 3


def test_a_second_reminder_the_same_day_is_refused_and_the_next_day_works(bed):
    update = remind_bed(bed)
    assert bed.service.remind(update.id, LEADER).done
    size = outbox_size(bed)
    bed.clock.advance(hours=10)
    again = bed.service.remind(update.id, LEADER)
    assert not again.done and "already" in again.message
    assert outbox_size(bed) == size

    bed.service.acknowledge(update.id, BEN)
    bed.clock.advance(hours=10)  # 02:00 UTC on 11 March
    tomorrow = bed.service.remind(update.id, LEADER)
    assert tomorrow.done and tomorrow.count == 2
    rows = bed.outbox.rows(f"{post_campaign(update.id)}/remind-20260311")
    assert [row.recipient for row in rows] == [CAI, DEV]


def test_remind_is_refused_without_acknowledgement_or_when_everyone_acknowledged(bed):
    no_ack = sent_update(bed, ask_ack=False)
    deliver(bed)
    outcome = bed.service.remind(no_ack.id, LEADER)
    assert not outcome.done and "acknowledge" in outcome.message
    assert bed.outbox.rows_like(f"{post_campaign(no_ack.id)}/") == []

    everyone = sent_update(bed, ask_ack=True, audience=Audience(departments=("Finance",)))
    deliver(bed)
    bed.service.acknowledge(everyone.id, BEN)
    bed.service.acknowledge(everyone.id, CAI)
    outcome = bed.service.remind(everyone.id, LEADER)
    assert not outcome.done and "Everyone" in outcome.message
    assert bed.outbox.rows_like(f"{post_campaign(everyone.id)}/") == []

    scheduled, _ = bed.service.create(draft(ask_ack=True, send_at=NOW + dt.timedelta(days=1)))
    assert not bed.service.remind(scheduled.id, LEADER).done


# -- edit ------------------------------------------------------------------------------------
def edited_bed(bed: Bed) -> tuple[Update, dict[tuple[str, str], Delivered]]:
    """General, Ana, Ben and Cai got the update, Dev's DM failed, Eva's is still queued.
    Ana acknowledged; Ben got a reminder, Cai's reminder is still queued."""
    update = sent_update(bed, ask_ack=True)
    copies = deliver(bed, pick=lambda c: c.recipient != EVA, fail={DEV})
    bed.service.acknowledge(update.id, ANA)
    assert bed.service.remind(update.id, LEADER).count == 2  # Ben and Cai
    copies += deliver(bed, pick=only(BEN, campaign=f"{post_campaign(update.id)}/remind-20260310"))
    return update, {(d.claimed.campaign, d.claimed.recipient): d for d in copies}


def test_edit_updates_every_delivered_copy_and_what_is_still_queued(bed):
    update, copies = edited_bed(bed)
    bed.clock.advance(hours=1)
    outcome = bed.service.edit(update.id, LEADER, title="Orion go-live moved", body="*11 May*.")

    assert outcome.done and outcome.count == 5
    rows = stored(bed, f"{post_campaign(update.id)}/edit-2")
    assert len(rows) == 5 and {row.op for row in rows} == {"update"}
    by_target = {row.recipient: row for row in rows}
    assert set(by_target) == {f"{d.claimed.recipient}@{d.ts}" for d in copies.values()}
    for delivered in copies.values():
        row = by_target[f"{delivered.claimed.recipient}@{delivered.ts}"]
        assert row.payload["channel"] == delivered.channel
        assert row.payload["ts"] == delivered.ts
        assert row.payload["version"] == 2
        assert row.payload["text"] == "Orion go-live moved: *11 May*."
        reminder = delivered.claimed.campaign != post_campaign(update.id)
        assert block(row)["reminder"] is reminder
        expected_user = (
            None if is_channel(delivered.claimed.recipient) else delivered.claimed.recipient
        )
        assert block(row)["user"] == expected_user
        expected_ack = NOW.isoformat() if delivered.claimed.recipient == ANA else None
        assert block(row)["acked"] == expected_ack

    # Eva's DM had not gone out: it goes out with the new text. Dev's failed row is left be.
    posts = {row.recipient: row for row in stored(bed, post_campaign(update.id))}
    assert (posts[EVA].status, posts[EVA].payload["version"]) == ("pending", 2)
    assert posts[EVA].payload["text"].startswith("Orion go-live moved")
    assert block(posts[EVA])["user"] == EVA
    assert (posts[DEV].status, posts[DEV].payload["version"]) == ("failed", 1)

    current = bed.service.get(update.id)
    assert (current.title, current.body, current.version) == ("Orion go-live moved", "*11 May*.", 2)
    assert current.edited_at == NOW + dt.timedelta(hours=1)
    assert [(u.title, u.version) for u in bed.indexed] == [
        ("Orion go-live", 1),
        ("Orion go-live moved", 2),
    ]
    entry = bed.service.audit_log(update.id)[-1]
    assert (entry["action"], entry["detail"]["updated"], entry["detail"]["version"]) == (
        "edited",
        5,
        2,
    )


def test_a_second_edit_is_version_three(bed):
    update = sent_update(bed, audience=Audience(departments=("Sales",)))
    deliver(bed)
    bed.service.edit(update.id, LEADER, title="Second", body="Text two")
    bed.service.edit(update.id, LEADER, title="Third", body="Text three")
    (row,) = stored(bed, f"{post_campaign(update.id)}/edit-3")
    assert (row.payload["version"], row.payload["text"]) == (3, "Third: Text three")
    assert bed.service.get(update.id).version == 3


def test_edit_also_rewrites_reminders_still_queued(bed):
    update, _ = edited_bed(bed)
    bed.service.edit(update.id, LEADER, title="Orion go-live moved", body="*11 May*.")
    (cai_reminder,) = [
        row
        for row in stored(bed, f"{post_campaign(update.id)}/remind-20260310")
        if row.recipient == CAI
    ]
    assert cai_reminder.status == "pending"
    assert cai_reminder.payload["version"] == 2
    assert cai_reminder.payload["text"].startswith("Orion go-live moved")


@pytest.mark.parametrize(
    ("title", "body", "field_name"),
    [
        ("   ", "Fine text", "title"),
        ("T" * (TITLE_LIMIT + 1), "Fine text", "title"),
        ("Fine title", "", "body"),
        ("Fine title", "B" * (BODY_LIMIT + 1), "body"),
    ],
)
def test_an_invalid_edit_is_refused_with_detail(bed, title, body, field_name):
    update = sent_update(bed)
    deliver(bed)
    outcome = bed.service.edit(update.id, LEADER, title=title, body=body)
    assert not outcome.done
    assert list(outcome.detail) == [field_name]
    assert outcome.message == outcome.detail[field_name]
    current = bed.service.get(update.id)
    assert (current.title, current.version, current.edited_at) == ("Orion go-live", 1, None)
    assert bed.outbox.rows_like(f"{post_campaign(update.id)}/") == []
    assert len(bed.indexed) == 1


def test_the_same_edit_submitted_twice_updates_the_copies_once(bed):
    update, _ = edited_bed(bed)
    first = bed.service.edit(update.id, LEADER, title="Orion go-live moved", body="*11 May*.")
    again = bed.service.edit(update.id, LEADER, title="Orion go-live moved ", body="*11 May*.")

    assert first.done and first.count == 5
    assert not again.done and again.message == "No change: the update already says this."
    assert bed.service.get(update.id).version == 2
    assert stored(bed, f"{post_campaign(update.id)}/edit-3") == []
    assert [e["action"] for e in bed.service.audit_log(update.id)].count("edited") == 1


def test_editing_a_scheduled_update_changes_what_goes_out(bed):
    created, _ = bed.service.create(draft(send_at=NOW + dt.timedelta(hours=3)))
    outcome = bed.service.edit(created.id, LEADER, title=" New title ", body="New body")
    assert outcome.done and outcome.count == 0
    assert outbox_size(bed) == 0 and bed.indexed == []
    current = bed.service.get(created.id)
    assert (current.status, current.title, current.body, current.version) == (
        "scheduled",
        "New title",
        "New body",
        2,
    )
    bed.clock.advance(hours=3)
    bed.service.send(created.id)
    assert {row.payload["text"] for row in stored(bed)} == {"New title: New body"}
    assert {row.payload["version"] for row in stored(bed)} == {2}


def test_recalled_or_cancelled_updates_cannot_be_edited(bed):
    recalled = sent_update(bed)
    bed.service.recall(recalled.id, LEADER)
    cancelled, _ = bed.service.create(draft(send_at=NOW + dt.timedelta(days=1)))
    bed.service.cancel(cancelled.id, LEADER)
    for update_id, state in ((recalled.id, "recalled"), (cancelled.id, "cancelled")):
        outcome = bed.service.edit(update_id, LEADER, title="New", body="New body")
        assert not outcome.done and state in outcome.message
        assert bed.service.get(update_id).title == "Orion go-live"
    assert not bed.service.edit(999, LEADER, title="New", body="New body").done


# -- who may change an update ----------------------------------------------------------------
def test_another_leader_cannot_edit_remind_recall_or_cancel_an_update(bed):
    update = sent_update(bed, ask_ack=True)
    scheduled, _ = bed.service.create(draft(send_at=NOW + dt.timedelta(days=1)))
    rows_before = outbox_size(bed)
    attempts = [
        lambda: bed.service.edit(update.id, OTHER_LEADER, title="Hijacked", body="Not true."),
        lambda: bed.service.remind(update.id, OTHER_LEADER),
        lambda: bed.service.recall(update.id, OTHER_LEADER),
        lambda: bed.service.cancel(scheduled.id, OTHER_LEADER),
    ]
    for attempt in attempts:
        outcome = attempt()
        assert not outcome.done and outcome.detail == {"refused": True}
        assert outcome.message.startswith(f"Only {LEADER}, who wrote “Orion go-live”")
    assert bed.service.get(update.id).status == "sent"
    assert bed.service.get(update.id).title == "Orion go-live"
    assert bed.service.get(scheduled.id).status == "scheduled"
    assert outbox_size(bed) == rows_before
    assert not [e for e in bed.service.audit_log() if e["actor"] == OTHER_LEADER]


def test_an_admins_edit_is_recorded_as_theirs(bed):
    update = sent_update(bed)
    assert bed.service.edit(update.id, DEPUTY, title="Orion go-live moves", body="To June.").done
    edited = bed.service.get(update.id)
    assert (edited.edited_by, edited.author) == (DEPUTY, LEADER)
    assert bed.service.audit_log(update.id)[-1]["actor"] == DEPUTY


# -- recall ----------------------------------------------------------------------------------
def test_recall_deletes_every_copy_and_stops_the_rest(bed):
    update, copies = edited_bed(bed)
    bed.service.edit(update.id, LEADER, title="Orion go-live moved", body="*11 May*.")
    bed.clock.advance(hours=1)
    outcome = bed.service.recall(update.id, LEADER)

    assert outcome.done and outcome.count == 5
    campaign = post_campaign(update.id)
    deletes = stored(bed, f"{campaign}/recall")
    assert len(deletes) == 5 and {row.op for row in deletes} == {"delete"}
    assert {row.recipient: row.payload for row in deletes} == {
        f"{d.claimed.recipient}@{d.ts}": {"channel": d.channel, "ts": d.ts} for d in copies.values()
    }
    # Eva's DM, Cai's reminder and the five edits had not gone out: none of them will.
    statuses = {(row.campaign, row.recipient): row.status for row in stored(bed)}
    assert statuses[(campaign, EVA)] == "cancelled"
    assert statuses[(f"{campaign}/remind-20260310", CAI)] == "cancelled"
    assert {s for (c, _), s in statuses.items() if c == f"{campaign}/edit-2"} == {"cancelled"}
    assert statuses[(campaign, DEV)] == "failed"
    assert statuses[(campaign, ANA)] == "sent"

    current = bed.service.get(update.id)
    assert current.status == "recalled" and current.recalled_at == NOW + dt.timedelta(hours=1)
    assert [u.id for u in bed.unindexed] == [update.id]
    entry = bed.service.audit_log(update.id)[-1]
    assert (entry["action"], entry["detail"]["deleted"], entry["detail"]["stopped"]) == (
        "recalled",
        5,
        7,
    )

    size = outbox_size(bed)
    again = bed.service.recall(update.id, LEADER)
    assert not again.done and "recalled" in again.message
    assert outbox_size(bed) == size
    assert len(bed.unindexed) == 1


def test_a_scheduled_update_cannot_be_recalled(bed):
    created, _ = bed.service.create(draft(send_at=NOW + dt.timedelta(days=1)))
    assert not bed.service.recall(created.id, LEADER).done
    assert bed.service.get(created.id).status == "scheduled"
    assert bed.unindexed == []


# -- after_delivery --------------------------------------------------------------------------
def test_a_copy_delivered_after_an_edit_is_updated(bed):
    update = sent_update(bed, audience=Audience(channels=(GENERAL,), departments=("Sales",)))
    in_flight = bed.outbox.claim(10)  # the worker holds both copies while the leader edits
    assert bed.service.edit(update.id, LEADER, title="New", body="New body").count == 0
    for claimed in in_flight:
        done = sent(bed, claimed)
        bed.service.after_delivery(
            claimed.campaign, claimed.recipient, claimed.payload, done.channel, done.ts
        )
    rows = stored(bed, f"{post_campaign(update.id)}/edit-2")
    assert [(row.op, row.recipient.split("@")[0]) for row in rows] == [
        ("update", GENERAL),
        ("update", DEV),
    ]
    assert {row.payload["text"] for row in rows} == {"New: New body"}
    assert [block(row)["user"] for row in rows] == [None, DEV]


def test_a_reminder_on_its_way_during_an_edit_is_updated_as_a_reminder(bed):
    """Claimed (being sent) when the edit came, so its old text lands and is then updated."""
    update, _ = edited_bed(bed)
    (claimed,) = [c for c in bed.outbox.claim(20) if c.campaign.endswith("/remind-20260310")]
    bed.service.edit(update.id, LEADER, title="New", body="New body")
    done = sent(bed, claimed)
    bed.service.after_delivery(claimed.campaign, CAI, claimed.payload, done.channel, done.ts)
    (row,) = [
        r for r in stored(bed, f"{post_campaign(update.id)}/edit-2") if done.ts in r.recipient
    ]
    assert block(row)["reminder"] is True and block(row)["user"] == CAI
    assert (row.payload["channel"], row.payload["ts"], row.payload["version"]) == (
        done.channel,
        done.ts,
        2,
    )


def test_a_copy_delivered_after_a_recall_is_deleted(bed):
    update = sent_update(bed, audience=Audience(departments=("Sales",)))
    (claimed,) = bed.outbox.claim(10)
    outcome = bed.service.recall(update.id, LEADER)
    assert outcome.done and outcome.count == 0  # nothing had landed yet
    done = sent(bed, claimed)
    bed.service.after_delivery(claimed.campaign, DEV, claimed.payload, done.channel, done.ts)
    (row,) = stored(bed, f"{post_campaign(update.id)}/recall")
    assert (row.op, row.recipient) == ("delete", f"{DEV}@{done.ts}")
    assert row.payload == {"channel": done.channel, "ts": done.ts}


def test_an_up_to_date_copy_needs_nothing(bed):
    update = sent_update(bed)
    size = outbox_size(bed)
    for done in deliver(bed):
        claimed = done.claimed
        bed.service.after_delivery(
            claimed.campaign, claimed.recipient, claimed.payload, done.channel, done.ts
        )
    assert outbox_size(bed) == size
    assert bed.outbox.rows_like(f"{post_campaign(update.id)}/") == []


@pytest.mark.parametrize(
    "campaign",
    ["pulse-1", "broadcast-1/edit-2", "broadcast-1/recall", "broadcast-x", "broadcast-99"],
)
def test_after_delivery_ignores_what_is_not_a_copy(bed, campaign):
    update = sent_update(bed, audience=Audience(departments=("Sales",)))
    assert update.id == 1
    deliver(bed)
    bed.service.edit(update.id, LEADER, title="New", body="New body")  # version 2 now
    size = outbox_size(bed)
    bed.service.after_delivery(campaign, DEV, {"text": "old", "version": 1}, "DDEV", "1.000200")
    assert outbox_size(bed) == size


def test_campaign_names():
    assert post_campaign(12) == "broadcast-12"
    assert campaign_broadcast("broadcast-12") == 12
    assert campaign_broadcast("broadcast-12/remind-20260310") == 12
    assert campaign_broadcast("broadcast-x") is None
    assert campaign_broadcast("pulse-12") is None


# -- the playbook ----------------------------------------------------------------------------
def test_documents_are_the_sent_updates_only(bed):
    bed.service.create(draft(title="Scheduled", send_at=NOW + dt.timedelta(days=5)))
    cancelled, _ = bed.service.create(draft(title="Cancelled", send_at=NOW + dt.timedelta(days=5)))
    bed.service.cancel(cancelled.id, LEADER)
    recalled = sent_update(bed, title="Recalled")
    bed.service.recall(recalled.id, LEADER)
    created, _ = bed.service.create(draft(title="Badge office moves", body="To *building K*."))
    bed.clock.advance(days=2)  # sent two days after it was written
    bed.service.send(created.id)

    (doc,) = bed.service.documents()
    assert doc.path == f"slack-update:{created.id}" == bed.service.get(created.id).source
    assert (doc.title, doc.doc_type, doc.owner) == ("Badge office moves", "announcement", LEADER)
    assert doc.updated == "2026-03-12"
    assert doc.text == "# Badge office moves\n\nTo *building K*.\n"
    assert doc.markup is True

    bed.service.edit(created.id, LEADER, title="Badge office moved", body="Now in K.")
    (doc,) = bed.service.documents()
    assert doc.title == "Badge office moved" and "Now in K." in doc.text


def test_as_document_of_an_update_converts_slack_markup(bed):
    update = sent_update(
        bed,
        title="Office hours",
        body="<!channel> Ask <@U0ANA0001|ana> or see <https://intranet.example/orion|the page>.",
    )
    doc = as_document(update)
    assert (
        doc.text
        == "# Office hours\n\n Ask ana or see [the page](https://intranet.example/orion).\n"
    )
    assert doc.updated == NOW.date().isoformat()


@pytest.mark.parametrize(
    ("mrkdwn", "markdown"),
    [
        ("See <https://x.example/a?b=1|the plan>.", "See [the plan](https://x.example/a?b=1)."),
        ("Bare <https://x.example/a> link", "Bare https://x.example/a link"),
        ("<!channel> Heads up", " Heads up"),
        ("<!here|here> and <!everyone>: now", " and : now"),
        ("Thanks <@U1|ana>!", "Thanks ana!"),
        ("In <#C0GENERAL|general>", "In general"),
        ("Ping <!subteam^S0LEADS|@leads>", "Ping @leads"),
        ("a &lt;b&gt; &amp;lt;", "a <b> &lt;"),
        ("*bold* _italic_ ~strike~", "*bold* _italic_ ~strike~"),
    ],
)
def test_plain_markdown(mrkdwn, markdown):
    assert plain_markdown(mrkdwn) == markdown


def test_plain_markdown_drops_bare_member_ids():
    assert "U0ANA0001" not in plain_markdown("Ask <@U0ANA0001> for access.")


def test_a_send_time_in_another_zone_is_stored_as_the_same_instant(bed):
    at = dt.datetime(2026, 3, 11, 9, 0, tzinfo=AMSTERDAM)  # 08:00 UTC
    created, _ = bed.service.create(draft(send_at=at))
    assert bed.service.get(created.id).send_at == at

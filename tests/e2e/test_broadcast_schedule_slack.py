"""Scheduled leaders' updates: the job lives in the database and survives a restart, the
leader can list and cancel it, "local time" means each recipient's own 09:00, and copies
queued before a restart go out once each."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from broadcast_bed import (
    LEADER,
    broadcast_command,
    compose,
    dm_copies,
    open_compose,
    send_update,
    submit,
)
from conftest import as_utc
from scenario import blocks_of, rows, settle
from slackbed import block_action, view_submission
from sqlalchemy import text

from bot.slack import broadcast_blocks as kit
from bot.slack import runner
from bot.store.models import Broadcast, OutboxMessage

FINANCE = ["U1", "U2", "U3"]
EVERYONE_BUT_LEADER = ["U1", "U2", "U3", "U4", "U5", "U6"]
AMSTERDAM = "Europe/Amsterdam"


def wait_until(check, *, timeout: float = 10.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def schedule_update(bot, *, at: int, **choices) -> int:
    """Compose and submit an update for `at` (Unix time) as the leader; returns its id."""
    slack = bot.slack
    seen = len(slack.calls_to("chat.postMessage"))
    view = open_compose(bot)
    assert submit(bot, view, compose(at=at, **choices)) == (200, "")

    def confirmed() -> bool:
        posted = slack.calls_to("chat.postMessage")[seen:]
        return any((c.params.get("text") or "").startswith("Scheduled") for c in posted)

    wait_until(confirmed, what="the leader's confirmation")
    [row] = rows(bot.container, Broadcast, status="scheduled")
    return row.id


def stored_job_ids(container) -> set[str]:
    """The job ids in APScheduler's table in our database (what a restart finds)."""
    with container.engine.connect() as connection:
        return set(connection.execute(text("SELECT id FROM apscheduler_jobs")).scalars())


def outbox_rows(container, broadcast_id: int) -> list[OutboxMessage]:
    return rows(container, OutboxMessage, campaign=f"broadcast-{broadcast_id}")


def copies_by_person(slack, broadcast_id: int, people) -> dict[str, int]:
    return {user: len(dm_copies(slack, user, broadcast_id)) for user in people}


def stop_housekeeping(container) -> None:
    scheduler = container.__dict__.get("scheduler")
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)
    worker = container.__dict__.get("delivery_worker")
    if worker is not None:
        worker.stop()


@pytest.fixture
def housekeeping(monkeypatch):
    """Containers whose scheduler/worker a test started; all stopped afterwards."""
    monkeypatch.setattr(runner, "_CONTAINER", None)  # restored after the test
    started: list = []
    yield started
    for container in started:
        stop_housekeeping(container)


def test_a_scheduled_update_fires_once_after_a_restart(start_leaders_bot, slack, housekeeping):
    first = start_leaders_bot()
    housekeeping.append(first.container)
    runner.start_housekeeping(first.container)

    at = int(time.time()) + 3
    broadcast_id = schedule_update(first, at=at, departments=["Finance"])
    job_id = f"broadcast-{broadcast_id}"
    job = first.container.scheduler.get_job(job_id)
    assert job is not None
    assert job.next_run_time == dt.datetime.fromtimestamp(at, dt.UTC)
    assert job_id in stored_job_ids(first.container)

    # The bot stops before the time comes.
    stop_housekeeping(first.container)
    assert time.time() < at, "the first bot was stopped too late for this test to mean much"
    assert first.container.broadcasts.get(broadcast_id).status == "scheduled"

    # A new process on the same database picks the job up from the job store.
    second = start_leaders_bot()
    housekeeping.append(second.container)
    assert (
        second.container.settings.resolved_database_url
        == first.container.settings.resolved_database_url
    )
    runner.start_housekeeping(second.container)

    def delivered() -> bool:
        return all(copies_by_person(slack, broadcast_id, FINANCE).values())

    wait_until(delivered, timeout=15, what="the scheduled update to reach Finance")
    assert time.time() >= at
    broadcasts = second.container.broadcasts
    update = broadcasts.get(broadcast_id)
    assert update.status == "sent"
    assert update.dm_count == 3
    assert second.container.scheduler.get_job(job_id) is None
    assert job_id not in stored_job_ids(second.container)

    # The every-minute safety net finds nothing left to send.
    runner.broadcasts_due()
    settle(1.2)  # one idle round of the delivery worker
    assert copies_by_person(slack, broadcast_id, FINANCE) == {user: 1 for user in FINANCE}
    assert copies_by_person(slack, broadcast_id, ["U4", "U5", "U6", "U7", LEADER]) == {
        user: 0 for user in ["U4", "U5", "U6", "U7", LEADER]
    }
    queued = outbox_rows(second.container, broadcast_id)
    assert sorted(row.recipient for row in queued) == FINANCE
    assert {row.status for row in queued} == {"sent"}
    sent_audits = [a for a in broadcasts.audit_log(broadcast_id) if a["action"] == "sent"]
    assert len(sent_audits) == 1


def test_scheduled_lists_the_update_and_its_cancel_button_stops_it(leaders, slack, housekeeping):
    container = leaders.container
    housekeeping.append(container)
    container.scheduler.start()
    title = "Town hall moves to Thursday"
    broadcast_id = schedule_update(
        leaders, at=int(time.time()) + 3600, title=title, departments=["Finance"]
    )
    job_id = f"broadcast-{broadcast_id}"
    assert container.scheduler.get_job(job_id) is not None
    assert job_id in stored_job_ids(container)

    seen = len(slack.calls_to("chat.postEphemeral"))
    assert broadcast_command(leaders, "scheduled") == (200, "")
    listing = slack.wait_for("chat.postEphemeral", seen + 1)[seen]
    assert listing.ok
    assert (listing.params["user"], listing.params["channel"]) == (LEADER, "C111")
    listed = blocks_of(listing)
    [at] = [
        i
        for i, block in enumerate(listed)
        if title in ((block.get("text") or {}).get("text") or "")
    ]
    edit, button = listed[at + 1]["elements"]  # the entry's buttons, right below it
    assert (edit["action_id"], edit["value"]) == (kit.EDIT, str(broadcast_id))
    assert button["type"] == "button"
    assert button["action_id"] == kit.CANCEL
    assert button["value"] == str(broadcast_id)

    click = block_action(kit.CANCEL, button["value"], user=LEADER, channel="C111")
    status, _ = leaders.send_interaction(click)
    assert status == 200
    confirmation = slack.wait_for("chat.postEphemeral", seen + 2)[seen + 1]
    assert confirmation.params["user"] == LEADER
    assert "Cancelled" in confirmation.params["text"]

    broadcasts = container.broadcasts
    assert broadcasts.get(broadcast_id).status == "cancelled"
    assert container.scheduler.get_job(job_id) is None
    assert job_id not in stored_job_ids(container)

    # Nothing gets it out any more: not the job's call, not the safety net.
    outcome = broadcasts.send(broadcast_id)
    assert not outcome.done
    assert broadcasts.send_due() == []
    assert outbox_rows(container, broadcast_id) == []
    assert broadcasts.get(broadcast_id).status == "cancelled"
    assert copies_by_person(slack, broadcast_id, FINANCE) == {user: 0 for user in FINANCE}

    # … and the list is empty now.
    assert broadcast_command(leaders, "scheduled") == (200, "")
    relisted = slack.wait_for("chat.postEphemeral", seen + 3)[seen + 2]
    assert title not in str(blocks_of(relisted))
    assert "No updates are scheduled." in str(blocks_of(relisted))


def test_local_time_means_nine_in_each_recipients_own_time_zone(leaders, housekeeping):
    container = leaders.container
    housekeeping.append(container)
    container.scheduler.start()
    tomorrow = (dt.datetime.now(ZoneInfo(AMSTERDAM)) + dt.timedelta(days=1)).date()

    def nine(zone: str) -> dt.datetime:
        local = dt.datetime.combine(tomorrow, dt.time(9, 0), tzinfo=ZoneInfo(zone))
        return local.astimezone(dt.UTC)

    at = int(nine(AMSTERDAM).timestamp())
    broadcast_id = schedule_update(
        leaders, at=at, local=True, departments=["Finance", "Operations"]
    )
    update = container.broadcasts.get(broadcast_id)
    assert update.local_time
    assert update.send_at == nine(AMSTERDAM)

    outcome = container.broadcasts.send(broadcast_id)
    assert outcome.done
    due = {
        row.recipient: as_utc(row.next_attempt_at) for row in outbox_rows(container, broadcast_id)
    }
    expected = {
        "U1": nine(AMSTERDAM),
        "U2": nine(AMSTERDAM),
        "U3": nine("America/New_York"),
        "U4": nine(AMSTERDAM),
        "U5": nine("Asia/Tokyo"),
        "U6": nine(AMSTERDAM),
    }
    assert due == expected

    # The job wakes for the first of them: Tokyo's 09:00.
    job = container.scheduler.get_job(f"broadcast-{broadcast_id}")
    assert job is not None
    assert as_utc(job.trigger.run_date) == min(expected.values()) == nine("Asia/Tokyo")
    assert as_utc(job.next_run_time) == nine("Asia/Tokyo")


def test_copies_queued_before_a_restart_go_out_once_each(start_leaders_bot, slack, housekeeping):
    first = start_leaders_bot()
    broadcast_id = send_update(first, departments=["Finance", "Operations"], drain=False)
    queued = outbox_rows(first.container, broadcast_id)
    assert sorted(row.recipient for row in queued) == EVERYONE_BUT_LEADER
    assert {row.status for row in queued} == {"pending"}  # the bot stops here

    second = start_leaders_bot()
    housekeeping.append(second.container)
    second.container.delivery_worker.start()

    def all_sent() -> bool:
        return {r.status for r in outbox_rows(second.container, broadcast_id)} == {"sent"}

    wait_until(all_sent, what="every copy to be sent")
    settle()
    assert copies_by_person(slack, broadcast_id, EVERYONE_BUT_LEADER) == {
        user: 1 for user in EVERYONE_BUT_LEADER
    }
    posts = [
        c
        for c in slack.calls_to("chat.postMessage")
        if f"broadcast:{broadcast_id}" in str(c.params.get("blocks"))
    ]
    assert sorted(c.params["channel"] for c in posts) == [f"D{u}" for u in EVERYONE_BUT_LEADER]


def test_a_copy_interrupted_mid_send_is_not_sent_twice_after_a_restart(
    start_leaders_bot, slack, housekeeping, monkeypatch
):
    first = start_leaders_bot()
    broadcast_id = send_update(first, departments=["Finance", "Operations"], drain=False)

    # The first process claims two copies; the first reaches Slack and the process dies
    # before recording it, the second never gets sent. It died long ago: its lease is over.
    outbox = first.container.outbox
    outbox.lease = dt.timedelta(seconds=-1)
    claimed = outbox.claim(2)
    assert len(claimed) == 2

    def crash(*args, **kwargs):
        raise SystemExit("the process stopped")

    monkeypatch.setattr(outbox, "mark_sent", crash)
    with pytest.raises(SystemExit):
        first.container.delivery_worker.deliver(claimed[0])
    landed, lost = claimed[0].recipient, claimed[1].recipient
    assert len(dm_copies(slack, landed, broadcast_id)) == 1
    assert not dm_copies(slack, lost, broadcast_id)
    statuses = {r.recipient: r.status for r in outbox_rows(first.container, broadcast_id)}
    assert statuses[landed] == statuses[lost] == "sending"

    second = start_leaders_bot()
    housekeeping.append(second.container)
    second.container.delivery_worker.start()

    def all_sent() -> bool:
        return {r.status for r in outbox_rows(second.container, broadcast_id)} == {"sent"}

    wait_until(all_sent, what="every copy to be sent")
    settle()
    assert copies_by_person(slack, broadcast_id, EVERYONE_BUT_LEADER) == {
        user: 1 for user in EVERYONE_BUT_LEADER
    }
    # The one that had landed is recorded with the message Slack already has.
    [row] = [r for r in outbox_rows(second.container, broadcast_id) if r.recipient == landed]
    [message] = dm_copies(slack, landed, broadcast_id)
    assert row.message_ts == message["ts"]


def test_a_scheduled_update_edited_from_the_list_goes_out_with_the_new_text(leaders, slack):
    broadcast_id = schedule_update(
        leaders, at=int(time.time()) + 3600, title="Town hall on Thursday", departments=["Finance"]
    )
    seen = len(slack.calls_to("chat.postEphemeral"))
    assert broadcast_command(leaders, "scheduled") == (200, "")
    listing = slack.wait_for("chat.postEphemeral", seen + 1)[seen]
    [edit] = [
        element
        for block in blocks_of(listing)
        if block.get("type") == "actions"
        for element in block["elements"]
        if element["action_id"] == kit.EDIT
    ]
    opened = len(slack.calls_to("views.open"))
    click = block_action(kit.EDIT, edit["value"], user=LEADER, channel="C111")
    assert leaders.send_interaction(click)[0] == 200
    slack.wait_for("views.open", opened + 1)
    [modal] = [v for v in slack.state.views.values() if v.get("callback_id") == kit.EDIT_SUBMIT]
    assert modal["blocks"][0]["element"]["initial_value"] == "Town hall on Thursday"

    answers = {"title": "Town hall moves to Friday", "body": "Same room, *Friday* 15:00."}
    assert leaders.send_interaction(view_submission(modal, answers, user=LEADER)) == (200, "")
    wait_until(lambda: leaders.container.broadcasts.get(broadcast_id).version == 2, what="the edit")
    scheduled = leaders.container.broadcasts.get(broadcast_id)
    assert (scheduled.status, scheduled.title) == ("scheduled", "Town hall moves to Friday")
    assert outbox_rows(leaders.container, broadcast_id) == []  # nothing went out early

    assert leaders.container.broadcasts.send(broadcast_id).done  # what the job does
    leaders.container.delivery_worker.drain(timeout=10)
    for user in FINANCE:
        [copy] = dm_copies(slack, user, broadcast_id)
        assert copy["blocks"][0]["text"]["text"] == "Town hall moves to Friday"
        assert "*Friday* 15:00" in copy["blocks"][1]["text"]["text"]
        assert "edited" not in copy["blocks"][2]["elements"][0]["text"]  # nobody saw the first

"""Only an update's author, or a broadcast admin, may edit, remind, recall or cancel it.
Another leader's click, modal submit or command is refused politely and changes nothing;
an admin's edit names the admin on every copy."""

from __future__ import annotations

import time

import pytest
from broadcast_bed import (
    LEADER,
    all_copies,
    broadcast_rows,
    click_ephemeral,
    compose,
    dms_to,
    latest_view,
    leader_click,
    open_compose,
    send_update,
    submit,
    wait_until,
)
from scenario import block_texts, settle
from slackbed import view_submission

from bot.slack import broadcast_blocks as kit

OTHER = "ULEAD2"  # a leader too, but not the author
ADMIN = "UADMIN"  # CHANGEBOT_BROADCAST_ADMINS


@pytest.fixture
def bot(start_leaders_bot, slack):
    slack.users[OTHER] = {"id": OTHER, "real_name": "Olly Other"}
    slack.users[ADMIN] = {"id": ADMIN, "real_name": "Ada Admin"}
    return start_leaders_bot(leader_users=f"{LEADER},{OTHER},{ADMIN}", broadcast_admins=ADMIN)


def scheduled_update(bot) -> int:
    view = open_compose(bot)
    at = int(time.time()) + 3 * 86400
    assert submit(bot, view, compose(departments=["Finance"], at=at)) == (200, "")
    [row] = wait_until(lambda: broadcast_rows(bot), what="the scheduled update")
    return row.id


def _sent(bot) -> int:
    return send_update(bot, departments=["Finance"])


@pytest.mark.parametrize(
    ("action", "make", "status_after"),
    [
        (kit.REMIND, _sent, "sent"),
        (kit.RECALL, _sent, "sent"),
        (kit.CANCEL, scheduled_update, "scheduled"),
    ],
    ids=["remind", "recall", "cancel"],
)
def test_another_leaders_click_is_refused_politely(bot, slack, action, make, status_after):
    broadcast_id = make(bot)
    bot.container.delivery_worker.drain(timeout=10)
    outbox_before = bot.container.outbox.counts(f"broadcast-{broadcast_id}")
    said = leader_click(bot, action, broadcast_id, user=OTHER)
    assert said.startswith("Only Lea Leader, who wrote")
    [row] = broadcast_rows(bot)
    assert row.status == status_after
    assert bot.container.outbox.counts(f"broadcast-{broadcast_id}") == outbox_before
    assert not [e for e in bot.container.broadcasts.audit_log(broadcast_id) if e["actor"] == OTHER]


def test_another_leaders_edit_click_opens_no_modal(bot, slack):
    broadcast_id = _sent(bot)
    said = leader_click(bot, kit.EDIT, broadcast_id, user=OTHER)
    assert said.startswith("Only Lea Leader, who wrote")
    settle()
    assert not [
        c
        for c in slack.calls_to("views.open")
        if c.params["view"]["callback_id"] == kit.EDIT_SUBMIT
    ]


def _edit_view(bot, broadcast_id: int, *, user: str) -> dict:
    seen = len(bot.slack.calls_to("views.open"))
    assert click_ephemeral(bot, kit.EDIT, broadcast_id, user=user)[0] == 200
    bot.slack.wait_for("views.open", seen + 1)
    return latest_view(bot.slack, kit.EDIT_SUBMIT)


def test_another_leaders_forged_edit_submit_changes_nothing(bot, slack):
    broadcast_id = _sent(bot)
    view = _edit_view(bot, broadcast_id, user=LEADER)  # the author's modal, submitted by OTHER
    before = len(dms_to(slack, OTHER))
    forged = view_submission(view, {"title": "Hijacked", "body": "Not what Lea said."}, user=OTHER)
    assert bot.send_interaction(forged)[0] == 200
    told = wait_until(lambda: dms_to(slack, OTHER, since=before), what="the refusal")
    assert told[0].params["text"].startswith("Only Lea Leader, who wrote")
    [row] = broadcast_rows(bot)
    assert (row.title, row.version) != ("Hijacked", 2)
    assert row.version == 1


def test_the_author_can_still_recall(bot, slack):
    broadcast_id = _sent(bot)
    assert leader_click(bot, kit.RECALL, broadcast_id).startswith("Recalling")
    [row] = broadcast_rows(bot)
    assert row.status == "recalled"


def test_an_admins_edit_names_the_admin_on_every_copy(bot, slack):
    broadcast_id = _sent(bot)
    view = _edit_view(bot, broadcast_id, user=ADMIN)
    answers = {"title": "Go-live moves to 16 March", "body": "Now on *16 March*."}
    assert bot.send_interaction(view_submission(view, answers, user=ADMIN)) == (200, "")
    wait_until(
        lambda: [c for c in dms_to(slack, ADMIN) if c.params["text"].startswith("Updating")],
        what="the admin's confirmation",
    )
    bot.container.delivery_worker.drain(timeout=10)
    copies = all_copies(slack, broadcast_id)
    assert copies
    for messages in copies.values():
        for message in messages:
            byline = block_texts(message["blocks"], "context")[0]
            assert byline.startswith(f"From <@{LEADER}>")
            assert byline.endswith(f"edited by <@{ADMIN}>")
    audit = [e for e in bot.container.broadcasts.audit_log(broadcast_id) if e["action"] == "edited"]
    assert [e["actor"] for e in audit] == [ADMIN]

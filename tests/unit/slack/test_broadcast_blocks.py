"""Block Kit for leaders' updates: pure functions, checked against Slack's limits."""

from __future__ import annotations

import datetime as dt
import json

from bot.broadcasts.service import Audience, Stats, Update
from bot.slack import broadcast_blocks as kit

SENT_AT = dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC)


def update(**values) -> Update:
    fields = {
        "id": 7,
        "author": "ULEAD",
        "title": "Go-live <moves> & more",
        "body": "The go-live moves to *9 March*.",
        "audience": Audience(channels=("C1",), departments=("Finance",)),
        "ask_ack": True,
        "status": "sent",
        "send_at": None,
        "local_time": False,
        "author_tz": "Europe/Amsterdam",
        "version": 1,
        "dm_count": 3,
        "channel_count": 1,
        "created_at": SENT_AT,
        "sent_at": SENT_AT,
        "edited_at": None,
        "recalled_at": None,
    }
    return Update(**(fields | values))


def buttons(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_a_copy_has_header_body_byline_and_the_buttons():
    message = kit.message(update(), "U1", None, False)
    blocks = message["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": update().title}}
    assert blocks[1]["text"] == {"type": "mrkdwn", "text": "The go-live moves to *9 March*."}
    assert blocks[2]["elements"][0]["text"] == "From <@ULEAD> · 10 Mar 2026"
    assert buttons(blocks) == [kit.ACK, kit.ASK]
    assert message["text"] == "Go-live &lt;moves&gt; &amp; more — from <@ULEAD>"


def test_a_reminder_copy_asks_until_acknowledged_then_says_so():
    blocks = kit.message(update(), "U1", None, True)["blocks"]
    assert blocks[0]["block_id"] == kit.REMINDER_BLOCK
    assert buttons(blocks) == [kit.ACK, kit.ASK]
    edited = update(version=2, edited_at=SENT_AT + dt.timedelta(hours=1))
    blocks = kit.message(edited, "U1", SENT_AT, True)["blocks"]
    assert kit.REMINDER_BLOCK not in json.dumps(blocks)  # no "please press Got it" any more
    assert buttons(blocks) == [kit.ASK]
    texts = json.dumps(blocks, ensure_ascii=False)
    assert "· edited" in texts and "You acknowledged this on 10 Mar 2026" in texts


def test_a_preview_has_no_buttons_and_says_what_they_will_be():
    blocks = kit.message(update(), "ULEAD", None, False, preview=True)["blocks"]
    assert buttons(blocks) == []
    assert "Preview — only you got this" in blocks[-1]["elements"][0]["text"]


def test_tracking_shows_figures_and_escapes_the_title():
    stats = Stats(delivered_dms=3, delivered_channels=1, acknowledged=2, questions=1)
    blocks = kit.tracking_blocks([(update(), stats)], tz="Europe/Amsterdam")
    text = blocks[0]["text"]["text"]
    assert text.startswith(
        "*Go-live &lt;moves&gt; &amp; more*\nSent 10 Mar 09:00 to <#C1>, Finance"
    )
    assert "Finance (3 people, 1 channel)\n" in text  # the audience as resolved when sent
    assert "Acknowledged: 2 of 3 (67%)" in text and "Questions: 1" in text
    assert buttons(blocks) == [kit.REMIND, kit.EDIT, kit.RECALL]


def test_tracking_of_an_update_that_was_not_sent_has_no_buttons():
    not_sent = update(status="not sent", sent_at=None, send_at=SENT_AT)
    blocks = kit.tracking_blocks([(not_sent, Stats())], tz="UTC")
    assert len(blocks) == 1 and buttons(blocks) == []
    assert "*not sent* (due 10 Mar 08:00" in blocks[0]["text"]["text"]


def test_the_compose_modal_offers_groups_and_departments_only_when_there_are_some():
    bare = kit.compose_modal(usergroups=[], departments=[])
    ids = [b.get("block_id") for b in bare["blocks"]]
    assert "usergroups" not in ids and "departments" not in ids
    full = kit.compose_modal(usergroups=[("S1", "@data — Data team")], departments=["Finance"])
    ids = [b.get("block_id") for b in full["blocks"]]
    assert ids.index("channels") < ids.index("usergroups") < ids.index("departments")
    for block in full["blocks"]:
        if block["type"] == "input":
            assert block["label"]["text"].strip(), block["block_id"]  # Slack needs a label

"""Leaders' updates end to end: compose in the modal, one copy per person and channel,
"Got it" counted once, and the update answerable from the playbook."""

from __future__ import annotations

from broadcast_bed import CHANNEL, GROUP, press_got_it, send_update


def test_channel_group_and_department_overlap_get_one_copy_each(leaders, slack):
    broadcast_id = send_update(
        leaders, channels=[CHANNEL], usergroups=[GROUP], departments=["Finance"]
    )
    posts = slack.successful_calls("chat.postMessage")
    targets = sorted(
        c.params["channel"] for c in posts if "broadcast" in str(c.params.get("blocks"))
    )
    # Finance = U1, U2, U3; the group = U3, U7: U3 once.
    assert targets == [CHANNEL, "DU1", "DU2", "DU3", "DU7"]
    press_got_it(leaders, broadcast_id, "U1")
    stats = leaders.container.broadcasts.stats(broadcast_id)
    assert (stats.delivered_dms, stats.delivered_channels, stats.acknowledged) == (4, 1, 1)

"""The web console from Slack: `/pulse console`, `/broadcast console` and the App Home button
DM a single-use sign-in link to people with a role, and to nobody else."""

from __future__ import annotations

import re

from broadcast_bed import LEADER, click_ephemeral, wait_until
from console_bed import link_token
from scenario import settle
from slackbed import app_home_opened_event, command_fields

from bot.slack.blocks import CONSOLE_LINK

LINK = re.compile(r"<(http://localhost:8080/console/sign-in/link\?token=[^|>]+)\|")


def _dm_links(slack, user: str) -> list[str]:
    return [
        match.group(1)
        for call in slack.successful_calls("chat.postMessage")
        if call.params["channel"] == f"D{user}"
        for match in [LINK.search(call.params.get("text", ""))]
        if match
    ]


def test_broadcast_console_dms_a_leader_a_link_that_signs_them_in(leaders, slack):
    status, body = leaders.send_command(
        command_fields("console", command="/broadcast", user=LEADER)
    )
    assert status == 200 and "sign-in link" in body
    [link] = wait_until(lambda: _dm_links(slack, LEADER), what="the DM with the link")
    assert link.endswith("&to=/updates")  # the console opens on the Updates page
    assert leaders.container.sign_in.redeem_link(link_token(link)) == LEADER
    dm = slack.successful_calls("chat.postMessage")[-1].params
    assert dm["unfurl_links"] in (False, "false", "0", 0)  # no preview fetches the link


def test_people_without_a_role_get_no_link_from_the_commands(leaders, slack):
    for command in ("/broadcast", "/pulse"):
        status, body = leaders.send_command(command_fields("console", command=command, user="U1"))
        assert status == 200 and "only" in body.lower()
    settle()
    assert not _dm_links(slack, "U1")


def test_the_app_home_offers_the_console_only_to_people_with_a_role(leaders, slack):
    for user in (LEADER, "U1"):
        assert leaders.send_event(app_home_opened_event(user=user))[0] == 200
    wait_until(lambda: {LEADER, "U1"} <= set(slack.state.home_tabs), what="both homes")
    actions = {
        user: [
            element.get("action_id")
            for block in slack.state.home_tabs[user]["blocks"]
            for element in [block.get("accessory") or {}, *(block.get("elements") or [])]
        ]
        for user in (LEADER, "U1")
    }
    assert CONSOLE_LINK in actions[LEADER] and CONSOLE_LINK not in actions["U1"]


def test_the_home_button_dms_a_link_and_refuses_a_crafted_click_without_a_role(leaders, slack):
    assert click_ephemeral(leaders, CONSOLE_LINK, "open", user=LEADER, channel="D1")[0] == 200
    wait_until(lambda: _dm_links(slack, LEADER), what="the leader's link")
    assert click_ephemeral(leaders, CONSOLE_LINK, "open", user="U1", channel="D1")[0] == 200
    wait_until(
        lambda: any(
            c.params["channel"] == "DU1" and "web console is for HR" in c.params.get("text", "")
            for c in slack.successful_calls("chat.postMessage")
        ),
        what="the refusal",
    )
    assert not _dm_links(slack, "U1")

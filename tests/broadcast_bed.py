"""A running bot for leaders' updates: a leader, six people in two departments, a user
group, two channels (the bot is in one), and helpers that click through Slack as a
person would. Used by the test_broadcast_*.py scenario files; tests/conftest.py makes
the fixtures available everywhere."""

from __future__ import annotations

import time
from contextlib import ExitStack

import pytest
from slackbed import (
    SIGNING_SECRET,
    BotServer,
    block_action,
    command_fields,
    next_ts,
    view_submission,
)

from bot.slack import broadcast_blocks as kit
from bot.slack.app import build_app

LEADER = "ULEAD"
PEOPLE = [
    ("U1", "Ana Alves", "Finance", "Europe/Amsterdam"),
    ("U2", "Ben Bakker", "Finance", "Europe/Amsterdam"),
    ("U3", "Cas de Vries", "Finance", "America/New_York"),
    ("U4", "Dina Evers", "Operations", "Europe/Amsterdam"),
    ("U5", "Eli Faber", "Operations", "Asia/Tokyo"),
    ("U6", "Fay Groot", "Operations", "Europe/Amsterdam"),
]
USERS = [user for user, *_ in PEOPLE]
GROUP = "S100"  # the data team: U3 (also in Finance) and U7 (in no department)
GROUP_MEMBERS = ["U3", "U7"]
CHANNEL = "C200"  # #mlops-rollout, the bot is a member
OUTSIDE = "C300"  # #random, the bot is not in it


@pytest.fixture
def start_leaders_bot(make_container, kb, slack):
    stack = ExitStack()
    slack.users.update(
        {user: {"id": user, "real_name": name, "tz": tz} for user, name, _, tz in PEOPLE}
    )
    slack.users["U7"] = {"id": "U7", "real_name": "Gus Hendriks"}
    slack.users[LEADER] = {"id": LEADER, "real_name": "Lea Leader"}
    slack.usergroups[GROUP] = {"handle": "data-team", "name": "Data team", "users": GROUP_MEMBERS}
    slack.channels[CHANNEL] = {"name": "mlops-rollout"}
    slack.channels[OUTSIDE] = {"name": "random"}
    slack.not_in_channels.add(OUTSIDE)

    def start(**overrides):
        settings = {
            "slack_bot_token": "xoxb-test",
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": slack.base_url,
            "workers": 4,
            "slack_retries": 2,
            "leader_users": LEADER,
            "delivery_rate": 50,
            **overrides,
        }
        container = make_container(**settings)
        container.indexer.ingest(kb)
        container.directory.sync(
            [
                {"id": user, "real_name": name, "tz": tz, "profile": {"email": f"{user}@x.example"}}
                for user, name, _, tz in PEOPLE
            ]
            + [{"id": LEADER, "real_name": "Lea Leader", "tz": "Europe/Amsterdam"}]
        )
        container.directory.import_csv(
            "email,department\n" + "".join(f"{u}@x.example,{d}\n" for u, _, d, _ in PEOPLE)
        )
        server = stack.enter_context(BotServer(build_app(container)))
        server.container = container
        server.slack = slack
        return server

    yield start
    stack.close()


@pytest.fixture
def leaders(start_leaders_bot):
    return start_leaders_bot()


def broadcast_command(bot, words: str = "", *, user: str = LEADER, channel: str = "C111"):
    return bot.send_command(command_fields(words, command="/broadcast", user=user, channel=channel))


def open_compose(bot, *, user: str = LEADER) -> dict:
    """`/broadcast`: returns the compose modal as the emulator stored it."""
    seen = len(bot.slack.calls_to("views.open"))
    status, body = broadcast_command(bot, "", user=user)
    assert (status, body) == (200, "")
    assert bot.slack.wait_for("views.open", seen + 1)[seen].ok
    return list(bot.slack.state.views.values())[-1]


def compose(
    title: str = "MLOps platform go-live moves to 9 March",
    body: str = "The *go-live* of the MLOps platform moves from 2 March to *9 March*.",
    *,
    channels=(),
    usergroups=(),
    departments=(),
    everyone=False,
    ack=True,
    at: int | None = None,
    local=False,
) -> dict:
    """Answers for the compose modal, by block id."""
    answers: dict[str, object] = {"title": title, "body": body, "channels": list(channels)}
    answers["usergroups"] = list(usergroups)
    answers["departments"] = list(departments)
    answers["everyone"] = ["everyone"] if everyone else []
    answers["ack"] = ["ack"] if ack else []
    answers["when"] = "later" if at is not None else "now"
    answers["at"] = at
    answers["local"] = ["local"] if local else []
    return answers


def submit(bot, view: dict, answers: dict, *, user: str = LEADER) -> tuple[int, str]:
    present = {b.get("block_id") for b in view["blocks"]}
    answers = {k: v for k, v in answers.items() if k in present}
    return bot.send_interaction(view_submission(view, answers, user=user))


def send_update(bot, *, drain: bool = True, **choices) -> int:
    """Compose and send an update as the leader; returns its id (outbox drained)."""
    from bot.store.models import Broadcast

    view = open_compose(bot)
    status, body = submit(bot, view, compose(**choices))
    assert (status, body) == (200, "")
    deadline = time.monotonic() + 10
    while True:
        with bot.container.session_factory() as session:
            found = session.query(Broadcast).order_by(Broadcast.id.desc()).first()
            if found is not None and found.status == "sent":
                broadcast_id = found.id
                break
        assert time.monotonic() < deadline, "the update was not sent"
        time.sleep(0.05)
    wait_indexed(bot.container, broadcast_id, deadline=time.monotonic() + 10)
    if drain:
        bot.container.delivery_worker.drain(timeout=10)
    return broadcast_id


def wait_indexed(container, broadcast_id: int, *, deadline: float) -> None:
    """The status flips to "sent" just before the update is indexed (in the submit's
    thread): wait for the index too, so a test's next step does not race it."""
    from bot.broadcasts.service import SOURCE_PREFIX

    source = f"{SOURCE_PREFIX}{broadcast_id}"
    while time.monotonic() < deadline:
        if container.record_manager.list_keys(group_ids=[source]):
            return
        time.sleep(0.05)


def action_ids(blocks: list[dict]) -> list[str]:
    return [
        element.get("action_id")
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]


def dm_copies(slack, user: str, broadcast_id: int) -> list[dict]:
    """The user's DMs that carry update `broadcast_id`'s buttons."""
    return [
        dict(m)
        for m in slack.state.messages.get(f"D{user}", [])
        if any(b.get("block_id") == f"broadcast:{broadcast_id}" for b in m.get("blocks") or [])
    ]


def click(bot, action_id: str, value, *, user: str, message: dict, channel: str) -> tuple[int, str]:
    return bot.send_interaction(
        block_action(action_id, str(value), user=user, channel=channel, message=message)
    )


def press_got_it(bot, broadcast_id: int, user: str) -> None:
    [message] = dm_copies(bot.slack, user, broadcast_id)[:1]
    seen = len(bot.slack.calls_to("chat.update"))
    assert kit.ACK in action_ids(message["blocks"])
    status, _ = click(bot, kit.ACK, broadcast_id, user=user, message=message, channel=f"D{user}")
    assert status == 200
    bot.slack.wait_for("chat.update", seen + 1)


# -- more helpers for the scenario file (appended) ------------------------------------------
def wait_until(predicate, *, timeout: float = 10.0, what: str = "the condition"):
    """Poll `predicate` until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def broadcast_rows(bot) -> list:
    from bot.store.models import Broadcast

    with bot.container.session_factory() as session:
        return list(session.query(Broadcast).order_by(Broadcast.id))


def update_posts(slack) -> list:
    """Successful chat.postMessage calls that carried a copy of an update (not previews)."""
    return [
        call
        for call in slack.successful_calls("chat.postMessage")
        if any(
            str(b.get("block_id", "")).startswith("broadcast:")
            for b in call.params.get("blocks") or []
        )
    ]


def copies_in(slack, channel: str, broadcast_id: int) -> list[dict]:
    """Messages in `channel` (a DM or a channel) that carry update `broadcast_id`."""
    return [
        dict(m)
        for m in slack.state.messages.get(channel, [])
        if any(b.get("block_id") == f"broadcast:{broadcast_id}" for b in m.get("blocks") or [])
    ]


def all_copies(slack, broadcast_id: int) -> dict[str, list[dict]]:
    """Every stored copy of the update, by conversation."""
    found = {}
    for channel in list(slack.state.messages):
        copies = copies_in(slack, channel, broadcast_id)
        if copies:
            found[channel] = copies
    return found


def status_blocks(bot, *, user: str = LEADER, channel: str = "C111") -> list[dict]:
    """`/broadcast status`: the ephemeral's blocks."""
    seen = len(bot.slack.calls_to("chat.postEphemeral"))
    assert broadcast_command(bot, "status", user=user, channel=channel) == (200, "")
    told = bot.slack.wait_for("chat.postEphemeral", seen + 1)[seen]
    assert told.ok and (told.params["channel"], told.params["user"]) == (channel, user)
    return told.params["blocks"]


def track_buttons(blocks: list[dict], broadcast_id: int) -> dict[str, dict]:
    """The leader's buttons for one update in tracking blocks, by action id."""
    return {
        element["action_id"]: element
        for block in blocks
        if block.get("block_id") == f"track:{broadcast_id}"
        for element in block.get("elements", [])
    }


def click_ephemeral(bot, action_id: str, value, *, user: str = LEADER, channel: str = "C111"):
    """A click on a button of an ephemeral message (the status blocks): no `message`."""
    return bot.send_interaction(block_action(action_id, str(value), user=user, channel=channel))


def leader_click(bot, action_id: str, value, *, user: str = LEADER, channel: str = "C111") -> str:
    """Click a status button; returns the text of the ephemeral note the bot answers with."""
    seen = len(bot.slack.calls_to("chat.postEphemeral"))
    status, _ = click_ephemeral(bot, action_id, value, user=user, channel=channel)
    assert status == 200
    told = bot.slack.wait_for("chat.postEphemeral", seen + 1)[seen]
    assert told.ok and told.params["user"] == user
    return told.params["text"]


def latest_view(slack, callback_id: str) -> dict:
    """The newest view opened with this callback id."""
    return [v for v in slack.state.views.values() if v.get("callback_id") == callback_id][-1]


def modal_block_action(view: dict, answers: dict, action_id: str, value: str, *, user=LEADER):
    """A button click inside an open modal (block_actions with `view`, no channel/message)."""
    from slackbed import load_payload, view_state

    payload = load_payload("interactive_block_actions")
    payload["user"].update({"id": user, "username": user.lower(), "name": user.lower()})
    payload.pop("channel", None)
    payload.pop("message", None)
    payload.pop("response_url", None)
    payload["container"] = {"type": "view", "view_id": view["id"]}
    state_view = {**view, "state": {"values": view_state(view, answers)}}
    payload["view"] = state_view
    block_id = next(
        (
            b.get("block_id")
            for b in view["blocks"]
            for e in b.get("elements") or []
            if e.get("action_id") == action_id
        ),
        "b",
    )
    action = payload["actions"][0]
    action.update({"action_id": action_id, "value": value, "block_id": block_id})
    action["action_ts"] = next_ts()  # every click gets its own from Slack
    payload["trigger_id"] = f"{next_ts()}.valid"
    return payload


def dms_to(slack, user: str, *, since: int = 0) -> list:
    """Successful chat.postMessage calls to the user's DM (after the first `since` of them)."""
    return [
        c for c in slack.successful_calls("chat.postMessage") if c.params["channel"] == f"D{user}"
    ][since:]

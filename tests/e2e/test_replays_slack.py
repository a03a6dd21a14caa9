"""A captured click, modal submit or slash command replayed inside Slack's 5-minute
signature window acts once; a second real click (new action_ts / trigger_id) still acts."""

from __future__ import annotations

from broadcast_bed import LEADER, broadcast_command, latest_view, send_update
from scenario import blocks_of, button_value, settle
from slackbed import block_action, command_fields, view_submission

from bot.slack import broadcast_blocks as kit


def _share_button(bot, slack, response_urls) -> dict:
    bot.send_command(command_fields("when does phase 1 run?", user="U1", channel="C111"))
    [ephemeral] = slack.wait_for("chat.postEphemeral")
    value = button_value(blocks_of(ephemeral), "share_to_channel")
    return block_action(
        "share_to_channel", value, user="U1", channel="C111", response_url=response_urls.url()
    )


def test_replayed_share_click_posts_once(bot, slack, response_urls):
    click = _share_button(bot, slack, response_urls)
    for _ in range(3):  # the same signed body, as an attacker who captured it would send it
        assert bot.send_interaction(click)[0] == 200
    slack.wait_for("chat.postMessage")
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_second_real_click_is_not_taken_for_a_replay(bot, slack, response_urls):
    bot.send_command(command_fields("when does phase 1 run?", user="U1", channel="C111"))
    [ephemeral] = slack.wait_for("chat.postEphemeral")
    value = button_value(blocks_of(ephemeral), "escalate") + ":helpful"
    for _ in range(2):  # two real clicks: Slack gives each its own action_ts and trigger_id
        click = block_action("answer_feedback", value, user="U1", channel="C111")
        assert bot.send_interaction(click)[0] == 200
    slack.wait_for("chat.postEphemeral", 3)  # the answer, then one thank-you per click
    settle()
    assert len(slack.calls_to("chat.postEphemeral")) == 3


def test_replayed_slash_command_answers_once(bot, slack):
    fields = command_fields("when does phase 1 run?", user="U1", channel="C111")
    for _ in range(3):
        assert bot.send_command(fields)[0] == 200
    slack.wait_for("chat.postEphemeral")
    settle()
    assert len(slack.calls_to("chat.postEphemeral")) == 1


def test_the_same_command_typed_twice_answers_twice(bot, slack):
    for _ in range(2):
        fields = command_fields("when does phase 1 run?", user="U1", channel="C111")
        assert bot.send_command(fields)[0] == 200
    slack.wait_for("chat.postEphemeral", 2)


def test_replayed_question_modal_submit_answers_once(leaders, slack):
    broadcast_id = send_update(leaders, departments=["Finance"])
    [copy] = [
        m
        for m in slack.state.messages.get("DU1", [])
        if any(b.get("block_id") == f"broadcast:{broadcast_id}" for b in m.get("blocks") or [])
    ]
    click = block_action(kit.ASK, str(broadcast_id), user="U1", channel="DU1", message=copy)
    opened = len(slack.calls_to("views.open"))
    leaders.send_interaction(click)
    slack.wait_for("views.open", opened + 1)
    view = latest_view(slack, kit.QUESTION_SUBMIT)
    submit = view_submission(view, {"question": "When is the go-live now?"}, user="U1")
    posts_before = len(slack.calls_to("chat.postMessage"))
    for _ in range(3):
        assert leaders.send_interaction(submit) == (200, "")
    slack.wait_for("chat.postMessage", posts_before + 1)
    settle()
    answers = [
        c for c in slack.calls_to("chat.postMessage")[posts_before:] if c.params.get("thread_ts")
    ]
    assert len(answers) == 1
    assert leaders.container.broadcasts.stats(broadcast_id).questions == 1


def test_replayed_broadcast_command_opens_one_modal(leaders, slack):
    fields = command_fields("", command="/broadcast", user=LEADER, channel="C111")
    for _ in range(3):
        assert leaders.send_command(fields) == (200, "")
    slack.wait_for("views.open")
    settle()
    assert len(slack.calls_to("views.open")) == 1
    assert broadcast_command(leaders, "")[0] == 200  # a new invocation still works
    slack.wait_for("views.open", 2)

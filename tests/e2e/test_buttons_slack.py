"""Buttons under an answer: 👍 / 👎, "Ask the change team", and the team's "Mark answered"."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from scenario import (
    action_ids,
    block_texts,
    blocks_of,
    button_value,
    everything_said,
    overlap_reads,
    rows,
    settle,
    stored_message,
)
from slackbed import (
    TEAM_CHANNEL,
    block_action,
    command_fields,
    dm_event,
    mention_event,
    message_event,
)

from bot.prompts import PromptLibrary
from bot.store.models import Escalation, Feedback

PROMPTS = PromptLibrary()
THANKS = PROMPTS.get("feedback_thanks").render()
SORRY = PROMPTS.get("feedback_unhelpful").render()
ESCALATED = PROMPTS.get("escalated").render()
ALREADY = PROMPTS.get("already_escalated").render()
APOLOGY = PROMPTS.get("slack_error").render()


def _answered_dm(bot, slack, question="When does phase 1 run?", *, event_id="EvQ1"):
    """Ask in a DM; returns (the answer message as stored, the interaction id)."""
    bot.send_event(dm_event(question, event_id=event_id))
    [call] = slack.wait_for("chat.postMessage")
    settle(0.1)  # the reply ts is recorded right after the post
    message = slack.state.messages["D111"][-1]
    return dict(message), button_value(blocks_of(call), "escalate")


def _feedback(value: str, helpful: bool) -> tuple[str, str]:
    """(action_id, value) of a click on the answer's native 👍/👎 (feedback_buttons)."""
    return "answer_feedback", f"{value}:{'helpful' if helpful else 'not_helpful'}"


def _ephemeral_texts(slack) -> list[str]:
    return [c.params.get("text") for c in slack.calls_to("chat.postEphemeral")]


def _click(bot, action_id, value, message, *, user="U1", channel="D111"):
    status, _ = bot.send_interaction(
        block_action(action_id, value, user=user, channel=channel, message=message)
    )
    assert status == 200


# -- feedback ------------------------------------------------------------------------------
def test_helpful_click_stores_feedback_and_thanks_the_clicker(bot, slack):
    message, value = _answered_dm(bot, slack)
    _click(bot, *_feedback(value, True), message)
    [thanks] = slack.wait_for("chat.postEphemeral")
    assert thanks.params["channel"] == "D111"
    assert thanks.params["user"] == "U1"
    assert thanks.params["text"] == THANKS
    [feedback] = rows(bot.container, Feedback)
    assert (feedback.interaction_id, feedback.user_id, feedback.helpful) == (int(value), "U1", True)
    settle()
    assert len(slack.calls_to("chat.postEphemeral")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_clicking_helpful_twice_keeps_one_row_then_not_helpful_changes_it(bot, slack):
    message, value = _answered_dm(bot, slack)
    _click(bot, *_feedback(value, True), message)
    slack.wait_for("chat.postEphemeral", 1)
    _click(bot, *_feedback(value, True), message)
    slack.wait_for("chat.postEphemeral", 2)
    assert [(f.user_id, f.helpful) for f in rows(bot.container, Feedback)] == [("U1", True)]

    _click(bot, *_feedback(value, False), message)
    slack.wait_for("chat.postEphemeral", 3)
    assert [(f.user_id, f.helpful) for f in rows(bot.container, Feedback)] == [("U1", False)]
    settle()
    assert _ephemeral_texts(slack) == [THANKS, THANKS, SORRY]
    assert len(slack.calls_to("chat.postMessage")) == 1  # no apology, no second answer


def test_a_double_click_arriving_together_stores_one_row_and_thanks_twice(bot, slack, monkeypatch):
    """Both clicks look for an existing row before either stores one (forced; it happens by
    itself about one time in three), so the second insert hits the unique constraint."""
    message, value = _answered_dm(bot, slack)
    overlap_reads(monkeypatch, bot.container.question_service, Feedback)
    clicks = [
        block_action(*_feedback(value, True), user="U1", channel="D111", message=message)
        for _ in range(2)
    ]
    with ThreadPoolExecutor(2) as pool:
        statuses = [status for status, _ in pool.map(bot.send_interaction, clicks)]
    assert statuses == [200, 200]
    slack.wait_for("chat.postEphemeral", 2)
    settle()
    assert [(f.user_id, f.helpful) for f in rows(bot.container, Feedback)] == [("U1", True)]
    assert _ephemeral_texts(slack) == [THANKS, THANKS]


# -- escalation ----------------------------------------------------------------------------
def _escalate(bot, slack, value, message, *, channel="D111"):
    _click(bot, "escalate", value, message, channel=channel)
    [team_post] = slack.wait_for("chat.postMessage", 2)[1:]
    slack.wait_for("chat.postEphemeral")
    settle(0.1)  # the team post's ts is recorded right after it is posted
    return team_post, stored_message(
        slack, TEAM_CHANNEL, slack.state.messages[TEAM_CHANNEL][0]["ts"]
    )


def test_escalation_posts_to_the_change_team_once_and_tells_the_clicker(bot, slack):
    message, value = _answered_dm(bot, slack)
    team_post, _ = _escalate(bot, slack, value, message)

    assert team_post.params["channel"] == TEAM_CHANNEL
    said = everything_said(team_post)
    assert "<@U1>" in said and "When does phase 1 run?" in said
    assert action_ids(blocks_of(team_post)) == ["mark_answered"]
    [escalation] = rows(bot.container, Escalation)
    assert button_value(blocks_of(team_post), "mark_answered") == str(escalation.id)
    [told] = slack.calls_to("chat.postEphemeral")
    assert (told.params["channel"], told.params["user"]) == ("D111", "U1")
    assert told.params["text"] == ESCALATED
    assert "passed your question" in told.params["text"]

    _click(bot, "escalate", value, message)
    slack.wait_for("chat.postEphemeral", 2)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 2  # the answer and one team post
    assert _ephemeral_texts(slack) == [ESCALATED, ALREADY]
    assert "already with the change team" in ALREADY
    assert len(rows(bot.container, Escalation)) == 1


def test_a_team_reply_is_relayed_to_the_dm_it_came_from(bot, slack):
    message, value = _answered_dm(bot, slack)
    _, team_message = _escalate(bot, slack, value, message)

    reply = message_event(
        "Phase 1 starts on 3 March; the kick-off invite follows.",
        event_id="EvTeamReply1",
        user="U2",
        channel=TEAM_CHANNEL,
        thread_ts=team_message["ts"],
    )
    status, _ = bot.send_event(reply)
    assert status == 200
    relayed = slack.wait_for("chat.postMessage", 3)[2]
    assert relayed.params["channel"] == "D111"
    assert relayed.params.get("thread_ts") in (None, "", message["ts"])
    said = everything_said(relayed)
    assert "Phase 1 starts on 3 March; the kick-off invite follows." in said
    assert "<@U2>" in said and "When does phase 1 run?" in said
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 3


def test_a_team_reply_to_a_mention_is_relayed_into_the_mention_thread(bot, slack):
    mention = mention_event("<@UBOT> when does phase 1 run?", event_id="EvMentionEsc")
    bot.send_event(mention)
    [answer_call] = slack.wait_for("chat.postMessage")
    settle(0.1)
    answer = dict(slack.state.messages["C111"][-1])
    value = button_value(blocks_of(answer_call), "escalate")
    _, team_message = _escalate(bot, slack, value, answer, channel="C111")
    [told] = slack.calls_to("chat.postEphemeral")
    assert told.params["channel"] == "C111"
    assert told.params.get("thread_ts") == mention["event"]["ts"]

    bot.send_event(
        message_event(
            "It runs from 3 March.",
            event_id="EvTeamReply2",
            user="U2",
            channel=TEAM_CHANNEL,
            thread_ts=team_message["ts"],
        )
    )
    relayed = slack.wait_for("chat.postMessage", 3)[2]
    assert relayed.params["channel"] == "C111"
    assert relayed.params["thread_ts"] == mention["event"]["ts"]
    assert "It runs from 3 March." in everything_said(relayed)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 3


def test_mark_answered_closes_the_team_message_once(bot, slack):
    message, value = _answered_dm(bot, slack)
    _, team_message = _escalate(bot, slack, value, message)
    escalation_id = button_value(team_message["blocks"], "mark_answered")

    _click(bot, "mark_answered", escalation_id, team_message, user="U2", channel=TEAM_CHANNEL)
    [update] = slack.wait_for("chat.update")
    assert update.ok
    assert update.params["channel"] == TEAM_CHANNEL
    assert update.params["ts"] == team_message["ts"]
    blocks = blocks_of(update)
    assert not action_ids(blocks)  # the button is gone …
    assert any("Marked answered by <@U2>" in t for t in block_texts(blocks, "context"))
    assert block_texts(blocks, "header") == ["Question for the change team"]  # … the rest stays
    [escalation] = rows(bot.container, Escalation)
    assert (escalation.status, escalation.answered_by) == ("answered", "U2")

    # A double click (the second carries the message as it was before the update).
    _click(bot, "mark_answered", escalation_id, team_message, user="U2", channel=TEAM_CHANNEL)
    settle(0.5)
    assert len(slack.calls_to("chat.update")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert APOLOGY not in _ephemeral_texts(slack)


def test_escalate_clicked_twice_at_once_posts_to_the_team_once(bot, slack):
    message, value = _answered_dm(bot, slack)
    clicks = [
        block_action("escalate", value, user="U1", channel="D111", message=message)
        for _ in range(2)
    ]
    with ThreadPoolExecutor(2) as pool:
        statuses = [status for status, _ in pool.map(bot.send_interaction, clicks)]
    assert statuses == [200, 200]
    slack.wait_for("chat.postEphemeral", 2)
    settle()
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == [
        "D111",
        TEAM_CHANNEL,
    ]
    assert sorted(_ephemeral_texts(slack)) == sorted([ESCALATED, ALREADY])
    assert len(rows(bot.container, Escalation)) == 1


def test_mark_answered_clicked_twice_at_once_updates_the_team_message_once(bot, slack, monkeypatch):
    message, value = _answered_dm(bot, slack)
    _, team_message = _escalate(bot, slack, value, message)
    escalation_id = button_value(team_message["blocks"], "mark_answered")
    overlap_reads(monkeypatch, bot.container.question_service, Escalation)
    clicks = [
        block_action(
            "mark_answered", escalation_id, user="U2", channel=TEAM_CHANNEL, message=team_message
        )
        for _ in range(2)
    ]
    with ThreadPoolExecutor(2) as pool:
        statuses = [status for status, _ in pool.map(bot.send_interaction, clicks)]
    assert statuses == [200, 200]
    slack.wait_for("chat.update")
    settle(0.5)
    assert len(slack.calls_to("chat.update")) == 1


def test_a_team_reply_to_an_ask_command_is_relayed_by_dm(bot, slack):
    bot.send_command(command_fields("when does phase 1 run?", user="U1", channel="C111"))
    [ephemeral] = slack.wait_for("chat.postEphemeral")
    value = button_value(blocks_of(ephemeral), "escalate")
    # A button on an ephemeral message: Slack sends no `message`, only the container.
    bot.send_interaction(block_action("escalate", value, user="U1", channel="C111"))
    [team_post] = slack.wait_for("chat.postMessage")
    assert team_post.params["channel"] == TEAM_CHANNEL
    told = slack.wait_for("chat.postEphemeral", 2)[1]
    assert (told.params["channel"], told.params["user"], told.params["text"]) == (
        "C111",
        "U1",
        ESCALATED,
    )
    settle(0.1)
    team_ts = slack.state.messages[TEAM_CHANNEL][0]["ts"]

    bot.send_event(
        message_event(
            "From 3 March.",
            event_id="EvTeamCmd",
            user="U2",
            channel=TEAM_CHANNEL,
            thread_ts=team_ts,
        )
    )
    [opened] = slack.wait_for("conversations.open")
    assert opened.params["users"] == "U1"
    relayed = slack.wait_for("chat.postMessage", 2)[1]
    assert relayed.params["channel"] == "DU1"  # the emulator's DM with U1
    assert "From 3 March." in everything_said(relayed)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_a_reply_in_a_team_thread_that_is_no_escalation_is_not_relayed(bot, slack):
    bot.send_event(
        message_event(
            "Lunch at 12?",
            event_id="EvTeamChat",
            user="U2",
            channel=TEAM_CHANNEL,
            thread_ts="1726133000.000900",
        )
    )
    settle(0.5)
    assert not slack.calls_to("chat.postMessage")


def test_buttons_on_an_answer_that_no_longer_exists_say_it_expired(bot, slack):
    expired = PROMPTS.get("expired").render()
    for n, action in enumerate(("feedback_helpful", "escalate", "share_to_channel"), start=1):
        bot.send_interaction(block_action(action, "987654", user="U1", channel="C111"))
        slack.wait_for("chat.postEphemeral", n)
    settle()
    assert _ephemeral_texts(slack) == [expired] * 3
    assert not slack.calls_to("chat.postMessage")
    assert not rows(bot.container, Feedback) and not rows(bot.container, Escalation)


def test_escalate_without_a_team_channel_says_where_to_ask(bot, slack, monkeypatch):
    monkeypatch.setattr(bot.container.settings, "change_team_channel", None)
    message, value = _answered_dm(bot, slack)
    _click(bot, "escalate", value, message)
    [told] = slack.wait_for("chat.postEphemeral")
    assert told.params["text"] == PROMPTS.get("no_team_channel").render(help_channel="#change-team")
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert not rows(bot.container, Escalation)


def test_a_team_reply_mentioning_the_bot_is_relayed_and_not_answered(bot, slack):
    message, value = _answered_dm(bot, slack)
    _, team_message = _escalate(bot, slack, value, message)
    text = "<@UBOT> it starts on 3 March"
    common = {"user": "U2", "channel": TEAM_CHANNEL, "thread_ts": team_message["ts"]}
    # Slack sends both events for a mention in a thread.
    bot.send_event(mention_event(text, event_id="EvTeamMention", **common))
    bot.send_event(message_event(text, event_id="EvTeamMentionMsg", **common))
    relayed = slack.wait_for("chat.postMessage", 3)[2]
    settle(0.5)
    posts = slack.calls_to("chat.postMessage")
    assert [c.params["channel"] for c in posts] == ["D111", TEAM_CHANNEL, "D111"]
    assert "it starts on 3 March" in everything_said(relayed)


def test_the_old_feedback_buttons_on_answers_posted_before_the_upgrade_still_work(bot, slack):
    message, value = _answered_dm(bot, slack)
    _click(bot, "feedback_not_helpful", value, message)
    slack.wait_for("chat.postEphemeral")
    [feedback] = rows(bot.container, Feedback)
    assert (feedback.interaction_id, feedback.helpful) == (int(value), False)


def test_a_feedback_click_with_a_forged_value_stores_nothing(bot, slack):
    message, value = _answered_dm(bot, slack)
    for forged in (f"{value}:love", "x:helpful", ""):
        _click(bot, "answer_feedback", forged, message)
    settle()
    assert not rows(bot.container, Feedback)
    assert not slack.calls_to("chat.postEphemeral")

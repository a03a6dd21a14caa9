"""`/ask`: a private answer with a Share button; sharing posts it publicly."""

from __future__ import annotations

import json
import time

from scenario import action_ids, blocks_of, button_value, everything_said, rows, settle
from slackbed import block_action, command_fields

from bot.prompts import PromptLibrary
from bot.store.models import Interaction

USAGE = PromptLibrary().get("ask_usage").render()
ANSWER_CALLS = ("chat.postMessage", "chat.postEphemeral")


def test_ask_acks_at_once_and_answers_privately_with_a_share_button(
    bot, slack, response_urls, monkeypatch
):
    service = bot.container.question_service
    real_ask = service.ask

    def slow_ask(*args, **kwargs):
        time.sleep(1.0)  # an answer slower than the ack must not hold the HTTP response
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(service, "ask", slow_ask)
    fields = command_fields(
        "when does phase 1 run?", user="U1", channel="C111", response_url=response_urls.url()
    )
    started = time.monotonic()
    status, body = bot.send_command(fields)
    latency = time.monotonic() - started
    assert status == 200
    assert latency < 0.9, f"/ask took {latency:.2f}s to ack"
    assert USAGE not in body

    [call] = slack.wait_for("chat.postEphemeral", timeout=5)
    assert call.ok
    assert call.params["channel"] == "C111"
    assert call.params["user"] == "U1"
    assert "3 March to 30 June 2026" in everything_said(call)
    assert "share_to_channel" in action_ids(blocks_of(call))
    [interaction] = rows(bot.container, Interaction)
    assert interaction.surface == "command"
    assert button_value(blocks_of(call), "share_to_channel") == str(interaction.id)
    settle()
    assert not slack.calls_to("chat.postMessage")
    assert len(slack.calls_to("chat.postEphemeral")) == 1
    assert not response_urls.posts


def test_ask_without_a_question_answers_with_the_usage_in_the_http_response(bot, slack):
    before = len(slack.calls)
    status, body = bot.send_command(command_fields("   "))
    assert status == 200
    shown = json.loads(body).get("text") if body.lstrip().startswith("{") else body
    assert shown == USAGE
    settle()
    assert not [c for c in slack.calls[before:] if c.method in ANSWER_CALLS]
    assert not rows(bot.container, Interaction)


def test_share_to_channel_posts_question_and_answer_publicly(bot, slack, response_urls):
    bot.send_command(command_fields("when does phase 1 run?", user="U1", channel="C111"))
    [ephemeral] = slack.wait_for("chat.postEphemeral")
    value = button_value(blocks_of(ephemeral), "share_to_channel")

    click = block_action(
        "share_to_channel", value, user="U1", channel="C111", response_url=response_urls.url()
    )
    status, _ = bot.send_interaction(click)
    assert status == 200

    [shared] = slack.wait_for("chat.postMessage")
    assert shared.ok
    assert shared.params["channel"] == "C111"
    assert not shared.params.get("thread_ts")
    said = everything_said(shared)
    assert "<@U1> asked: when does phase 1 run?" in said
    assert "3 March to 30 June 2026" in said
    assert "Orion Roadmap" in said  # its sources come along
    assert not action_ids(blocks_of(shared))  # no private buttons on the public copy
    [hook] = response_urls.wait_for(1)
    assert hook["body"].get("delete_original") in (True, "true")  # the private copy goes
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(slack.calls_to("chat.postEphemeral")) == 1


def test_ask_where_the_bot_cannot_post_answers_through_the_response_url(bot, slack, response_urls):
    slack.missing_channels.add("D999")  # e.g. a DM between two people: not the bot's channel
    fields = command_fields(
        "when does phase 1 run?", user="U1", channel="D999", response_url=response_urls.url()
    )
    assert bot.send_command(fields)[0] == 200
    [hook] = response_urls.wait_for(1)
    assert hook["body"]["response_type"] == "ephemeral"
    assert "3 March to 30 June 2026" in everything_said(hook["body"])
    assert "share_to_channel" in action_ids(hook["body"]["blocks"])
    settle()
    [failed] = slack.calls_to("chat.postEphemeral")
    assert failed.error == "channel_not_found"
    assert not slack.calls_to("chat.postMessage")  # no apology on top

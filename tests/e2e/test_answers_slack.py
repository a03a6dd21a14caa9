"""Questions asked in a DM, by @mention and in a followed thread: where and how the bot answers."""

from __future__ import annotations

import re

from scenario import action_ids, block_texts, blocks_of, everything_said, rows, settle
from slackbed import dm_event, mention_event, message_event

from bot.store.models import Interaction


def test_dm_is_answered_once_in_the_dm_with_answer_sources_and_buttons(bot, slack):
    status, _ = bot.send_event(dm_event("When does phase 1 run?", event_id="EvDm1"))
    assert status == 200

    [call] = slack.wait_for("chat.postMessage")
    assert call.ok
    assert call.params["channel"] == "D111"
    assert not call.params.get("thread_ts")  # a top-level DM gets a top-level answer
    blocks = blocks_of(call)
    [answer] = block_texts(blocks, "section")
    assert "3 March to 30 June 2026" in answer
    [sources] = block_texts(blocks, "context")
    assert sources.startswith("*Sources*")
    numbered = re.findall(r"^\[(\d+)\] ", sources, flags=re.M)
    assert numbered and numbered == [str(n) for n in range(1, len(numbered) + 1)]
    assert "Orion Roadmap" in sources
    assert action_ids(blocks) == ["escalate"]
    assert blocks[-1]["type"] == "context_actions"  # 👍/👎 as Slack's feedback_buttons
    assert blocks[-1]["elements"][0]["type"] == "feedback_buttons"
    assert call.params["text"]  # a notification / fallback text as well

    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert not slack.calls_to("chat.postEphemeral")


def test_mention_is_answered_in_its_thread(bot, slack):
    mention = mention_event("<@UBOT> when does phase 1 run?", event_id="EvMention1")
    status, _ = bot.send_event(mention)
    assert status == 200

    [call] = slack.wait_for("chat.postMessage")
    assert call.params["channel"] == "C111"
    assert call.params["thread_ts"] == mention["event"]["ts"]
    assert "3 March to 30 June 2026" in everything_said(call)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_follow_up_in_a_mention_thread_is_answered_with_the_thread_question_as_context(
    bot, slack, monkeypatch
):
    service = bot.container.question_service
    asked_answerer: list[str] = []
    real_answer = service.answerer.answer

    def recording_answer(question, **kwargs):
        asked_answerer.append(question)
        return real_answer(question, **kwargs)

    monkeypatch.setattr(service.answerer, "answer", recording_answer)

    mention = mention_event("<@UBOT> when does phase 1 run?", event_id="EvThread1")
    thread_ts = mention["event"]["ts"]
    bot.send_event(mention)
    slack.wait_for("chat.postMessage")

    follow_up = message_event(
        "and what about phase 2?", event_id="EvThread2", channel="C111", thread_ts=thread_ts
    )
    status, _ = bot.send_event(follow_up)
    assert status == 200
    _, second = slack.wait_for("chat.postMessage", 2)
    assert second.params["channel"] == "C111"
    assert second.params["thread_ts"] == thread_ts
    assert "1 July to 30 November 2026" in everything_said(second)

    # The follow-up was looked up together with the question that opened the thread …
    assert asked_answerer[-1] == "when does phase 1 run? and what about phase 2?"
    # … and stored as a follow-up of that thread, with the reply that was posted.
    stored = rows(bot.container, Interaction, channel_id="C111", thread_ts=thread_ts)
    assert [(i.surface, i.question) for i in stored] == [
        ("mention", "when does phase 1 run?"),
        ("follow-up", "and what about phase 2?"),
    ]
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 2
    replies = [m["ts"] for m in slack.state.messages["C111"]]
    stored = rows(bot.container, Interaction, channel_id="C111", thread_ts=thread_ts)
    assert [i.reply_ts for i in stored] == replies


def test_a_thread_between_people_is_left_alone(bot, slack):
    parent_ts = "1726133000.000100"
    status, _ = bot.send_event(
        message_event(
            "When does phase 1 run? Does anyone know?",
            event_id="EvHuman1",
            user="U2",
            thread_ts=parent_ts,
        )
    )
    assert status == 200
    settle(0.5)
    assert not slack.calls_to("chat.postMessage")
    assert not slack.calls_to("chat.postEphemeral")


def test_top_level_channel_chatter_is_not_answered(bot, slack):
    bot.send_event(message_event("When does phase 1 run?", event_id="EvChatter1"))
    settle(0.5)
    assert not slack.calls_to("chat.postMessage")


def test_when_the_bot_abstains_asking_the_change_team_comes_first(bot, slack):
    bot.send_event(dm_event("what's for lunch in the canteen today?", event_id="EvLunch"))
    [call] = slack.wait_for("chat.postMessage")
    blocks = blocks_of(call)
    assert "couldn't find that in the playbook" in everything_said(call)
    assert action_ids(blocks)[0] == "escalate"
    assert set(action_ids(blocks)) == {"escalate"}
    assert blocks[-1]["type"] == "context_actions"
    assert "*Sources*" not in everything_said(call)  # nothing presented as a source
    [interaction] = rows(bot.container, Interaction)
    assert interaction.kind == "abstain" and not interaction.confident


def test_mention_without_a_question_gets_a_greeting_in_the_thread(bot, slack):
    mention = mention_event("<@UBOT>", event_id="EvHello")
    bot.send_event(mention)
    [call] = slack.wait_for("chat.postMessage")
    assert call.params["thread_ts"] == mention["event"]["ts"]
    assert call.params["text"].startswith("Hi! Ask me anything about the change programme")
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert not rows(bot.container, Interaction)


def test_follow_up_in_the_thread_under_a_dm_answer_keeps_the_context(bot, slack):
    bot.send_event(dm_event("When does phase 1 run?", event_id="EvDmCtx1"))
    slack.wait_for("chat.postMessage")
    settle(0.1)
    answer_ts = slack.state.messages["D111"][-1]["ts"]
    bot.send_event(dm_event("and when does it end?", event_id="EvDmCtx2", thread_ts=answer_ts))
    _, follow_up = slack.wait_for("chat.postMessage", 2)
    assert follow_up.params["thread_ts"] == answer_ts
    assert "30 June 2026" in everything_said(follow_up)

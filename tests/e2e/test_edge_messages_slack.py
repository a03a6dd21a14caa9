"""Messages the bot must not answer, attachments, an empty index and a failing answerer."""

from __future__ import annotations

import logging

from scenario import action_ids, blocks_of, everything_said, settle
from slackbed import (
    SIGNING_SECRET,
    TEAM_CHANNEL,
    BotServer,
    assistant_message_event,
    dm_event,
    message_event,
)

from bot.prompts import PromptLibrary
from bot.slack.app import build_app

QUESTION = "When does phase 1 run?"
PROMPTS = PromptLibrary()


def _im(**fields) -> dict:
    return message_event(QUESTION, channel="D111", channel_type="im", **fields)


IGNORED = {
    "message_changed": lambda: message_event(
        None,
        user=None,
        channel="D111",
        channel_type="im",
        subtype="message_changed",
        hidden=True,
        message={"type": "message", "user": "U1", "text": QUESTION, "ts": "1726133000.000200"},
        previous_message={
            "type": "message",
            "user": "U1",
            "text": "typo",
            "ts": "1726133000.000200",
        },
    ),
    "message_deleted": lambda: message_event(
        None,
        user=None,
        channel="D111",
        channel_type="im",
        subtype="message_deleted",
        hidden=True,
        deleted_ts="1726133000.000300",
        previous_message={"type": "message", "user": "U1", "text": QUESTION},
    ),
    "channel_join": lambda: _im(subtype="channel_join"),
    "another_bot": lambda: _im(user="U9", bot_id="B999", subtype="bot_message"),
    "bot_id_without_subtype": lambda: _im(user="U9", bot_id="B999"),
    "the_bot_itself": lambda: _im(user="UBOT"),
}


def test_edits_deletions_joins_and_bot_posts_are_not_answered(bot, slack):
    for kind, build in IGNORED.items():
        status, _ = bot.send_event(build())
        assert status == 200, kind
    settle(0.5)
    assert not slack.calls_to("chat.postMessage"), [
        c.params.get("text") for c in slack.calls_to("chat.postMessage")
    ]
    assert not slack.calls_to("chat.postEphemeral")
    # The same question as a plain DM is answered: the filters above are what stopped it.
    bot.send_event(_im())
    slack.wait_for("chat.postMessage")
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_file_without_text_gets_a_note_and_no_answer(bot, slack):
    event = dm_event("", event_id="EvFile1")
    event["event"].update(
        subtype="file_share",
        files=[{"id": "F1", "name": "plan.pdf", "mimetype": "application/pdf"}],
    )
    bot.send_event(event)
    [call] = slack.wait_for("chat.postMessage")
    assert call.params["channel"] == "D111"
    assert call.params["text"] == PROMPTS.get("attachments").render()
    assert not call.params.get("blocks")
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_file_with_a_question_gets_the_note_and_the_answer(bot, slack):
    event = dm_event(QUESTION, event_id="EvFile2")
    event["event"].update(
        subtype="file_share",
        files=[{"id": "F2", "name": "plan.pdf", "mimetype": "application/pdf"}],
    )
    bot.send_event(event)
    calls = slack.wait_for("chat.postMessage", 2)
    said = [everything_said(c) for c in calls]
    assert said[0] == PROMPTS.get("attachments").render()
    assert "3 March to 30 June 2026" in said[1]
    assert all(c.params["channel"] == "D111" for c in calls)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_an_empty_index_says_so_instead_of_failing(make_container, slack):
    container = make_container(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
        change_team_channel=TEAM_CHANNEL,
        workers=2,
        slack_retries=1,
    )
    with BotServer(build_app(container)) as server:
        status, _ = server.send_event(dm_event(QUESTION, event_id="EvEmpty"))
        assert status == 200
        [call] = slack.wait_for("chat.postMessage")
        settle()
    said = everything_said(call)
    assert "The playbook index is empty" in said
    assert "changebot ingest" in said
    assert PROMPTS.get("slack_error").render() not in said
    assert "Traceback" not in said
    assert "*Sources*" not in said
    assert "escalate" in action_ids(blocks_of(call))
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_failing_answer_apologises_where_the_answer_would_be_and_is_logged(
    bot, slack, monkeypatch, caplog
):
    def broken(question, **kwargs):
        raise RuntimeError("retriever exploded")

    monkeypatch.setattr(bot.container.question_service.answerer, "answer", broken)
    caplog.set_level(logging.ERROR)
    event = dm_event(QUESTION, event_id="EvBoom")
    status, _ = bot.send_event(event)
    assert status == 200

    [call] = slack.wait_for("chat.postMessage")
    assert call.params["channel"] == "D111"
    assert "thread_ts" not in call.params  # in a DM the apology stands where the answer would
    assert call.params["text"] == PROMPTS.get("slack_error").render()
    assert "retriever exploded" not in everything_said(call)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1
    logged = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR
        and r.exc_info
        and isinstance(r.exc_info[1], RuntimeError)
        and "retriever exploded" in str(r.exc_info[1])
    ]
    assert logged, [r.getMessage() for r in caplog.records]


def test_a_file_in_the_assistant_thread_gets_the_attachments_note(bot, slack):
    thread_ts = "1726133698.626339"
    event = assistant_message_event("", thread_ts=thread_ts, event_id="EvAsstFile")
    event["event"].update(
        subtype="file_share",
        files=[{"id": "F3", "name": "plan.pdf", "mimetype": "application/pdf"}],
    )
    bot.send_event(event)
    [call] = slack.wait_for("chat.postMessage", timeout=1)
    assert (call.params["channel"], call.params["thread_ts"]) == ("D111", thread_ts)
    assert call.params["text"] == PROMPTS.get("attachments").render()

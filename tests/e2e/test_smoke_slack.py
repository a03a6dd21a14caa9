"""First end-to-end checks: a DM is answered once; a forged request does nothing."""

from __future__ import annotations

from slackbed import dm_event


def test_dm_question_gets_one_answer_with_sources(bot, slack):
    status, _ = bot.send_event(dm_event("When does phase 1 run?", event_id="Ev1"))
    assert status == 200
    [call] = slack.wait_for("chat.postMessage")
    blocks = call.params["blocks"]
    assert any(b["type"] == "actions" for b in blocks)
    assert "Sources" in str(blocks)


def test_duplicate_delivery_answers_once(bot, slack):
    event = dm_event("When does phase 1 run?", event_id="EvDup")
    bot.send_event(event)
    bot.send_event(event, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
    slack.wait_for("chat.postMessage")
    import time

    time.sleep(0.5)
    assert len(slack.successful_calls("chat.postMessage")) == 1


def test_bad_signature_is_rejected_without_any_slack_traffic(bot, slack):
    calls_before = len(slack.calls)
    status, _ = bot.send_event(dm_event("hi", event_id="EvBad"), signed=False)
    assert status == 401
    assert len(slack.calls) == calls_before

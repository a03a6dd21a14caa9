"""Delivery: Slack's retries of an event, Web API rate limits and errors, a burst of DMs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from scenario import everything_said, rows, settle
from slackbed import dm_event

from bot.store.models import Interaction

RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def test_an_event_delivered_twice_is_answered_once(bot, slack):
    event = dm_event("When does phase 1 run?", event_id="EvTwice")
    assert bot.send_event(event)[0] == 200
    assert bot.send_event(event, headers=RETRY)[0] == 200
    slack.wait_for("chat.postMessage")
    settle(0.5)
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert len(rows(bot.container, Interaction)) == 1


def test_a_retry_whose_first_attempt_never_arrived_is_answered_once(bot, slack):
    event = dm_event("When does phase 1 run?", event_id="EvOnlyRetry")
    assert bot.send_event(event, headers=RETRY)[0] == 200
    [call] = slack.wait_for("chat.postMessage")
    assert "3 March to 30 June 2026" in everything_said(call)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_rate_limited_answer_is_delivered_once_after_retry_after(bot, slack):
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    bot.send_event(dm_event("When does phase 1 run?", event_id="Ev429"))
    first, second = slack.wait_for("chat.postMessage", 2, timeout=8)
    assert (first.status, second.status) == (429, 200)
    assert second.time - first.time >= 0.9  # Retry-After was honoured
    assert "3 March to 30 June 2026" in everything_said(second)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(slack.successful_calls("chat.postMessage")) == 1


def test_a_server_error_on_posting_is_retried_and_delivered_once(bot, slack):
    slack.fail_next("chat.postMessage", status=500)
    bot.send_event(dm_event("When does phase 1 run?", event_id="Ev500"))
    first, second = slack.wait_for("chat.postMessage", 2, timeout=8)
    assert (first.status, second.status) == (500, 200)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(slack.successful_calls("chat.postMessage")) == 1
    assert not slack.calls_to("chat.postEphemeral")


def test_a_burst_of_fifty_dms_is_acked_and_each_answered_once(bot, slack):
    questions = [
        "When does phase 1 run?",
        "When does phase 2 run?",
        "How do I request a training voucher?",
        "Can I keep using spreadsheets for forecasting?",
        "When are office hours?",
    ]
    events = [
        dm_event(questions[n % len(questions)], event_id=f"EvBurst{n:02d}", user=f"U{n:03d}")
        for n in range(50)
    ]

    def send(event):
        started = time.monotonic()
        status, _ = bot.send_event(event)
        return status, time.monotonic() - started

    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(send, events))
    assert [status for status, _ in results] == [200] * 50
    print(f"\nmax ack latency over 50 concurrent DMs: {max(t for _, t in results):.3f}s")

    slack.wait_for("chat.postMessage", 50, timeout=20)
    settle()
    posted = slack.successful_calls("chat.postMessage")
    assert len(slack.calls_to("chat.postMessage")) == 50
    assert len(posted) == 50
    # Each event got its own answer: one interaction per asker, each with its reply recorded.
    stored = rows(bot.container, Interaction)
    assert sorted(i.user_id for i in stored) == sorted(e["event"]["user"] for e in events)
    assert all(i.reply_ts for i in stored)
    assert len({i.reply_ts for i in stored}) == 50

"""Requests that are not from Slack, or not well formed, do nothing; the server stays up."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from scenario import settle
from slackbed import dm_event, sign

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def _dm_body(event_id: str) -> str:
    return json.dumps(dm_event("When does phase 1 run?", event_id=event_id))


def _still_answers(bot, slack, event_id: str) -> None:
    before = len(slack.calls_to("chat.postMessage"))
    status, _ = bot.send_event(dm_event("When does phase 1 run?", event_id=event_id))
    assert status == 200
    slack.wait_for("chat.postMessage", before + 1)


REJECTED = {
    "wrong_secret": lambda body: (401, sign(body, secret="not-the-secret")),
    "tampered_signature": lambda body: (
        401,
        {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64},
    ),
    "stale_timestamp": lambda body: (401, sign(body, timestamp=int(time.time()) - 600)),
    "future_timestamp": lambda body: (401, sign(body, timestamp=int(time.time()) + 600)),
    "missing_headers": lambda body: (401, {}),
    "missing_signature": lambda body: (
        401,
        {"X-Slack-Request-Timestamp": sign(body)["X-Slack-Request-Timestamp"]},
    ),
    "non_numeric_timestamp": lambda body: (
        401,
        {**sign(body), "X-Slack-Request-Timestamp": "yesterday"},
    ),
}


def test_unsigned_or_forged_events_get_401_and_no_slack_traffic(bot, slack):
    for case, make in REJECTED.items():
        calls_before = len(slack.calls)
        body = _dm_body(f"EvForged-{case}")
        expected, headers = make(body)
        status, _ = bot.post(body, content_type=JSON, headers=headers)
        assert status == expected, case
        settle(0.1)
        assert len(slack.calls) == calls_before, case
    settle()
    assert not slack.calls_to("chat.postMessage")
    _still_answers(bot, slack, "EvAfterForged")


def test_the_same_body_signed_correctly_is_accepted(bot, slack):
    """The control for the cases above: only the signature differs."""
    body = _dm_body("EvSignedOk")
    status, _ = bot.post(body, content_type=JSON, headers=sign(body))
    assert status == 200
    slack.wait_for("chat.postMessage")


MALFORMED = {
    "truncated_json": (JSON, '{"type": "event_callback", "event": {'),
    "json_array": (JSON, '[{"type": "event_callback"}]'),
    "form_payload_not_json": (FORM, urlencode({"payload": "{not json"})),
    "form_payload_json_array": (FORM, urlencode({"payload": "[1, 2]"})),
}


def test_malformed_but_signed_bodies_get_400_and_no_slack_traffic(bot, slack):
    calls_before = len(slack.calls)
    for case, (content_type, body) in MALFORMED.items():
        status, text = bot.post(body, content_type=content_type, headers=sign(body))
        assert status == 400, (case, status, text)
    settle()
    assert len(slack.calls) == calls_before
    _still_answers(bot, slack, "EvAfterMalformed")

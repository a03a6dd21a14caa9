"""App Home, the assistant panel, and the same app dispatched over Socket Mode."""

from __future__ import annotations

import json

from scenario import blocks_of, everything_said, rows, settle
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk.socket_mode.request import SocketModeRequest
from slackbed import (
    PAYLOADS,
    app_home_opened_event,
    assistant_message_event,
    assistant_thread_started_event,
    dm_event,
)

from bot.prompts import PromptLibrary
from bot.slack.app import build_app
from bot.store.models import Interaction

GREETING = PromptLibrary().get("greeting").render()
FAQ_QUESTIONS = {
    "How do I request a training voucher?",
    "Can I keep using spreadsheets for forecasting?",
}


def test_app_home_lists_example_questions_and_the_latest_announcement(bot, slack):
    status, _ = bot.send_event(app_home_opened_event(user="U1", event_id="EvHome1"))
    assert status == 200
    [call] = slack.wait_for("views.publish")
    assert call.ok
    assert call.params["user_id"] == "U1"
    view = call.params["view"]
    assert view["type"] == "home"
    shown = "\n".join(
        block["text"]["text"] for block in view["blocks"] if block.get("type") == "section"
    )
    for question in FAQ_QUESTIONS:
        assert f"• {question}" in shown
    assert "*Latest announcements*" in shown
    assert "Pilot launch update" in shown
    assert "2026-01-15" in shown.split("*Latest announcements*")[1]  # the newest first
    assert "None in the playbook yet" not in shown
    assert slack.state.home_tabs["U1"]["type"] == "home"
    settle()
    assert len(slack.calls_to("views.publish")) == 1
    assert not slack.calls_to("chat.postMessage")


def test_assistant_thread_greets_suggests_faq_questions_and_answers_in_the_thread(bot, slack):
    thread_ts = "1726133698.626339"
    started = assistant_thread_started_event(
        user="U1", channel="D111", thread_ts=thread_ts, event_id="EvAsst1"
    )
    status, _ = bot.send_event(started)
    assert status == 200
    [greeting] = slack.wait_for("chat.postMessage")
    assert (greeting.params["channel"], greeting.params["thread_ts"]) == ("D111", thread_ts)
    assert greeting.params["text"] == GREETING
    [prompts] = slack.wait_for("assistant.threads.setSuggestedPrompts")
    assert prompts.ok
    assert (prompts.params["channel_id"], prompts.params["thread_ts"]) == ("D111", thread_ts)
    suggested = {p["message"] for p in prompts.params["prompts"]}
    assert suggested == FAQ_QUESTIONS

    question = assistant_message_event(
        "When does phase 1 run?",
        user="U1",
        channel="D111",
        thread_ts=thread_ts,
        event_id="EvAsst2",
    )
    status, _ = bot.send_event(question)
    assert status == 200
    [status_call] = slack.wait_for("assistant.threads.setStatus")
    assert status_call.params["status"] == "Looking through the playbook…"
    assert (status_call.params["channel_id"], status_call.params["thread_ts"]) == (
        "D111",
        thread_ts,
    )
    _, answer = slack.wait_for("chat.postMessage", 2)
    assert (answer.params["channel"], answer.params["thread_ts"]) == ("D111", thread_ts)
    assert "3 March to 30 June 2026" in everything_said(answer)
    assert status_call.time <= answer.time  # the status shows while the answer is worked out
    [interaction] = rows(bot.container, Interaction)
    assert (interaction.surface, interaction.thread_ts) == ("assistant", thread_ts)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(slack.calls_to("assistant.threads.setSuggestedPrompts")) == 1


def test_socket_mode_envelope_is_dispatched_and_the_dm_answered(slack_container, slack):
    app = build_app(slack_container)
    envelopes = json.loads((PAYLOADS / "socket_mode_envelopes.json").read_text("utf-8"))
    [envelope] = [e for e in envelopes["payload"] if e["type"] == "events_api"]
    envelope["payload"] = dm_event("When does phase 1 run?", event_id="EvSocket1")
    request = SocketModeRequest.from_dict(envelope)
    assert request is not None

    response = run_bolt_app(app, request)
    assert response.status == 200

    [call] = slack.wait_for("chat.postMessage")
    assert call.ok
    assert call.params["channel"] == "D111"
    assert "3 March to 30 June 2026" in everything_said(call)
    assert any(b["type"] == "actions" for b in blocks_of(call))
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1

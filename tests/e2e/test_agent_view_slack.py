"""The app's Messages tab (Slack's agent view): the greeting comes once, questions are
suggested, and the channel a person looks at is remembered."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from scenario import settle
from slackbed import app_context_changed_event, dm_event, messages_tab_opened_event

from bot.prompts import PromptLibrary
from bot.store.models import AgentViewUser

GREETING = PromptLibrary().get("greeting").render()
FAQ_QUESTIONS = {
    "How do I request a training voucher?",
    "Can I keep using spreadsheets for forecasting?",
}


def test_opening_the_messages_tab_greets_once_and_suggests_the_faq(bot, slack):
    assert bot.send_event(messages_tab_opened_event(user="U1"))[0] == 200
    [greeting] = slack.wait_for("chat.postMessage")
    assert (greeting.params["channel"], greeting.params["text"]) == ("D111", GREETING)
    [prompts] = slack.wait_for("assistant.threads.setSuggestedPrompts")
    assert prompts.ok and prompts.params["channel_id"] == "D111"
    assert "thread_ts" not in prompts.params  # the agent view's prompts sit on the whole DM
    assert {p["message"] for p in prompts.params["prompts"]} == FAQ_QUESTIONS
    assert all(0 < len(p["title"]) <= 75 for p in prompts.params["prompts"])

    for _ in range(2):  # every later open: prompts again, never a second greeting
        bot.send_event(messages_tab_opened_event(user="U1"))
    slack.wait_for("assistant.threads.setSuggestedPrompts", 3)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert not slack.calls_to("views.publish")  # the Home tab is not published for this tab


def test_two_opens_at_the_same_moment_greet_once(bot, slack):
    opens = [messages_tab_opened_event(user="U2") for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        assert [status for status, _ in pool.map(bot.send_event, opens)] == [200] * 4
    slack.wait_for("assistant.threads.setSuggestedPrompts", 4)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_the_most_asked_questions_are_suggested_once_there_is_history(bot, slack):
    for n in range(3):
        bot.send_event(dm_event("When does phase 1 run?", event_id=f"EvAsked{n}"))
        slack.wait_for("chat.postMessage", n + 1)
    settle(0.2)
    bot.send_event(messages_tab_opened_event(user="U3"))
    [prompts] = slack.wait_for("assistant.threads.setSuggestedPrompts")
    suggested = [p["message"] for p in prompts.params["prompts"]]
    assert suggested[0] == "When does phase 1 run?"
    assert set(suggested[1:]) <= FAQ_QUESTIONS


def test_the_channel_a_person_looks_at_is_remembered(bot, slack):
    looking = [{"type": "slack#/types/channel_id", "value": "C777", "team_id": "T111"}]
    assert bot.send_event(app_context_changed_event(looking, user="U1"))[0] == 200
    settle(0.3)
    assert bot.container.agent_view.context_of("U1") == "C777"
    thread = [{"type": "slack#/types/message_context", "value": {"channel_id": "C888"}}]
    bot.send_event(app_context_changed_event(thread, user="U1"))
    settle(0.3)
    assert bot.container.agent_view.context_of("U1") == "C888"
    bot.send_event(app_context_changed_event([], user="U1"))  # looking at nothing in particular
    settle(0.3)
    assert bot.container.agent_view.context_of("U1") == ""
    with bot.container.session_factory() as session:
        row = session.get(AgentViewUser, "U1")
    assert row is not None and row.greeted_at is None  # looking is not opening the tab
    assert not slack.calls_to("chat.postMessage")


def test_a_crafted_context_entity_is_ignored(bot, slack):
    odd = [{"type": "slack#/types/channel_id", "value": {"not": "a channel"}}, {"type": "x"}]
    assert bot.send_event(app_context_changed_event(odd, user="U1"))[0] == 200
    settle(0.3)
    assert bot.container.agent_view.context_of("U1") == ""

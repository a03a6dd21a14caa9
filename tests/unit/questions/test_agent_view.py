"""The Messages tab's rules without Slack: one greeting per person, the prompts to suggest."""

from __future__ import annotations

from bot.questions.agent_view import PROMPT_TITLE_LIMIT, suggested_prompts


def test_prompts_prefer_the_most_asked_then_the_faq_without_repeats():
    prompts = suggested_prompts(
        ["When does phase 1 run?", "when does phase 1 run"],
        ["When does  phase 1 run?", "How do I get a voucher?", "Who runs it?", "Where?", "Why?"],
    )
    assert [p["message"] for p in prompts] == [
        "When does phase 1 run?",
        "How do I get a voucher?",
        "Who runs it?",
        "Where?",
    ]


def test_a_long_question_gets_a_short_title_and_keeps_its_full_message():
    question = "Can someone explain " + "what happens to my old dashboards " * 5 + "?"
    [prompt] = suggested_prompts([question], [])
    assert len(prompt["title"]) <= PROMPT_TITLE_LIMIT and prompt["title"].endswith("…")
    assert prompt["message"] == " ".join(question.split())


def test_no_history_and_no_faq_suggests_nothing():
    assert suggested_prompts([], []) == []


def test_the_greeting_is_claimed_once_per_person(make_container):
    view = make_container().agent_view
    view.remember_context("U1", "C1")  # seen looking around before the first open
    assert [view.first_open("U1") for _ in range(3)] == [True, False, False]
    assert view.first_open("U2") is True
    assert view.context_of("U1") == "C1" and view.context_of("U9") == ""

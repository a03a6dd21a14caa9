"""Short forms, prefixes and typos from the playbook's own words; slot detection."""

from __future__ import annotations

import pytest

from bot.knowledge.retrieve import Bm25
from bot.knowledge.slots import DATE, NUMBER, PERSON, PLACE, asked_slot, holds, slot_noun
from bot.knowledge.text import tokens
from bot.knowledge.vocab import normalise

PLAYBOOK = [
    "Severity 2 tickets get a response within 1 hour.",
    "Holidays must be booked in the HR portal; working from home needs a yes from managers.",
    "The configuration file lives in the repository. Fill in the form, not the format guide.",
    "Nobody is made redundant by the programme. Contact the platform team.",
]


@pytest.fixture
def bm25() -> Bm25:
    return Bm25([tokens(text) for text in PLAYBOOK])


def resolve(bm25: Bm25, question: str) -> tuple[str, list[str]]:
    return normalise(question, bm25.vocabulary, bm25.correct)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("whats the response time for a sev 2", "severity"),
        ("how do I book hols", "holiday"),
        ("can I wfh on fridays", "home"),
        ("where is the config file", "configuration"),
        ("will I be made redundent", "redundant"),
        ("who is my mgr", "manager"),
    ],
)
def test_short_forms_prefixes_and_typos_become_playbook_words(bm25, question, expected):
    _, terms = resolve(bm25, question)
    assert expected in terms


def test_a_short_form_is_spelled_out_for_the_embedder_too(bm25):
    text, _ = resolve(bm25, "response time for a sev 2?")
    assert text == "response time for a severity 2?"


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("where is the form", "form"),  # a playbook word, although "format" is one too
        ("what is the budget", "budget"),  # unknown, and no playbook word is near it
        ("is there a bonus", "bonus"),
        ("can I bring my van", "van"),  # too short to expand by prefix
    ],
)
def test_words_are_never_corrected_into_different_ones(bm25, question, kept):
    _, terms = resolve(bm25, question)
    assert tokens(kept)[0] in terms


def test_a_short_form_the_playbook_does_not_spell_out_stays(bm25):
    _, terms = resolve(bm25, "what is the eta")  # no "expected"/"date" in this playbook
    assert "eta" in terms


@pytest.mark.parametrize(
    ("question", "slot"),
    [
        ("when is Coastal going live", DATE),
        ("whats the eta for the new vans", DATE),
        ("who signs off a tier 2 model?", PERSON),
        ("which team owns the feature store", PERSON),
        ("how many seats are in a session", NUMBER),
        ("how long does validation take", NUMBER),
        ("what is the budget for Coastal", NUMBER),
        ("where do I find the wave plan", PLACE),
        ("why do teams struggle when adopting MLOps?", None),
        ("how do I reset my password", None),
        ("can I keep my code on github", None),
    ],
)
def test_the_asked_slot(question, slot):
    assert asked_slot(question) == slot


@pytest.mark.parametrize(
    ("slot", "sentence", "expected"),
    [
        (DATE, "Coastal goes live on 12 May 2027.", True),
        (DATE, "Coastal dates are unchanged.", False),
        (NUMBER, "Severity 2 — response time: within 1 hour.", True),
        (NUMBER, "The portal is the one place to look things up.", False),
        (PERSON, "Dana Okafor leads the Coastal rollout.", True),
        (PLACE, "The wave plan is on the Confluence page.", True),
        (None, "Anything at all.", True),
    ],
)
def test_a_sentence_holds_the_slot(slot, sentence, expected):
    assert holds(slot, sentence) is expected


def test_money_questions_name_what_they_ask_for():
    assert slot_noun("what is the total budget in euros?") == "budget"
    assert slot_noun("how many seats are there?") == "seats"
    assert slot_noun("when is the party?") is None

"""Survey questions referenced from the shipped question library by id."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.surveys.definitions import ADKAR_STAGES, DIMENSIONS, Survey, parse_survey
from bot.surveys.library import library_items

HEAD = """
id: lib-pulse
title: Library pulse
intro: Two minutes.
cadence: {weekly: {day: mon}}
questions:
"""


def survey(questions: str) -> tuple[Survey | None, list]:
    text = textwrap.dedent(HEAD) + textwrap.indent(textwrap.dedent(questions), "  ")
    return parse_survey(text, Path("lib-pulse.yaml"))


def test_a_reference_becomes_the_library_question():
    loaded, errors = survey(
        """
        - library: adkar-awareness
        - {library: readiness-appropriateness, id: right-thing, required: false}
        - {id: comment, text: "Anything else?", type: text}
        """
    )
    assert errors == []
    awareness, right_thing, comment = loaded.questions
    assert (awareness.id, awareness.type, awareness.dimension) == (
        "adkar-awareness",
        "likert5",
        "awareness",
    )
    assert awareness.text == "I understand why this change is happening."
    assert awareness.required and not awareness.reverse
    assert (right_thing.id, right_thing.dimension, right_thing.reverse) == (
        "right-thing",
        "resistance",
        True,
    )
    assert right_thing.required is False
    assert comment.type == "text"


@pytest.mark.parametrize(
    ("questions", "message"),
    [
        ("- library: adkar-happiness\n", "'adkar-happiness' is not in the question library"),
        ("- {library: adkar-desire, text: I want this.}\n", "remove text"),
        ("- {library: adkar-desire, dimension: ability}\n", "remove dimension"),
        ("- {library: adkar-desire, reverse: true, type: scale0_10}\n", "remove reverse, type"),
        ("- {library: [adkar-desire]}\n", "is not in the question library"),
    ],
)
def test_a_bad_reference_says_what_to_fix(questions, message):
    loaded, errors = survey(questions)
    assert loaded is None
    (error,) = errors
    assert error.field == "questions[0]"
    assert message in error.message


def test_two_references_to_one_item_need_their_own_ids():
    _, errors = survey("- library: adkar-desire\n- library: adkar-desire\n")
    assert [e.field for e in errors] == ["questions[1].id"]
    loaded, errors = survey("- library: adkar-desire\n- {library: adkar-desire, id: desire-2}\n")
    assert errors == [] and [q.id for q in loaded.questions] == ["adkar-desire", "desire-2"]


def test_every_library_item_is_a_valid_scored_question_with_a_source():
    items = library_items()
    stages = {item["dimension"] for item in items.values() if item["dimension"] in ADKAR_STAGES}
    assert stages == set(ADKAR_STAGES)  # one ADKAR item per stage at least
    assert any(item["id"].startswith("resistance-") for item in items.values())
    assert any(item["id"].startswith("readiness-") for item in items.values())
    for item_id in items:
        loaded, errors = survey(f"- library: {item_id}\n")
        assert errors == [], item_id
        (question,) = loaded.questions
        assert question.is_scale and question.dimension in DIMENSIONS
        assert items[item_id]["source"].strip()

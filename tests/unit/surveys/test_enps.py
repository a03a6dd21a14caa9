"""The `enps` question type: definition, the modal, answer checks and the score."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.slack.survey_blocks import answers_from_state, pulse_modal
from bot.surveys.answers import InvalidAnswers, validate_answers
from bot.surveys.definitions import parse_survey
from bot.surveys.enps import enps, render, survey_enps

SURVEY = """
id: enps-pulse
title: eNPS pulse
intro: One question.
cadence: {weekly: {day: mon}}
anonymity: {scores: 5, comments: 10}
questions:
  - {id: recommend, text: "Would you recommend working here?", type: enps}
  - {id: comment, text: "Why?", type: text}
"""


@pytest.fixture
def survey():
    loaded, errors = parse_survey(textwrap.dedent(SURVEY), Path("enps.yaml"))
    assert errors == []
    return loaded


def test_an_enps_question_alone_makes_a_valid_survey(survey):
    question = survey.questions[0]
    assert question.type == "enps" and question.dimension is None and question.required
    assert not question.is_scale  # never averaged into resistance or confidence
    bad = SURVEY.replace("type: enps}", "type: enps, reverse: true}")
    loaded, errors = parse_survey(textwrap.dedent(bad), Path("enps.yaml"))
    assert loaded is None and "only likert5 and scale0_10" in errors[0].message


def test_the_modal_offers_0_to_10_with_what_the_ends_mean(survey):
    modal = pulse_modal(survey, 1, channel="D1", ts="1.0")
    block = next(b for b in modal["blocks"] if b.get("block_id") == "q:recommend")
    element = block["element"]
    assert element["type"] == "static_select"
    assert [o["value"] for o in element["options"]] == [str(i) for i in range(11)]
    assert element["placeholder"]["text"] == "0 = not at all likely, 10 = extremely likely"
    state = {"q:recommend": {"answer": {"selected_option": {"value": "9"}}}}
    assert answers_from_state(survey, state) == {"recommend": 9}


@pytest.mark.parametrize("value", [0, 7, 10])
def test_whole_numbers_0_to_10_are_accepted(survey, value):
    assert validate_answers(survey, {"recommend": value}) == {"recommend": value}


@pytest.mark.parametrize("value", [11, -1, 9.5, "9", True])
def test_anything_else_is_refused(survey, value):
    with pytest.raises(InvalidAnswers, match="whole number from 0 to 10"):
        validate_answers(survey, {"recommend": value})


def test_enps_is_promoters_minus_detractors():
    # 4 promoters (9, 10), 3 passives (7, 8), 3 detractors (0-6) of 10
    result = enps("q", [10, 9, 9, 10, 7, 8, 7, 6, 0, 3], threshold=5)
    assert (result.promoters, result.passives, result.detractors) == (4, 3, 3)
    assert result.respondents == 10 and result.score == pytest.approx(10.0)
    assert render(result) == "eNPS (q): +10 (4 promoters, 3 passives, 3 detractors of 10)"
    assert enps("q", [10] * 5, threshold=5).score == 100.0
    assert enps("q", [6] * 5, threshold=5).score == -100.0
    assert enps("q", [7, 8, 7, 8, 7], threshold=5).score == 0.0
    with pytest.raises(ValueError):
        enps("q", [11], threshold=1)


def test_below_the_score_threshold_nothing_is_shown_not_even_the_count():
    hidden = enps("q", [10, 10, 0, 0], threshold=5)
    assert hidden.suppressed
    assert (hidden.respondents, hidden.promoters, hidden.detractors) == (None, None, None)
    assert render(hidden) == "eNPS (q): hidden, too few answers"
    assert enps("q", [], threshold=3).suppressed


def test_survey_enps_reads_each_response_and_uses_the_survey_threshold(survey):
    answers = [{"recommend": 9, "comment": "good"}, {"comment": "skipped it"}] + [
        {"recommend": v} for v in (10, 3, 8, 9)
    ]
    (result,) = survey_enps(survey, answers)
    assert result.question_id == "recommend"
    assert result.respondents == 5 and result.score == pytest.approx(100 * (3 - 1) / 5)
    assert survey_enps(survey, answers[:4])[0].suppressed  # 3 answers < 5

"""Survey YAML: the sample loads, each kind of mistake names its file and field, and
cadences fall on the dates a person reading the YAML would expect."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.surveys.definitions import Cadence, Survey, SurveyError, load_surveys

REPO_ROOT = Path(__file__).resolve().parents[3]

GOOD = """\
id: good-pulse
title: Good pulse
intro: Short and anonymous.
cadence:
  weekly: {day: mon}
questions:
  - id: res-1
    text: This change feels like extra work.
    type: likert5
    dimension: resistance
  - id: mood
    text: How do you feel about it?
    type: choice
    options: [Yes, No, On the fence]
  - id: comment
    text: Anything else?
    type: text
"""


def variant(old: str, new: str, *, survey_id: str = "bad-pulse") -> str:
    """GOOD with one mistake in it (and its own id, so only the mistake is reported)."""
    assert old in GOOD, old
    return GOOD.replace(old, new).replace("id: good-pulse", f"id: {survey_id}")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_sample_survey_loads():
    result = load_surveys(REPO_ROOT / "knowledge" / "surveys")

    assert result.errors == []
    survey = result.surveys["change-pulse"]
    scales = survey.scale_questions
    assert len(scales) == 9 and {q.type for q in scales} == {"likert5"}
    by_dimension = {
        d: [q for q in scales if q.dimension == d] for d in ("resistance", "confidence")
    }
    for questions in by_dimension.values():
        assert sorted(q.reverse for q in questions) == [False, True]
    assert {q.dimension for q in scales} == {
        "resistance", "confidence", "awareness", "desire", "knowledge", "ability", "reinforcement"
    }  # fmt: skip
    assert [q.type for q in survey.questions if not q.is_scale] == ["text"]
    assert survey.cadence.every_n_weeks is not None and survey.cadence.every_n_weeks.n == 2
    assert survey.cadence.every_n_weeks.day == "tue"
    assert (survey.send_time, survey.response_window_days) == ("09:00", 5)


def test_defaults_fill_in_what_the_file_leaves_out(tmp_path):
    write(tmp_path, "good.yaml", GOOD)

    survey = load_surveys(tmp_path).surveys["good-pulse"]

    assert survey.send_time == "09:00" and survey.response_window_days == 5 and survey.reminders
    assert survey.audience.everyone
    assert (survey.anonymity.scores, survey.anonymity.comments) == (5, 10)
    required = {q.id: q.required for q in survey.questions}
    assert required == {"res-1": True, "mood": True, "comment": False}
    # YAML 1.1 would have turned these into booleans and a number.
    assert survey.questions[1].options == ["Yes", "No", "On the fence"]


BAD_FILES = [
    pytest.param(
        variant("    dimension: resistance", "    dimension: resistence"),
        "questions[0].dimension",
        "'resistence' is not allowed",
        id="unknown-dimension",
    ),
    pytest.param(
        variant("    type: text", "    type: text\n    reverse: true"),
        "questions[2].reverse",
        "only likert5 and scale0_10",
        id="reverse-on-text",
    ),
    pytest.param(
        variant("    options: [Yes, No, On the fence]\n", ""),
        "questions[1].options",
        "needs options",
        id="choice-without-options",
    ),
    pytest.param(
        variant("  - id: comment", "  - id: res-1"),
        "questions[2].id",
        "already used by questions[0]",
        id="duplicate-question-ids",
    ),
    pytest.param(
        variant("  weekly: {day: mon}", '  cron: "0 9 * * funday"'),
        "cadence.cron",
        "not a valid cron expression",
        id="bad-cron",
    ),
    pytest.param(
        variant("  weekly: {day: mon}", '  cron: "0 9 31 2 *"'),
        "cadence.cron",
        "never falls on a real date",
        id="cron-never-due",
    ),
    pytest.param(
        variant("cadence:", 'send_time: "25:00"\ncadence:'),
        "send_time",
        "'25:00' is not a time of day",
        id="send-time-25",
    ),
    pytest.param(
        variant("  weekly: {day: mon}", "  monthly: {day: 31}"),
        "cadence.monthly.day",
        "1..28",
        id="monthly-day-31",
    ),
    pytest.param(
        variant("  weekly: {day: mon}", "  weekly: {day: mon}\n  monthly: {day: 1}"),
        "cadence",
        "exactly one of",
        id="two-cadences",
    ),
    pytest.param(
        variant("cadence:", "response_window_days: 10\ncadence:"),
        "response_window_days",
        "longer than the 7 days between sends",
        id="window-overlaps-next-run",
    ),
    pytest.param(
        variant("    dimension: resistance", "    dimention: resistance"),
        "questions[0].dimention",
        "unknown field",
        id="misspelt-key",
    ),
    pytest.param(
        variant("title: Good pulse\n", ""), "title", "required but missing", id="missing-title"
    ),
    pytest.param(
        variant("cadence:", "anonymity: {scores: 5, comments: 4}\ncadence:"),
        "anonymity.comments",
        "at least the scores threshold (5)",
        id="comment-threshold-below-scores",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "field", "message"), BAD_FILES)
def test_a_bad_file_names_its_field_and_the_good_file_still_loads(tmp_path, text, field, message):
    write(tmp_path, "good.yaml", GOOD)
    bad = write(tmp_path, "bad.yaml", text)

    result = load_surveys(tmp_path)

    assert list(result.surveys) == ["good-pulse"]
    assert {e.path for e in result.errors} == {bad}
    [error] = [e for e in result.errors if e.field == field]
    assert message in error.message
    assert str(error).startswith(f"{bad}: {field}: ")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("id: broken\ntitle: [unclosed\nintro: x\n", "line 3", id="unclosed-list"),
        pytest.param("id: a\n  title: indented\n", "line 2", id="bad-indent"),
        pytest.param(GOOD + "title: Again\n", "line 18", id="repeated-key"),
    ],
)
def test_a_yaml_error_names_the_line(tmp_path, text, line):
    write(tmp_path, "good.yaml", GOOD)
    bad = write(tmp_path, "broken.yml", text)

    result = load_surveys(tmp_path)

    assert list(result.surveys) == ["good-pulse"]
    [error] = result.errors
    assert error.path == bad and line in error.message
    assert str(error).startswith(f"{bad}: YAML error at {line}")


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"), ("- just\n- a list\n", "expected survey settings")],
)
def test_a_file_that_is_not_a_survey_is_reported(tmp_path, text, message):
    bad = write(tmp_path, "odd.yaml", text)

    [error] = load_surveys(tmp_path).errors

    assert (error.path, error.field) == (bad, "") and message in error.message


def test_a_duplicate_survey_id_names_both_files_and_the_first_keeps_it(tmp_path):
    first = write(tmp_path, "a-pulse.yaml", GOOD)
    second = write(tmp_path, "b-copy.yaml", GOOD.replace("title: Good pulse", "title: Copy"))

    result = load_surveys(tmp_path)

    assert result.surveys["good-pulse"].title == "Good pulse"
    assert result.sources["good-pulse"] == first
    [error] = result.errors
    assert (error.path, error.field) == (second, "id")
    assert str(first) in error.message


def test_a_missing_folder_is_reported(tmp_path):
    [error] = load_surveys(tmp_path / "nope").errors
    assert "no such folder" in str(error)


def test_other_files_in_the_folder_are_ignored(tmp_path):
    write(tmp_path, "good.yml", GOOD)
    write(tmp_path, "notes.md", "# not a survey")
    write(tmp_path, ".hidden.yaml", "nonsense: [")

    result = load_surveys(tmp_path)

    assert list(result.surveys) == ["good-pulse"] and result.errors == []


def test_survey_error_without_a_field_reads_cleanly():
    assert (
        str(SurveyError(Path("s/x.yaml"), "", "the file is empty")) == "s/x.yaml: the file is empty"
    )


def test_cron_time_becomes_the_send_time_unless_they_disagree(tmp_path):
    cron = variant("  weekly: {day: mon}", '  cron: "30 14 * * 1"', survey_id="cron-pulse")
    write(tmp_path, "cron.yaml", cron)
    clash = cron.replace("id: cron-pulse", "id: clash").replace(
        "cadence:", 'send_time: "09:00"\ncadence:'
    )
    write(tmp_path, "clash.yaml", clash)

    result = load_surveys(tmp_path)

    assert result.surveys["cron-pulse"].send_time == "14:30"
    [error] = result.errors
    assert error.field == "send_time" and "cron time 14:30" in error.message


def test_an_unquoted_time_is_read_as_a_time(tmp_path):
    write(tmp_path, "good.yaml", variant("cadence:", "send_time: 8:30\ncadence:"))

    assert load_surveys(tmp_path).surveys["bad-pulse"].send_time == "08:30"


def test_surveys_built_in_code_are_validated_too():
    with pytest.raises(ValidationError, match="at least one likert5 or scale0_10"):
        Survey.model_validate(
            {
                "id": "x",
                "title": "X",
                "intro": "x",
                "cadence": {"weekly": {"day": "mon"}},
                "questions": [{"id": "c", "text": "Say", "type": "text"}],
            }
        )


D = dt.date
NEXT_DATES = [
    pytest.param({"weekly": {"day": "mon"}}, D(2026, 1, 1), [D(2026, 1, 5), D(2026, 1, 12)],
                 id="weekly"),
    pytest.param({"weekly": {"day": "Monday"}}, D(2026, 1, 5), [D(2026, 1, 12), D(2026, 1, 19)],
                 id="weekly-strictly-after"),
    # 2026-01-05 is a Monday, so the first Tuesday on or after it anchors the fortnights.
    pytest.param({"every_n_weeks": {"n": 2, "day": "tue", "start": "2026-01-05"}},
                 D(2025, 12, 1), [D(2026, 1, 6), D(2026, 1, 20), D(2026, 2, 3)],
                 id="every-2-weeks-before-start"),
    pytest.param({"every_n_weeks": {"n": 2, "day": "tue", "start": "2026-01-05"}},
                 D(2026, 1, 6), [D(2026, 1, 20), D(2026, 2, 3)], id="every-2-weeks-on-a-due-day"),
    pytest.param({"every_n_weeks": {"n": 2, "day": "tue", "start": "2026-01-05"}},
                 D(2026, 1, 13), [D(2026, 1, 20)], id="every-2-weeks-off-week-skipped"),
    pytest.param({"every_n_weeks": {"n": 2, "day": "tue", "start": "2026-01-05"}},
                 D(2026, 6, 1), [D(2026, 6, 9), D(2026, 6, 23)], id="every-2-weeks-months-later"),
    pytest.param({"monthly": {"day": 15}}, D(2026, 1, 14), [D(2026, 1, 15), D(2026, 2, 15)],
                 id="monthly-day"),
    pytest.param({"monthly": {"day": 15}}, D(2026, 12, 15), [D(2027, 1, 15)],
                 id="monthly-day-over-new-year"),
    pytest.param({"monthly": {"weekday": "mon", "nth": 1}}, D(2026, 1, 1),
                 [D(2026, 1, 5), D(2026, 2, 2), D(2026, 3, 2)], id="first-monday"),
    pytest.param({"monthly": {"weekday": "mon", "nth": -1}}, D(2026, 1, 1),
                 [D(2026, 1, 26), D(2026, 2, 23), D(2026, 3, 30), D(2026, 4, 27)],
                 id="last-monday"),
    pytest.param({"monthly": {"weekday": "fri", "nth": 4}}, D(2026, 1, 23), [D(2026, 2, 27)],
                 id="fourth-friday"),
    # Cron counts 1 as Monday (APScheduler 3 on its own would pick Tuesdays).
    pytest.param({"cron": "0 9 * * 1"}, D(2026, 1, 1), [D(2026, 1, 5), D(2026, 1, 12)],
                 id="cron-monday"),
    pytest.param({"cron": "0 9 * * 0"}, D(2026, 1, 1), [D(2026, 1, 4)], id="cron-0-is-sunday"),
    pytest.param({"cron": "0 9 * * 7"}, D(2026, 1, 1), [D(2026, 1, 4)], id="cron-7-is-sunday"),
    pytest.param({"cron": "0 9 * * mon-wed"}, D(2026, 1, 2),
                 [D(2026, 1, 5), D(2026, 1, 6), D(2026, 1, 7), D(2026, 1, 12)], id="cron-range"),
    # Day-of-month and day-of-week both given: cron is due on either.
    pytest.param({"cron": "0 9 1 * 1"}, D(2026, 1, 31),
                 [D(2026, 2, 1), D(2026, 2, 2), D(2026, 2, 9)], id="cron-either-day-rule"),
    pytest.param({"cron": "0 9 15 3 *"}, D(2026, 3, 15), [D(2027, 3, 15)], id="cron-yearly"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "after", "expected"), NEXT_DATES)
def test_next_dates(spec, after, expected):
    assert Cadence.model_validate(spec).next_dates(after, len(expected)) == expected


def test_next_dates_of_none_is_empty():
    assert Cadence.model_validate({"weekly": {"day": "fri"}}).next_dates(D(2026, 1, 1), 0) == []

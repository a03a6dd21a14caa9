"""`changebot surveys validate | report` and `eval-sentiment`, run in-process on a stand-in."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import typer
from conftest import REPO_ROOT, make_settings, write
from typer.testing import CliRunner

from bot.cli_surveys import make_eval_sentiment, make_survey_app
from bot.store.db import make_session_factory
from bot.surveys.definitions import load_surveys
from bot.surveys.runs import SurveyRuns
from bot.surveys.sentiment import LABELS, SentimentAnalyzer, evaluate, load_labelled
from bot.surveys.sentiment_model import RULES_NAME, comparison_systems

UTC = dt.UTC
PULSE_YAML = """
id: pulse
title: Team pulse
intro: Anonymous.
cadence: {weekly: {day: mon}}
anonymity: {scores: 3, comments: 3}
questions:
  - {id: res, text: Extra work., type: likert5, dimension: resistance}
  - {id: conf, text: I will cope., type: likert5, dimension: confidence}
  - {id: comment, text: "Anything else?", type: text}
"""
BAD_YAML = """
id: broken-pulse
title: Broken
intro: x
cadence: {weekly: {day: funday}}
questions:
  - {id: res, text: Extra work., type: likert5}
"""


class StandIn:
    """What `get_container(data_dir)` gives the commands: settings, runs, surveys()."""

    def __init__(self, settings, runs: SurveyRuns) -> None:
        self.settings = settings
        self.survey_runs = runs

    def surveys(self):
        return load_surveys(self.settings.surveys_dir)


class Cli:
    def __init__(self, tmp_path: Path, db_engine) -> None:
        self.surveys_dir = tmp_path / "surveys"
        self.surveys_dir.mkdir()
        self.now = dt.datetime(2026, 3, 2, 10, tzinfo=UTC)
        self.runs = SurveyRuns(
            session_factory=make_session_factory(db_engine),
            secret=b"cli-secret",
            clock=lambda: self.now,
            surveys=lambda: self.container.surveys().surveys,
        )
        settings = make_settings(data_dir=tmp_path / "data", surveys_dir=self.surveys_dir)
        self.container = StandIn(settings, self.runs)
        self.data_dirs: list = []

        def get_container(data_dir):
            self.data_dirs.append(data_dir)
            return self.container

        self.app = make_survey_app(get_container)
        self.runner = CliRunner()

    def __call__(self, *args):
        return self.runner.invoke(self.app, [str(arg) for arg in args], env={"COLUMNS": "200"})

    def survey(self):
        return self.container.surveys().surveys["pulse"]

    def run(self, day: dt.date, answers: list[tuple[str, int, int, str]], close=True, extra=2):
        """A run due `day` with one response per (department, res, conf, comment)."""
        survey = self.survey()
        users = [f"U{day:%d}{i:03d}" for i in range(len(answers) + extra)]
        opens = dt.datetime.combine(day, dt.time(8), UTC)
        run, _ = self.runs.create_run(
            survey, day, users, opens_at=opens, closes_at=opens + dt.timedelta(days=4)
        )
        self.now = opens + dt.timedelta(hours=1)
        for user, (department, res, conf, comment) in zip(users, answers, strict=False):
            answer = {"res": res, "conf": conf} | ({"comment": comment} if comment else {})
            self.runs.submit(
                run.id, user, answer, {"department": department, "team": f"{department}-t"}
            )
        if close:
            self.runs.close_due(opens + dt.timedelta(days=4))
        return run


@pytest.fixture
def cli(tmp_path, db_engine) -> Cli:
    return Cli(tmp_path, db_engine)


# -- validate -------------------------------------------------------------------------------
def test_validate_lists_the_surveys_when_all_files_are_valid(cli):
    shutil.copy(REPO_ROOT / "knowledge" / "surveys" / "change-pulse.yaml", cli.surveys_dir)
    write(cli.surveys_dir / "pulse.yaml", PULSE_YAML)
    result = cli("validate", "--data-dir", "/some/where")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "change-pulse: Lighthouse change pulse — 10 questions, every_n_weeks at 09:00, "
        f"open 5 days ({cli.surveys_dir / 'change-pulse.yaml'})",
        f"pulse: Team pulse — 3 questions, weekly at 09:00, open 5 days "
        f"({cli.surveys_dir / 'pulse.yaml'})",
    ]
    assert cli.data_dirs == [Path("/some/where")]


def test_validate_prints_each_error_with_path_and_field_and_fails(cli):
    write(cli.surveys_dir / "pulse.yaml", PULSE_YAML)
    bad = write(cli.surveys_dir / "bad.yaml", BAD_YAML)
    broken = write(cli.surveys_dir / "broken.yml", "id: [unclosed\n")
    result = cli("validate")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert (
        f"{bad}: cadence.weekly.day: 'funday' is not a weekday: use mon, tue, wed, thu, fri, "
        "sat or sun"
    ) in lines
    assert any(
        line.startswith(f"{bad}: questions[0].dimension: a likert5 question needs a dimension")
        for line in lines
    )
    assert any(line.startswith(f"{broken}: YAML error at line 2") for line in lines)
    assert not any(line.startswith("pulse:") for line in lines)  # no listing when errors
    assert "3 error(s) in 2 file(s)" in result.stderr


def test_validate_on_an_empty_or_missing_folder(cli):
    result = cli("validate")
    assert (result.exit_code, result.stdout.strip()) == (
        0,
        f"No survey files in {cli.surveys_dir}.",
    )
    shutil.rmtree(cli.surveys_dir)
    result = cli("validate")
    assert result.exit_code == 1
    assert result.stdout.strip() == f"{cli.surveys_dir}: no such folder"


# -- report ---------------------------------------------------------------------------------
# Previous run: Data resistance 2 -> 25, confidence 4 -> 75; Ops 1 -> 0, 5 -> 100.
# Latest closed run: Data 4 -> 75, confidence 3 -> 50; Ops as before; Sales 5 -> 100, 1 -> 0.
# Everyone: resistance (3*4 + 3*1 + 5) / 7 = 20/7 -> 46.4, confidence (9 + 15 + 1) / 7 -> 64.3.
PREVIOUS = [
    ("Data", 2, 4, ""),
    ("Data", 2, 4, ""),
    ("Data", 2, 4, ""),
    ("Ops", 1, 5, ""),
    ("Ops", 1, 5, ""),
    ("Ops", 1, 5, ""),
]
LATEST = [
    ("Data", 4, 3, "Too many tools at once"),
    ("Data", 4, 3, "The office hours help"),
    ("Data", 4, 3, ""),
    ("Ops", 1, 5, ""),
    ("Ops", 1, 5, "ops note"),
    ("Ops", 1, 5, ""),
    ("Sales", 5, 1, "sales note"),
]


@pytest.fixture
def reported(cli):
    write(cli.surveys_dir / "pulse.yaml", PULSE_YAML)
    cli.run(dt.date(2026, 3, 2), PREVIOUS)
    latest = cli.run(dt.date(2026, 3, 9), LATEST, extra=3)
    cli.run(dt.date(2026, 3, 16), LATEST[:1], close=False)  # open: not the one reported
    return latest


def test_report_shows_the_latest_closed_run_with_changes_and_alerts(cli, reported):
    result = cli("report", "pulse")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Team pulse (pulse) — run {reported.id}, due 2026-03-09, closed" in out
    assert "Participation: 7 of 10 invited (70%)" in out
    # everyone: resistance (3*4 + 3*1 + 5) / 7 = 20/7 -> 46.4; before (3*2 + 3*1) / 6 -> 12.5
    assert "Resistance index: 46.4 / 100 (+33.9 since 2026-03-02)" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line[:2] == "  "}
    # Only Sales is under 3, so it is merged with the smallest other group: Data and Ops
    # tie at 3 and Data comes first by name. The sealed run no longer knows Sales' size.
    assert rows["Data"] == ["hidden", "—", "—"]
    assert rows["Ops"] == ["3", "0.0", "100.0"]
    assert rows["Sales"] == ["hidden", "—", "—"]
    # 7 responses >= 3: every comment of the run, never per group.
    assert "Comment sentiment:" in out and "(of 4 comments)" in out
    assert "Alerts:\n  ! Resistance rose 33.9 points overall (12.5 → 46.4)." in out


def test_report_as_csv(cli, reported):
    result = cli("report", "pulse", "--csv", "--by", "team")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "team,respondents,resistance_index,confidence_index\n"
        "(everyone),7,46.4,64.3\n"
        "Data-t,hidden,,\n"
        "Ops-t,3,0.0,100.0\n"
        "Sales-t,hidden,,\n"
    )


def test_report_alerts_on_a_group_and_on_participation(cli):
    write(cli.surveys_dir / "pulse.yaml", PULSE_YAML)
    cli.run(dt.date(2026, 3, 2), PREVIOUS)
    cli.run(dt.date(2026, 3, 9), PREVIOUS[:3] + [("Ops", 3, 5, "")] * 3, extra=5)
    result = cli("report", "pulse")
    assert result.exit_code == 0, result.output
    assert "  ! Participation was 55% (6 of 11), below 60%." in result.stdout
    assert "  ! Resistance in department Ops rose 50.0 points (0.0 → 50.0)." in result.stdout


def test_report_on_an_open_run_gives_participation_only(cli):
    write(cli.surveys_dir / "pulse.yaml", PULSE_YAML)
    run = cli.run(dt.date(2026, 3, 2), PREVIOUS, close=False)
    result = cli("report", "pulse", "--by", "location")
    assert result.exit_code == 0, result.output
    assert f"run {run.id}, due 2026-03-02, open" in result.stdout
    assert "Participation so far: 6 of 8 invited (75%)" in result.stdout
    assert "Full results when the run closes on Friday 06 March 2026 08:00 UTC" in result.stdout
    assert "index" not in result.stdout and "location" not in result.stdout
    as_csv = cli("report", "pulse", "--csv")
    assert (
        as_csv.stdout == "status,invited,answered,closes_at\nopen,8,6,2026-03-06T08:00:00+00:00\n"
    )


def test_report_writes_a_trend_chart(cli, reported, tmp_path):
    chart = tmp_path / "trend.png"
    result = cli("report", "pulse", "--chart", chart)
    assert result.exit_code == 0, result.output
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert f"Trend chart of 2 closed run(s) written to {chart}" in result.stderr


def test_report_on_an_unknown_survey_or_one_without_runs(cli):
    write(cli.surveys_dir / "pulse.yaml", PULSE_YAML)
    write(cli.surveys_dir / "bad.yaml", BAD_YAML)
    result = cli("report", "nope")
    assert result.exit_code == 2
    assert "No survey 'nope' (known: pulse). Some files have errors" in result.stderr
    result = cli("report", "pulse")
    assert (result.exit_code, result.stderr.strip()) == (1, "Survey 'pulse' has no runs yet.")
    assert cli("report", "pulse", "--by", "salary").exit_code == 2


# -- eval-sentiment -------------------------------------------------------------------------
class SentimentStandIn:
    """Stands in for the container: its `sentiment_systems()` around a given default."""

    def __init__(self, default=None) -> None:
        self.default = default or SentimentAnalyzer()

    def sentiment_systems(self):
        return comparison_systems(self.default)


def make_sentiment_app(default=None) -> typer.Typer:
    app = typer.Typer()
    stand_in = SentimentStandIn(default)
    app.command("eval-sentiment")(make_eval_sentiment(lambda data_dir: stand_in))
    app.command("other")(lambda: None)  # a multi-command app, as in bot.cli
    return app


@pytest.fixture
def sentiment_app() -> typer.Typer:
    return make_sentiment_app()


def test_eval_sentiment_compares_plain_vader_with_ours(sentiment_app):
    path = REPO_ROOT / "tests" / "eval" / "comments.yaml"
    result = CliRunner().invoke(sentiment_app, ["eval-sentiment", str(path)])
    assert result.exit_code == 0, result.output
    labelled = load_labelled(path)
    plain = evaluate(labelled, SentimentAnalyzer(use_workplace_rules=False))
    ours = evaluate(labelled, SentimentAnalyzer())
    lines = result.stdout.splitlines()
    assert lines[0] == f"{len(labelled)} labelled comments from {path}"
    plain_line = next(line for line in lines if line.startswith("plain VADER"))
    ours_line = next(line for line in lines if line.startswith("ours"))
    assert f"{plain['accuracy']:.3f}" in plain_line
    assert f"{ours['correct']}/{ours['total']}" in ours_line
    assert f"{ours['accuracy']:.3f}" in ours_line


def test_eval_sentiment_lists_errors_and_rejects_a_bad_file(sentiment_app, tmp_path):
    small = write(
        tmp_path / "c.yaml",
        """
        comments:
          - {text: "the new pipeline is clunky and buggy", label: negative}
          - {text: "It would be great if we could get the slides", label: neutral}
          - {text: "I love the new registry", label: negative}
        """,
    )
    result = CliRunner().invoke(sentiment_app, ["eval-sentiment", str(small), "--errors"])
    assert result.exit_code == 0, result.output
    assert "I love the new registry — negative, got positive" in result.stdout
    assert "clunky" not in result.stdout.split("Wrong with our rules")[1]
    missing = CliRunner().invoke(sentiment_app, ["eval-sentiment", str(tmp_path / "no.yaml")])
    assert missing.exit_code == 2 and "Cannot read" in missing.stderr


# -- rescore ----------------------------------------------------------------------------------
class Shouting:
    def label(self, text: str) -> str:
        return "negative" if text.isupper() else "positive"


class Neutral:
    def label(self, text: str) -> str:
        return "neutral"


def test_rescore_labels_the_stored_comments_again_with_the_current_analyzer(cli):
    write(cli.surveys_dir / "pulse.yaml", PULSE_YAML)
    answers = [("Data", 4, 2, "FIX IT"), ("Data", 3, 3, "fine"), ("Ops", 2, 4, "NO")]
    cli.runs.labeller = Neutral()  # the analyzer when the answers came in
    cli.run(dt.date(2026, 3, 2), answers)
    cli.run(dt.date(2026, 3, 9), answers, close=False)
    assert sentiment_line(cli("report", "pulse")) == "0 negative, 3 neutral, 0 positive"
    cli.runs.labeller = Shouting()
    # A report counts the stored labels: it does not label again with today's analyzer.
    assert sentiment_line(cli("report", "pulse")) == "0 negative, 3 neutral, 0 positive"
    result = cli("rescore", "pulse")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Rescored 2 run(s) of 'pulse'.\n"
    assert sentiment_line(cli("report", "pulse")) == "2 negative, 0 neutral, 1 positive"


def sentiment_line(result) -> str:
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("Comment sent")]
    return line.removeprefix("Comment sentiment: ").split(" (")[0]


def test_rescore_an_unknown_survey_fails_with_a_hint(cli):
    result = cli("rescore", "nope")
    assert result.exit_code == 2
    assert "No survey 'nope'" in result.output


class KeywordClassifier:
    """A stand-in learned default: anything with 'not' or 'awful' is negative."""

    name = "classifier (stand-in)"

    def __init__(self, trained_on=()) -> None:
        self.trained_on = set(trained_on)
        self.batches = 0

    def label(self, text):
        return self.label_many([text])[0]

    def label_many(self, texts):
        self.batches += 1
        return [
            "negative" if ("not" in t.lower() or "awful" in t.lower()) else "positive"
            for t in texts
        ]

    def seen_in_training(self, texts):
        return sum(t in self.trained_on for t in texts)


SMALL = """
comments:
  - {text: "not exactly a smooth start", label: negative}
  - {text: "awful rollout", label: negative}
  - {text: "I love the new registry", label: positive}
  - {text: "when is the training?", label: neutral}
"""


def test_eval_sentiment_json_compares_every_system_and_names_the_default(tmp_path):
    path = write(tmp_path / "c.yaml", SMALL)
    classifier = KeywordClassifier()
    result = CliRunner().invoke(
        make_sentiment_app(classifier), ["eval-sentiment", str(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["default"] == "classifier (stand-in)"
    assert list(data["systems"]) == ["plain VADER", RULES_NAME, "classifier (stand-in)"]
    for figures in data["systems"].values():
        assert set(figures) == {"accuracy", "precision", "recall"}
        assert set(figures["precision"]) == set(figures["recall"]) == set(LABELS)
    ours = data["systems"]["classifier (stand-in)"]
    assert ours["accuracy"] == 0.75  # the question is labelled positive
    assert ours["recall"] == {"negative": 1.0, "neutral": 0.0, "positive": 1.0}
    assert ours["precision"] == {"negative": 1.0, "neutral": 0.0, "positive": 0.5}
    assert classifier.batches == 1  # one batch for the file, not one call per comment
    assert result.stderr == ""
    seen = make_sentiment_app(KeywordClassifier(trained_on={"awful rollout"}))
    result = CliRunner().invoke(seen, ["eval-sentiment", str(path), "--json"])
    assert json.loads(result.stdout)["default"] == "classifier (stand-in)"  # stdout stays JSON
    assert "trained on 1 of these 4 comments" in result.stderr


def test_eval_sentiment_table_marks_the_default_and_warns_on_training_comments(tmp_path):
    path = write(tmp_path / "c.yaml", SMALL)
    app = make_sentiment_app(KeywordClassifier(trained_on={"awful rollout"}))
    result = CliRunner().invoke(app, ["eval-sentiment", str(path), "--errors"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    marked = [line for line in lines if line.startswith("classifier (stand-in) *")]
    assert len(marked) == 1 and "0.750" in marked[0] and "3/4" in marked[0]
    assert not any(line.startswith(f"{RULES_NAME} *") for line in lines)
    assert "* the shipped default (CHANGEBOT_SENTIMENT_MODEL): classifier (stand-in)" in lines
    assert "trained on 1 of these 4 comments; its figures here are not held-out" in result.stdout
    default_errors = result.stdout.split("Wrong with the default")[1]
    assert "when is the training? — neutral, got positive" in default_errors


def test_eval_sentiment_without_a_classifier_marks_our_rules(sentiment_app, tmp_path):
    path = write(tmp_path / "c.yaml", SMALL)
    result = CliRunner().invoke(sentiment_app, ["eval-sentiment", str(path), "--json"])
    assert json.loads(result.stdout)["default"] == RULES_NAME
    table = CliRunner().invoke(sentiment_app, ["eval-sentiment", str(path)]).stdout
    assert any(line.startswith(f"{RULES_NAME} *") for line in table.splitlines())
    assert "not held-out" not in table

"""`changebot surveys …` commands for HR, and `eval-sentiment`. Thin: parse, call, print.

`make_survey_app(get_container)` returns the Typer sub-app; `get_container(data_dir)`
gives an object with `.settings`, `.survey_runs` (SurveyRuns) and `.surveys()` (a
LoadResult), so tests can hand in a small stand-in.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.surveys.reports import (
    alerts,
    export_csv,
    load_report,
    load_reports,
    render_text,
    trend,
)
from bot.surveys.sentiment_model import RULES_NAME

DEFAULT_COMMENTS_FILE = Path("tests/eval/comments.yaml")

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for this knowledge base's index and database."),
]


class GroupBy(StrEnum):
    department = "department"
    team = "team"
    location = "location"


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def make_survey_app(get_container: Callable[[Path | None], Any]) -> typer.Typer:
    app = typer.Typer(
        help="Pulse surveys: check the definitions, read the results.",
        no_args_is_help=True,
        add_completion=False,
    )

    @app.command()
    def validate(data_dir: DataDir = None) -> None:
        """Check every survey file in the surveys folder; list the surveys when all are valid."""
        container = get_container(data_dir)
        loaded = container.surveys()
        folder = container.settings.surveys_dir
        for error in loaded.errors:
            typer.echo(str(error))  # path: field: message
        if loaded.errors:
            files = len({error.path for error in loaded.errors})
            raise _fail(
                f"{len(loaded.errors)} error(s) in {files} file(s) under {folder}; "
                "fix them and run this again.",
                1,
            )
        if not loaded.surveys:
            typer.echo(f"No survey files in {folder}.")
            return
        for survey_id, survey in sorted(loaded.surveys.items()):
            typer.echo(
                f"{survey_id}: {survey.title} — {len(survey.questions)} questions, "
                f"{survey.cadence.kind} at {survey.send_time}, open "
                f"{survey.response_window_days} days ({loaded.sources[survey_id]})"
            )

    @app.command()
    def rescore(
        survey_id: Annotated[str, typer.Argument(help="The survey's id, e.g. change-pulse.")],
        data_dir: DataDir = None,
    ) -> None:
        """Score every run of a survey again from its answers and label its comments again
        with the current sentiment analyzer (reports count the labels stored at submit)."""
        from bot.surveys.run_summary import rescore_runs

        container = get_container(data_dir)
        survey = container.surveys().surveys.get(survey_id)
        if survey is None:
            raise _fail(f"No survey '{survey_id}': run `changebot surveys validate`.", 2)
        runs = container.survey_runs
        count = rescore_runs(runs.sessions, survey, runs.labeller)
        typer.echo(f"Rescored {count} run(s) of '{survey_id}'.")

    @app.command()
    def report(
        survey_id: Annotated[str, typer.Argument(help="The survey's id, e.g. change-pulse.")],
        by: Annotated[
            GroupBy, typer.Option("--by", help="Group the table by this attribute.")
        ] = GroupBy.department,
        as_csv: Annotated[
            bool, typer.Option("--csv", help="Print the aggregates as CSV (no comments).")
        ] = False,
        chart: Annotated[
            Path | None,
            typer.Option("--chart", help="Also write the trend over all closed runs as a PNG."),
        ] = None,
        data_dir: DataDir = None,
    ) -> None:
        """Results of the latest closed run, with changes since the last; an open run's
        participation only."""
        container = get_container(data_dir)
        loaded = container.surveys()
        survey = loaded.surveys.get(survey_id)
        if survey is None:
            known = ", ".join(sorted(loaded.surveys)) or "none"
            hint = " Some files have errors: run `changebot surveys validate`." * bool(
                loaded.errors
            )
            raise _fail(f"No survey '{survey_id}' (known: {known}).{hint}", 2)
        runs = container.survey_runs
        run = runs.latest_closed_run(survey_id) or runs.open_run(survey_id)
        if run is None:
            raise _fail(f"Survey '{survey_id}' has no runs yet.", 1)
        previous_run = runs.previous_closed_run(survey_id, run.id)
        result, before = load_reports(runs, survey, run, previous_run, by=by.value)
        if as_csv:
            typer.echo(export_csv(result), nl=False)
        else:
            typer.echo(render_text(result), nl=False)
            if run.status == "closed":
                settings = container.settings
                found = alerts(
                    result,
                    before,
                    rise_points=settings.resistance_alert_points,
                    min_participation=settings.participation_alert,
                )
                typer.echo("\nAlerts:" if found else "\nAlerts: none.")
                for line in found:
                    typer.echo(f"  ! {line}")
        if chart is not None:
            _write_chart(chart, runs, survey, by.value)

    return app


def _write_chart(path: Path, runs, survey, by: str) -> None:
    from bot.surveys.charts import trend_chart_png

    closed = [run for run in runs.runs(survey.id) if run.status == "closed"]
    reports = [(run, load_report(runs, survey, run, by=by, with_comments=False)) for run in closed]
    points = trend(survey.id, reports)
    try:
        path.write_bytes(trend_chart_png(points, f"{survey.title}: Resistance and Confidence"))
    except OSError as exc:
        raise _fail(f"Cannot write {path}: {exc.strerror}", 2) from exc
    typer.echo(f"Trend chart of {len(points)} closed run(s) written to {path}", err=True)


def make_eval_sentiment(get_container: Callable[[Path | None], Any]) -> Callable[..., None]:
    """The `eval-sentiment` command; ``get_container(None).sentiment_systems()`` lists systems."""

    def eval_sentiment(
        comments_file: Annotated[
            Path, typer.Argument(help="Labelled comments YAML (see tests/eval/comments.yaml).")
        ] = DEFAULT_COMMENTS_FILE,
        show_errors: Annotated[
            bool, typer.Option("--errors", help="List the comments our analyzer gets wrong.")
        ] = False,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the figures as JSON instead of a table.")
        ] = False,
    ) -> None:
        """Accuracy of comment sentiment: every system compared, the shipped default marked."""
        from bot.surveys.sentiment import LabelledFileError, load_labelled

        try:
            labelled = load_labelled(comments_file)
        except LabelledFileError as exc:
            raise _fail(str(exc), 2) from exc
        systems, default = get_container(None).sentiment_systems()
        results = _evaluate_all(labelled, systems)
        warning = _not_held_out(systems[default], labelled)
        if as_json:
            typer.echo(json.dumps(_as_json(results, default), indent=2))
            if warning:
                typer.echo(warning, err=True)
            return
        _print_table(comments_file, labelled, results, default)
        if warning:
            typer.echo(warning)
        if show_errors:
            for title, name in (("our rules", RULES_NAME), ("the default", default)):
                if title == "the default" and name == RULES_NAME:
                    continue
                typer.echo(f"\nWrong with {title} (text — expected, got):")
                for text, expected, predicted in results[name]["errors"]:
                    typer.echo(f"  {text} — {expected}, got {predicted}")

    return eval_sentiment


def _evaluate_all(labelled, systems) -> dict[str, dict]:
    from bot.surveys.sentiment import evaluate

    results = {}
    texts = [text for text, _ in labelled]
    for name, analyzer in systems.items():
        batch = getattr(analyzer, "label_many", None)
        if batch is not None:
            answers = dict(zip(texts, batch(texts), strict=True))
            analyzer = _Answers(answers)
        results[name] = evaluate(labelled, analyzer)
    return results


class _Answers:
    """Labels looked up from one batch call (the classifier embeds a whole file at once)."""

    def __init__(self, answers: dict[str, str]) -> None:
        self._answers = answers

    def label(self, text: str) -> str:
        return self._answers[text]


def _as_json(results: dict[str, dict], default: str) -> dict:
    return {
        "default": default,
        "systems": {
            name: {
                "accuracy": result["accuracy"],
                "precision": {k: v["precision"] for k, v in result["per_label"].items()},
                "recall": {k: v["recall"] for k, v in result["per_label"].items()},
            }
            for name, result in results.items()
        },
    }


def _print_table(comments_file, labelled, results, default) -> None:
    from bot.surveys.sentiment import LABELS

    width = max(len(name) for name in results) + 4
    typer.echo(f"{len(labelled)} labelled comments from {comments_file}")
    header = "".join(f"{f'{label} P/R':>16}" for label in LABELS)
    typer.echo(f"{'system':<{width}}{'accuracy':>10}{'correct':>10}{header}")
    for name, result in results.items():
        per_label = "".join(
            f"{result['per_label'][label]['precision']:>8.2f}/"
            f"{result['per_label'][label]['recall']:<7.2f}"
            for label in LABELS
        )
        shown = f"{name} *" if name == default else name
        typer.echo(
            f"{shown:<{width}}{result['accuracy']:>10.3f}"
            f"{result['correct']:>6}/{result['total']:<3}{per_label}"
        )
    typer.echo(f"* the shipped default (CHANGEBOT_SENTIMENT_MODEL): {default}")


def _not_held_out(default, labelled) -> str | None:
    seen = getattr(default, "seen_in_training", None)
    overlap = seen([text for text, _ in labelled]) if seen else 0
    if not overlap:
        return None
    return (
        f"Warning: the classifier was trained on {overlap} of these {len(labelled)} "
        "comments; its figures here are not held-out (scripts/train_sentiment.py reports "
        "leave-one-organisation-out figures)."
    )

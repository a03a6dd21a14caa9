"""`changebot directory ...`: sync people from Slack, import HR's CSV. Thin: call, print.

`make_directory_app(get_container)` builds the sub-app around a callable that turns a
`--data-dir` into a container with `.settings`, `.directory` and `.slack_client()`;
`bot/cli.py` mounts it with `app.add_typer(make_directory_app(_container), name="directory")`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from slack_sdk.errors import SlackApiError

from bot.directory import DirectoryImportError, ImportReport, SyncReport
from bot.slack.directory_source import fetch_users

HELP = "The employee directory: sync people from Slack, import departments from HR's CSV."
SCOPES = "users:read and users:read.email"
_TOKEN_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked"}

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for this knowledge base's index and database."),
]
CsvPath = Annotated[
    Path,
    typer.Argument(
        help="CSV file with an 'email' column and any of 'department', 'team', 'location'.",
        show_default=False,
    ),
]


def make_directory_app(get_container: Callable[[Path | None], Any]) -> typer.Typer:
    directory_app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False)

    @directory_app.command()
    def sync(data_dir: DataDir = None) -> None:
        """Read Slack's member list; people deleted in Slack or gone become inactive."""
        container = get_container(data_dir)
        settings = container.settings
        if not settings.slack_bot_token:
            raise _fail(
                "SLACK_BOT_TOKEN is not set: the directory is read from Slack with the bot "
                "token (xoxb-…, from the app's OAuth & Permissions page; it needs the "
                f"{SCOPES} scopes).",
                2,
            )
        try:
            report = container.directory.sync(fetch_users(container.slack_client()))
        except SlackApiError as exc:
            raise _fail(_slack_problem(exc), 1) from exc
        except OSError as exc:  # connection refused, DNS, TLS: urllib's URLError is an OSError
            raise _fail(f"Could not reach Slack at {settings.slack_api_url}: {exc}", 1) from exc
        _print_sync(report, include_guests=settings.include_guests)

    @directory_app.command("import")
    def import_csv(path: CsvPath, data_dir: DataDir = None) -> None:
        """Set department, team and location from a CSV, matched to people by email."""
        container = get_container(data_dir)
        try:
            report = container.directory.import_csv(path)
        except DirectoryImportError as exc:
            raise _fail(str(exc), 1) from exc
        _print_import(report, path, directory_empty=_empty(container, report))

    return directory_app


def _default_container(data_dir: Path | None) -> Any:
    from bot.cli import _container  # at call time: bot.cli mounts this module

    return _container(data_dir)


directory_app = make_directory_app(_default_container)


# -- output ----------------------------------------------------------------------------------
def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _slack_problem(exc: SlackApiError) -> str:
    error = exc.response.get("error") or "unknown_error"
    if error == "missing_scope":
        needed = exc.response.get("needed") or SCOPES
        return (
            f"Slack refused users.list: the app lacks the scope {needed}. Add {SCOPES} under "
            "OAuth & Permissions > Bot Token Scopes, reinstall the app, then sync again."
        )
    if error in _TOKEN_ERRORS:
        return (
            f"Slack rejected SLACK_BOT_TOKEN ({error}). Copy the current Bot User OAuth Token "
            "(xoxb-…) from the app's OAuth & Permissions page."
        )
    if error == "ratelimited":
        return "Slack rate-limited users.list (ratelimited); nothing changed. Try again shortly."
    return f"Slack refused users.list ({error}); nothing changed."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _print_sync(report: SyncReport, *, include_guests: bool) -> None:
    skipped = ", ".join(f"{reason} {count}" for reason, count in report.skipped.items())
    typer.echo(
        f"Synced from Slack: {report.added} added, {report.updated} updated, "
        f"{report.deactivated} deactivated, {report.unchanged} unchanged; "
        f"skipped {report.total_skipped}" + (f" ({skipped})." if skipped else ".")
    )
    if report.skipped.get("guest") and not include_guests:
        typer.echo("Guests are left out; set CHANGEBOT_INCLUDE_GUESTS=true to include them.")
    if report.without_email:
        typer.echo(
            f"{_plural(report.without_email, 'person')} came without an email address, so a "
            f"CSV import cannot match them; the app probably lacks the {SCOPES} scope."
        )


def _empty(container: Any, report: ImportReport) -> bool:
    if report.updated or report.unchanged or not report.unmatched_emails:
        return False
    return not container.directory.active_people()


def _print_import(report: ImportReport, path: Path, *, directory_empty: bool) -> None:
    typer.echo(
        f"Imported {path.name}: {_plural(report.updated, 'person')} updated, "
        f"{report.unchanged} unchanged, {_plural(len(report.unmatched_emails), 'email')} "
        f"matched nobody, {_plural(len(report.unknown_columns), 'unknown column')}, "
        f"{_plural(len(report.errors), 'row')} skipped."
    )
    if report.unknown_columns:
        typer.echo(
            "Unknown columns, not imported (only email, department, team, location are read): "
            + ", ".join(report.unknown_columns)
        )
    if report.unmatched_emails:
        typer.echo("Emails that match no active person in the directory:")
        for email in report.unmatched_emails:
            typer.echo(f"  {email}")
        if directory_empty:
            typer.echo("The directory is empty: run `changebot directory sync` first.")
    if report.errors:
        typer.echo("Rows skipped:")
        for error in report.errors:
            typer.echo(f"  {error}")

"""`changebot directory sync` and `directory import`, run with CliRunner against a stand-in
container (settings, a Directory on the test database, a WebClient on the Slack emulator)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_settings
from slack_emulator import SlackEmulator
from slack_sdk import WebClient
from typer.testing import CliRunner

from bot.cli_directory import directory_app, make_directory_app
from bot.directory import Directory
from bot.store.db import make_session_factory


class StandIn:
    """What `make_directory_app` needs from the real container, and nothing more."""

    def __init__(self, settings, sessions) -> None:
        self.settings = settings
        self.directory = Directory(
            session_factory=sessions,
            include_guests=settings.include_guests,
            default_timezone=settings.default_timezone,
        )
        self.clients: list[WebClient] = []

    def slack_client(self) -> WebClient:
        client = WebClient(
            token=self.settings.slack_bot_token, base_url=self.settings.slack_api_url
        )
        self.clients.append(client)
        return client


@pytest.fixture
def slack():
    with SlackEmulator() as emulator:
        emulator.users.update(
            {
                "UANA": {"id": "UANA", "real_name": "Ana", "profile": {"email": "ana@example.com"}},
                "UBEN": {"id": "UBEN", "real_name": "Ben", "profile": {"email": "ben@example.com"}},
                "UBOT": {"id": "UBOT", "real_name": "Bot", "is_bot": True},
                "UGST": {"id": "UGST", "real_name": "Gia", "is_restricted": True},
            }
        )
        yield emulator


@pytest.fixture
def cli(db_engine, slack, tmp_path):
    """Runs the sub-app; `cli.settings(**values)` changes what the container is built with."""

    class Cli:
        def __init__(self) -> None:
            self.runner = CliRunner()
            self.data_dirs: list[Path | None] = []
            self.values = {"slack_bot_token": "xoxb-test", "slack_api_url": slack.base_url}
            self.sessions = make_session_factory(db_engine)
            self.directory = Directory(session_factory=self.sessions)  # for the assertions
            self.app = make_directory_app(self.container)

        def settings(self, **values) -> None:
            self.values.update(values)

        def container(self, data_dir: Path | None) -> StandIn:
            self.data_dirs.append(data_dir)
            settings = make_settings(data_dir=data_dir or tmp_path / "data", **self.values)
            return StandIn(settings, self.sessions)

        def __call__(self, *args: str):
            return self.runner.invoke(self.app, list(args), env={"COLUMNS": "200"})

    return Cli()


def write(tmp_path: Path, text: str, name: str = "people.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# -- sync ------------------------------------------------------------------------------------
def test_sync_prints_one_summary_line(cli, slack, tmp_path):
    result = cli("sync", "--data-dir", str(tmp_path / "kb1"))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Synced from Slack: 2 added, 0 updated, 0 deactivated, 0 unchanged; "
        "skipped 2 (bot 1, guest 1)."
    )
    assert "CHANGEBOT_INCLUDE_GUESTS=true" in lines[1]
    assert cli.data_dirs == [tmp_path / "kb1"]
    assert [p.user_id for p in cli.directory.active_people()] == ["UANA", "UBEN"]
    assert len(slack.calls_to("users.list")) == 1


def test_resync_reports_who_left(cli, slack):
    cli("sync")
    del slack.users["UBEN"]

    result = cli("sync")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Synced from Slack: 0 added, 0 updated, 1 deactivated, 1 ")


def test_sync_with_guests_included_gives_no_hint(cli):
    cli.settings(include_guests=True)

    result = cli("sync")

    assert "3 added" in result.stdout
    assert "INCLUDE_GUESTS" not in result.stdout


def test_sync_warns_when_slack_gives_no_emails(cli, slack):
    slack.users["UCAT"] = {"id": "UCAT", "real_name": "Cat", "profile": {}}

    result = cli("sync")

    assert "1 person came without an email address" in result.stdout
    assert "users:read.email" in result.stdout


def test_sync_without_a_token_says_what_is_missing(cli, slack):
    cli.settings(slack_bot_token=None)

    result = cli("sync")

    assert result.exit_code == 2
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "xoxb-" in result.stderr
    assert slack.calls == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("missing_scope", "Add users:read and users:read.email"),
        ("invalid_auth", "Slack rejected SLACK_BOT_TOKEN (invalid_auth)"),
        ("fatal_error", "Slack refused users.list (fatal_error); nothing changed."),
    ],
)
def test_sync_explains_slack_errors(cli, slack, error, expected):
    slack.fail_next("users.list", error=error)

    result = cli("sync")

    assert result.exit_code == 1
    assert expected in result.stderr
    assert cli.directory.active_people() == []


def test_sync_when_slack_cannot_be_reached(cli, slack):
    slack.stop()

    result = cli("sync")

    assert result.exit_code == 1
    assert "Could not reach Slack at http://127.0.0.1:" in result.stderr


# -- import ----------------------------------------------------------------------------------
def test_import_prints_the_summary_and_every_list(cli, tmp_path):
    cli("sync")
    path = write(
        tmp_path,
        "email;department;Manager;Cost centre\n"
        "ana@example.com;Finance;Bo;42\n"
        "zoe@example.com;Sales;Bo;43\n"
        "[b]x@example.com[/b];Sales;Bo;44\n"
        ";Sales;Bo;45\n",
    )

    result = cli("import", str(path))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Imported people.csv: 1 person updated, 0 unchanged, 2 emails matched nobody, "
        "2 unknown columns, 1 row skipped.",
        "Unknown columns, not imported (only email, department, team, location are read): "
        "Manager, Cost centre",
        "Emails that match no active person in the directory:",
        "  zoe@example.com",
        "  [b]x@example.com[/b]",
        "Rows skipped:",
        "  line 5: no email; row skipped",
    ]
    assert cli.directory.get("UANA").department == "Finance"


def test_import_into_an_empty_directory_says_to_sync_first(cli, tmp_path):
    result = cli("import", str(write(tmp_path, "email,team\nana@example.com,Data\n")))

    assert result.exit_code == 0
    assert "  ana@example.com" in result.stdout
    assert "run `changebot directory sync` first" in result.stdout


@pytest.mark.parametrize(
    ("content", "encoding", "expected"),
    [
        ("name,team\nAna,Data\n", "utf-8", "has no 'email' column"),
        ("", "utf-8", "is empty"),
        ("email,team\nana@example.com,Données\n", "latin-1", "is not UTF-8"),
    ],
    ids=["no-email-column", "empty", "not-utf8"],
)
def test_import_errors_exit_1_with_the_message(cli, tmp_path, content, encoding, expected):
    cli("sync")
    path = write(tmp_path, content, encoding=encoding)

    result = cli("import", str(path))

    assert result.exit_code == 1
    assert expected in result.stderr
    assert str(path) in result.stderr
    assert result.stdout == ""


def test_import_of_a_missing_file(cli, tmp_path):
    result = cli("import", str(tmp_path / "nope.csv"))

    assert result.exit_code == 1
    assert "no such file" in result.stderr


def test_the_module_level_app_lists_both_commands():
    result = CliRunner().invoke(directory_app, ["--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    assert "sync" in result.stdout and "import" in result.stdout

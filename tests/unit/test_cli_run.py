"""`changebot run`: Slack when it is configured, otherwise the terminal chat and what is missing."""

from __future__ import annotations

import pytest
from conftest import FakeEmbeddings
from typer.testing import CliRunner

import bot.container
import bot.slack.runner
from bot.cli import app
from bot.knowledge.store import EmbeddingModelMismatch

RealContainer = bot.container.Container
CHAT_BANNER = "ask about the change programme"
BOT_TOKEN = {"SLACK_BOT_TOKEN": "xoxb-test"}
APP_TOKEN = {"SLACK_APP_TOKEN": "xapp-test"}
SIGNING_SECRET = {"SLACK_SIGNING_SECRET": "s3cret"}
SURVEY_SECRET = {
    "CHANGEBOT_SURVEY_SECRET": "0123456789abcdef" * 4,
    "CHANGEBOT_CONSOLE_SECRET": "fedcba9876543210" * 4,
}


def flat(text: str) -> str:
    return " ".join(text.split())


class RunCli:
    """Invokes `changebot` with fakes; Slack start-ups are recorded, never connected."""

    def __init__(self, tmp_path, kb, monkeypatch) -> None:
        self.runner = CliRunner()
        self.env = {
            "CHANGEBOT_DATA_DIR": str(tmp_path / "data"),
            "CHANGEBOT_KNOWLEDGE_DIR": str(kb),
            "COLUMNS": "200",
        }
        self.socket_mode: list = []
        self.http: list = []
        self.fail_with: Exception | None = None
        monkeypatch.chdir(tmp_path)  # no stray .env
        monkeypatch.setattr(bot.container, "Container", self._container)
        monkeypatch.setattr(bot.slack.runner, "run_socket_mode", self._run_socket_mode)
        monkeypatch.setattr(bot.slack.runner, "run_http", self._run_http)

    @staticmethod
    def _container(settings):
        return RealContainer(settings, embeddings=FakeEmbeddings(), model_id="fake-model")

    def _run_socket_mode(self, container) -> None:
        self.socket_mode.append(container)
        if self.fail_with:
            raise self.fail_with

    def _run_http(self, container, *, port: int, **kwargs) -> None:
        self.http.append((container, port, kwargs))

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        return self.runner.invoke(app, list(args), input=input, env=self.env | (env or {}))


@pytest.fixture
def cli(tmp_path, kb, monkeypatch) -> RunCli:
    return RunCli(tmp_path, kb, monkeypatch)


# -- without Slack: say what is missing, then the terminal chat --------------------------------
def test_run_without_slack_names_both_tokens_and_where_to_find_them(cli):
    result = cli("run", input="quit\n")
    assert result.exit_code == 0, result.output
    err = flat(result.stderr)
    assert "Slack is not configured" in err
    assert (
        "missing SLACK_BOT_TOKEN: the Bot User OAuth Token (xoxb-…): your app's page > "
        "OAuth & Permissions" in err
    )
    assert "missing SLACK_APP_TOKEN: an App-Level Token (xapp-…)" in err
    assert "Basic Information > App-Level Tokens" in err
    assert "connections:write" in err
    assert "manifest.yml" in err
    assert "SLACK_SIGNING_SECRET" not in err  # not needed for Socket Mode
    assert err.index("SLACK_BOT_TOKEN") < err.index("SLACK_APP_TOKEN")
    # ... and then the terminal chat ran and ended on "quit"
    assert CHAT_BANNER in result.stdout
    assert cli.socket_mode == []
    assert cli.http == []


def test_run_without_slack_chat_answers_questions(cli):
    assert cli("ingest").exit_code == 0
    result = cli("run", input="How do I request a training voucher?\nquit\n")
    assert result.exit_code == 0, result.output
    assert "missing SLACK_BOT_TOKEN" in flat(result.stderr)
    assert "Fill in the voucher form" in result.stdout
    assert "[1] Orion FAQ" in result.stdout


def test_run_without_slack_ends_on_end_of_input(cli):
    result = cli("run", input="")
    assert result.exit_code == 0, result.output
    assert CHAT_BANNER in result.stdout


def test_run_with_an_empty_index_says_so_in_the_chat(cli):
    result = cli("run", input="quit\n")
    assert "changebot ingest" in flat(result.stdout)


def test_run_with_only_the_app_token_names_the_bot_token(cli):
    result = cli("run", input="quit\n", env=APP_TOKEN)
    assert result.exit_code == 0, result.output
    err = flat(result.stderr)
    assert "missing SLACK_BOT_TOKEN" in err
    assert "SLACK_APP_TOKEN" not in err
    assert cli.socket_mode == []


def test_run_with_only_the_bot_token_names_the_app_token(cli):
    result = cli("run", input="quit\n", env=BOT_TOKEN)
    assert result.exit_code == 0, result.output
    err = flat(result.stderr)
    assert "missing SLACK_APP_TOKEN" in err
    assert "SLACK_BOT_TOKEN" not in err
    assert cli.socket_mode == []


def test_run_http_with_only_the_bot_token_names_the_signing_secret(cli):
    result = cli("run", "--http", input="quit\n", env=BOT_TOKEN)
    assert result.exit_code == 0, result.output
    err = flat(result.stderr)
    assert "missing SLACK_SIGNING_SECRET: the Signing Secret: your app's page > Basic " in err
    assert "SLACK_BOT_TOKEN" not in err
    assert "SLACK_APP_TOKEN" not in err  # HTTP mode does not use it
    assert CHAT_BANNER in result.stdout
    assert cli.http == []
    assert cli.socket_mode == []


def test_run_http_without_slack_names_bot_token_and_signing_secret(cli):
    result = cli("run", "--http", input="quit\n")
    err = flat(result.stderr)
    assert "missing SLACK_BOT_TOKEN" in err
    assert "missing SLACK_SIGNING_SECRET" in err
    assert "SLACK_APP_TOKEN" not in err


# -- with Slack -----------------------------------------------------------------------------
def test_run_with_both_tokens_starts_socket_mode(cli):
    result = cli("run", env=BOT_TOKEN | APP_TOKEN)
    assert result.exit_code == 0, result.output
    (container,) = cli.socket_mode
    assert container.settings.slack_bot_token == "xoxb-test"
    assert container.settings.slack_app_token == "xapp-test"
    assert cli.http == []
    assert "missing" not in result.output
    assert CHAT_BANNER not in result.stdout


def test_run_accepts_the_changebot_prefixed_token_names(cli):
    env = {"CHANGEBOT_SLACK_BOT_TOKEN": "xoxb-p", "CHANGEBOT_SLACK_APP_TOKEN": "xapp-p"}
    result = cli("run", env=env)
    assert result.exit_code == 0, result.output
    (container,) = cli.socket_mode
    assert container.settings.slack_bot_token == "xoxb-p"


def test_run_http_with_token_and_secret_serves_http_on_the_configured_port(cli):
    result = cli("run", "--http", env=BOT_TOKEN | SIGNING_SECRET | SURVEY_SECRET)
    assert result.exit_code == 0, result.output
    ((container, port, _),) = cli.http
    assert port == 3000
    assert container.settings.slack_signing_secret == "s3cret"
    assert cli.socket_mode == []
    assert CHAT_BANNER not in result.stdout


def test_run_http_port_option_and_setting(cli):
    env = BOT_TOKEN | SIGNING_SECRET | SURVEY_SECRET | {"CHANGEBOT_HTTP_PORT": "4000"}
    assert cli("run", "--http", env=env).exit_code == 0
    assert cli("run", "--http", "--port", "8080", env=env).exit_code == 0
    assert [port for _, port, _ in cli.http] == [4000, 8080]


def test_run_http_without_a_survey_secret_refuses_to_start(cli, tmp_path):
    """Replicas each generating a secret would each key respondents differently."""
    result = cli("run", "--http", env=BOT_TOKEN | SIGNING_SECRET)
    assert result.exit_code == 2
    err = flat(result.stderr)
    assert "CHANGEBOT_SURVEY_SECRET is not set" in err
    assert "every replica" in err
    assert 'python -c "import secrets; print(secrets.token_hex(32))"' in err
    assert cli.http == []
    assert not (tmp_path / "data" / "survey-secret").exists()


def test_socket_mode_still_generates_the_survey_secret_in_the_data_dir(cli, tmp_path):
    assert cli("run", env=BOT_TOKEN | APP_TOKEN).exit_code == 0
    (container,) = cli.socket_mode
    assert len(container.survey_secret) == 64
    assert (tmp_path / "data" / "survey-secret").exists()


def test_run_with_an_index_from_another_model_exits_2_with_the_message(cli):
    cli.fail_with = EmbeddingModelMismatch("index built with other-model; run ingest --rebuild")
    result = cli("run", env=BOT_TOKEN | APP_TOKEN)
    assert result.exit_code == 2
    assert "ingest --rebuild" in flat(result.stderr)
    assert "Traceback" not in result.output


def test_run_http_without_a_console_secret_refuses_to_start(cli, tmp_path):
    """A sign-in link DMed by one replica must open on the others: one secret for all."""
    env = BOT_TOKEN | SIGNING_SECRET | {"CHANGEBOT_SURVEY_SECRET": "0123456789abcdef" * 4}
    result = cli("run", "--http", env=env)
    assert result.exit_code == 2
    err = flat(result.stderr)
    assert "CHANGEBOT_CONSOLE_SECRET is not set" in err
    assert "every replica" in err
    assert cli.http == []
    assert not (tmp_path / "data" / "console-secret").exists()

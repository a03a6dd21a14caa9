"""How the console is served: next to the Slack endpoint with `run --http`, or on its own
with `changebot console`; the Slack endpoint keeps refusing unsigned requests."""

from __future__ import annotations

import json

from console_bed import console_settings
from slackbed import SIGNING_SECRET, sign
from starlette.testclient import TestClient
from typer.testing import CliRunner

from bot.console.app import build_console
from bot.slack.app import build_app
from bot.slack.runner import http_front_door


def test_run_http_serves_slack_health_and_the_console_on_one_port(make_container):
    container = make_container(
        **console_settings(slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET)
    )
    app = build_app(container, token_verification=False)
    console = build_console(container.console_deps)
    client = TestClient(http_front_door(app, container.settings, console=console))
    assert client.get("/health").text == "ok"
    assert "/pulse console" in client.get("/console/sign-in").text
    assert client.get("/console/static/console.css").status_code == 200
    body = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {}})
    assert client.post("/slack/events", content=body).status_code == 401
    malformed = "{not json"
    headers = {"content-type": "application/json", **sign(malformed)}
    assert client.post("/slack/events", content=malformed, headers=headers).status_code == 400


def test_changebot_console_serves_the_console_on_its_own(monkeypatch, tmp_path):
    from bot import cli
    from bot.slack import runner

    seen = {}
    monkeypatch.setattr(
        runner, "run_console", lambda container, *, port, host: seen.update(port=port, host=host)
    )
    result = CliRunner().invoke(cli.app, ["console", "--port", "8181", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen == {"port": 8181, "host": "127.0.0.1"}
    assert "SLACK_BOT_TOKEN is not set" in result.output

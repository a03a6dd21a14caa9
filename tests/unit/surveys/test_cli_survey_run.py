"""`changebot survey run <id> --now`: queues the run's invitations, and sends them itself
only when no bot is running; a running bot's worker sends them (never both at once)."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from conftest import REPO_ROOT, FakeEmbeddings
from typer.testing import CliRunner

import bot.container
from bot.cli import app
from bot.delivery.worker import METADATA_EVENT, TokenBucket

RealContainer = bot.container.Container
PEOPLE = [f"U{n:03d}" for n in range(40)]


@pytest.fixture
def people_bot(make_container, slack):
    """A container on the test's data dir with 40 people in the directory."""
    container = make_container(slack_bot_token="xoxb-test", slack_api_url=slack.base_url)
    container.directory.sync([{"id": user, "real_name": user, "tz": "UTC"} for user in PEOPLE])
    return container


@pytest.fixture
def survey_run(settings, slack, tmp_path, monkeypatch):
    """Runs `changebot survey run change-pulse --now` in-process, like an operator."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setattr(
        bot.container,
        "Container",
        lambda s: RealContainer(s, embeddings=FakeEmbeddings(), model_id="fake-model"),
    )
    env = {
        "CHANGEBOT_DATA_DIR": str(settings.data_dir),
        "CHANGEBOT_SURVEYS_DIR": str(REPO_ROOT / "knowledge" / "surveys"),
        "CHANGEBOT_DELIVERY_RATE": "50",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.base_url,
        "COLUMNS": "200",
    }

    def run():
        return CliRunner().invoke(app, ["survey", "run", "change-pulse", "--now"], env=env)

    return run


def invitations(slack) -> Counter:
    sent: Counter = Counter()
    for call in slack.successful_calls("chat.postMessage"):
        metadata = call.params.get("metadata") or {}
        if metadata.get("event_type") == METADATA_EVENT:
            sent[call.params["channel"]] += 1
    return sent


def test_survey_run_now_leaves_the_sending_to_a_running_bot(people_bot, survey_run, slack):
    worker = people_bot.delivery_worker
    worker.bucket = TokenBucket(rate=100, capacity=10)
    worker.start()
    try:
        result = survey_run()
        assert result.exit_code == 0, result.output
        assert "the running bot will send them" in result.output
        assert "Delivered" not in result.output  # the command did not drain
        deadline = time.monotonic() + 20
        while sum(invitations(slack).values()) < len(PEOPLE) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
    finally:
        worker.stop()
    assert invitations(slack) == Counter({f"D{user}": 1 for user in PEOPLE})


def test_survey_run_now_sends_them_itself_when_no_bot_is_up(people_bot, survey_run, slack):
    result = survey_run()
    assert result.exit_code == 0, result.output
    assert "Delivered: 40 sent, 0 failed." in result.output
    assert invitations(slack) == Counter({f"D{user}": 1 for user in PEOPLE})


def test_a_bot_that_stopped_is_not_taken_for_a_running_one(people_bot, survey_run, slack):
    worker = people_bot.delivery_worker
    worker.start()
    worker.stop()  # signs off
    result = survey_run()
    assert "Delivered: 40 sent, 0 failed." in result.output, result.output

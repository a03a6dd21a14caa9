"""After a run closes, the HR channel hears about low participation (and only then)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from conftest import REPO_ROOT

SURVEY_ID = "change-pulse"


@pytest.fixture
def hr_container(make_container, slack, tmp_path):
    surveys = tmp_path / "surveys"
    surveys.mkdir()
    shutil.copy(REPO_ROOT / "knowledge" / "surveys" / "change-pulse.yaml", surveys)
    return make_container(
        slack_bot_token="xoxb-test",
        slack_api_url=slack.base_url,
        hr_channel="CHR",
        surveys_dir=surveys,
        survey_secret="test-secret",
    )


def answers(survey, value: int) -> dict:
    return {q.id: value for q in survey.questions if q.is_scale}


def closed_run(container, *, invited: int, answering: int):
    survey = container.surveys().surveys[SURVEY_ID]
    now = dt.datetime.now(dt.UTC)
    users = [f"U{i}" for i in range(invited)]
    run, _ = container.survey_runs.create_run(
        survey,
        now.date(),
        users,
        opens_at=now - dt.timedelta(days=1),
        closes_at=now + dt.timedelta(days=1),
    )
    for user in users[:answering]:
        container.survey_runs.submit(run.id, user, answers(survey, 3), {"department": "Ops"})
    return run


def test_low_participation_is_posted_to_the_hr_channel(hr_container, slack):
    run = closed_run(hr_container, invited=10, answering=5)
    found = hr_container.alert_hr(run)
    assert any("Participation was 50%" in line for line in found)
    [post] = slack.wait_for("chat.postMessage")
    assert post.params["channel"] == "CHR"
    assert "Participation was 50%" in post.params["text"]


def test_a_healthy_run_sends_no_alert(hr_container, slack):
    run = closed_run(hr_container, invited=10, answering=9)
    assert hr_container.alert_hr(run) == []
    assert slack.calls_to("chat.postMessage") == []

"""Themes where HR sees them: the console's Pulse page and `/pulse results` in Slack.

Runs are stored through SurveyRuns and closed as in production; the fake embedder groups
comments by their words (tests/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest
from console_bed import (
    HR,
    MIDDLE,
    REPO_ROOT,
    SURVEY,
    console_settings,
    link_token,
    seed_pulse,
)
from starlette.testclient import TestClient

from bot.console.app import standalone
from bot.slack.listeners.pulse import pulse_results

BASE = "http://localhost:8080"
SCRIPT = "<script>alert(1)</script>"
PARKING = [f"The parking permit and car spaces, garage {SCRIPT} #{n}" for n in range(12)]
TRAINING = [f"The training course and trainer sessions, workshop #{n}" for n in range(12)]
LAPTOPS = [f"My laptop battery and keyboard charger #{n}" for n in range(4)]


def seed(container, tmp_path, runs_comments: list[list[str]]):
    """One closed run per list of comments (a week apart), one comment per respondent."""
    surveys = tmp_path / "surveys"
    surveys.mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "knowledge" / "surveys" / f"{SURVEY}.yaml", surveys)
    container.settings = container.settings.model_copy(update={"surveys_dir": surveys})
    survey = container.surveys().surveys[SURVEY]
    runs = container.survey_runs
    original, made = runs.clock, []
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=7 * len(runs_comments) + 7)
    for index, texts in enumerate(runs_comments):
        due = start + dt.timedelta(days=7 * index)
        opens = dt.datetime.combine(due, dt.time(8), dt.UTC) - dt.timedelta(days=1)
        users = [f"U{n:03d}" for n in range(len(texts))]
        runs.clock = lambda opens=opens: opens + dt.timedelta(hours=2)
        run, _ = runs.create_run(
            survey, due, users, opens_at=opens, closes_at=opens + dt.timedelta(days=2)
        )
        for n, (user, text) in enumerate(zip(users, texts, strict=True)):
            answers = {**MIDDLE, "comment": text}
            runs.submit(run.id, user, answers, {"department": f"D{n % 3}"}, survey=survey)
        made.append(run)
    runs.clock = original
    runs.close_due(dt.datetime.now(dt.UTC))
    return survey, [runs.get_run(run.id) for run in made]


@pytest.fixture
def web(make_container):
    container = make_container(**console_settings())
    client = TestClient(standalone(container.console_deps), base_url=BASE)
    client.container = container

    def sign_in():
        url = container.sign_in.issue_link(HR)
        client.post("/console/sign-in/link", data={"token": link_token(url)})

    client.sign_in = sign_in
    return client


def _themes_table(html: str) -> str:
    return html.split('<table class="themes">', 1)[1].split("</table>", 1)[0]


def test_the_console_shows_themes_with_escaped_comments_and_no_group_of_4(web, tmp_path):
    seed(web.container, tmp_path, [PARKING[:10] + TRAINING[:10], PARKING + TRAINING + LAPTOPS])
    web.sign_in()
    page = web.get(f"/console/pulse/{SURVEY}").text
    table = _themes_table(page)
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in table
    assert "parking" in table and "training" in table
    # The four laptop comments never make a row of their own (here they join a theme:
    # 28 comments with a threshold of 10 are cut into at most two groups).
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)', table)]
    assert sorted(counts) == [12, 16]
    assert "+2 comments" in table  # parking: 10 -> 12 since the previous run


def test_themes_are_the_same_whatever_grouping_is_asked(web, tmp_path):
    """Themes are whole-run only: no grouping in the URL narrows them to a department."""
    seed(web.container, tmp_path, [PARKING + TRAINING + LAPTOPS])
    web.sign_in()
    tables = {
        by: _themes_table(web.get(f"/console/pulse/{SURVEY}?by={by}").text)
        for by in ("department", "team", "location")
    }
    assert len(set(tables.values())) == 1


def test_the_console_shows_no_theme_for_a_run_whose_comments_narrow_to_4(web, tmp_path):
    """The shared console bed: only four people wrote comments in each closed run."""
    seed_pulse(web.container, tmp_path, comment=f"{SCRIPT} saves me hours")
    web.sign_in()
    page = web.get(f"/console/pulse/{SURVEY}").text
    assert 'id="no-themes"' in page and '<table class="themes">' not in page
    assert SCRIPT not in page


class Client:
    """Records the Slack Web API calls pulse_results makes."""

    def __init__(self):
        self.messages: list[dict] = []

    def conversations_open(self, users):
        return {"channel": {"id": f"D{users}"}}

    def chat_postMessage(self, **kwargs):
        self.messages.append(kwargs)

    def files_upload_v2(self, **kwargs):
        pass


def test_pulse_results_lists_the_top_themes_escaped_below_the_report(make_container, tmp_path):
    container = make_container()
    seed(container, tmp_path, [PARKING[:10] + TRAINING[:10], PARKING + TRAINING + LAPTOPS])
    client = Client()
    said = pulse_results(container, client, HR, [SURVEY])
    assert said == "I sent the results to you in a direct message."
    [message] = client.messages
    text = message["text"]
    assert SCRIPT not in text and "&lt;script&gt;" in text
    themes = text.split("Themes in 28 comments", 1)[1]
    assert "1. " in themes and "2. " in themes and "3. " not in themes
    assert "+2 comments" in themes and "negative" in themes
    counts = [int(n) for n in re.findall(r"— (\d+) comments", themes)]
    assert sorted(counts) == [12, 16]  # the four laptop comments are never a theme alone


def test_pulse_results_says_why_there_are_no_themes(make_container, tmp_path):
    container = make_container()
    seed(container, tmp_path, [PARKING[:6] + LAPTOPS])
    client = Client()
    pulse_results(container, client, HR, [SURVEY])
    [message] = client.messages
    assert "Themes: none shown." in message["text"]
    assert "parking permit" not in message["text"].split("Themes:", 1)[1]

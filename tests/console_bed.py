"""A console to test against: HR, a leader, a change-team member and someone with no role,
a pulse survey with two closed runs and an open one, and helpers to sign in.

Departments in the closed runs: Finance 12 people, Operations 6, Legal 4 (each split over
team-0 and team-1). Legal is under the threshold of 5, so the run's partition merges it
into a block with others, and the department it merged with is hidden too; Legal's four
people all answer "strongly" one way, so their figures are recognisable (Resistance 100,
Confidence 0) if they ever leak.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SURVEY = "change-pulse"
HR, LEADER, CHANGE, NOBODY = "UHR", "ULEAD", "UCHG", "UNONE"
DEPARTMENTS = {"Finance": 12, "Operations": 6, "Legal": 4}
MIDDLE = {
    "resistance-extra-work": 3,
    "resistance-willing": 3,
    "confidence-cope": 3,
    "confidence-left-behind": 3,
    "awareness-why": 4,
    "desire-want": 4,
    "knowledge-how": 2,
    "ability-practice": 3,
    "reinforcement-stick": 3,
}
# Legal: Resistance 100 (extra work 5, willing reversed 1 -> 5), Confidence 0.
LEGAL = {**MIDDLE, "resistance-extra-work": 5, "resistance-willing": 1}
LEGAL |= {"confidence-cope": 1, "confidence-left-behind": 5}


def console_settings(**extra) -> dict:
    return {
        "hr_users": HR,
        "leader_users": LEADER,
        "change_team_users": CHANGE,
        "console_secret": "test-console-secret",
        **extra,
    }


def people() -> list[tuple[str, str, str]]:
    """(user id, department, team) for everyone who is surveyed."""
    found = []
    for department, size in DEPARTMENTS.items():
        for n in range(size):
            found.append((f"U{department[:3].upper()}{n:02d}", department, f"team-{n % 2}"))
    return found


def seed_pulse(container, tmp_path: Path, *, comment: str = "The registry <b>saves</b> me hours"):
    """Two closed runs (a fortnight apart) and an open third one; returns the three runs."""
    surveys = tmp_path / "surveys"
    surveys.mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "knowledge" / "surveys" / f"{SURVEY}.yaml", surveys)
    container.settings = container.settings.model_copy(update={"surveys_dir": surveys})
    survey = container.surveys().surveys[SURVEY]
    runs = container.survey_runs
    made = []
    original = runs.clock
    now = dt.datetime.now(dt.UTC)
    for index, due in enumerate(
        [now.date() - dt.timedelta(days=28), now.date() - dt.timedelta(days=14), now.date()]
    ):
        opens = dt.datetime.combine(due, dt.time(8), dt.UTC) - dt.timedelta(days=1)
        closes = opens + dt.timedelta(days=5)
        everyone = people()
        runs.clock = lambda opens=opens: opens + dt.timedelta(hours=2)
        run, _ = runs.create_run(
            survey, due, [u for u, *_ in everyone], opens_at=opens, closes_at=closes
        )
        for number, (user, department, team) in enumerate(everyone):
            answers = dict(LEGAL if department == "Legal" else MIDDLE)
            if index == 1 and department == "Finance":
                answers["resistance-extra-work"] = 4  # resistance rises in the second run
            if department == "Finance" and number % 3 == 0:
                answers["comment"] = f"{comment} ({number})"
            if index == 2 and number % 2:
                continue  # the open run: half have answered so far
            runs.submit(
                run.id, user, answers, {"department": department, "team": team}, survey=survey
            )
        made.append(run)
    runs.clock = original
    closed = runs.close_due(now)  # the first two; the third is open for four more days
    assert sorted(run.id for run in closed) == [made[0].id, made[1].id]
    return [runs.get_run(run.id) for run in made]


def link_token(url: str) -> str:
    return re.search(r"token=([^&\s>|]+)", url).group(1)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)

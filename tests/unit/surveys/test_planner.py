"""When pulse surveys go out: per-recipient local time across DST, misfires, never twice."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.delivery.outbox import Outbox
from bot.store.db import make_session_factory
from bot.store.models import OutboxMessage
from bot.surveys.definitions import parse_survey
from bot.surveys.planner import PulsePlanner, Recipient, local_moment
from bot.surveys.runs import SurveyRuns

SURVEY_YAML = """
id: weekly-pulse
title: Weekly pulse
intro: Two minutes, anonymous.
cadence:
  weekly: {day: mon}
send_time: "09:00"
response_window_days: 3
questions:
  - id: confident
    text: I feel able to work the new way.
    type: likert5
    dimension: confidence
"""
PEOPLE = [Recipient("UAMS", "Europe/Amsterdam"), Recipient("UNYC", "America/New_York")]


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def survey(tmp_path):
    parsed, errors = parse_survey(SURVEY_YAML, tmp_path / "weekly.yaml")
    assert not errors, errors
    return parsed


@pytest.fixture
def world(db_engine, survey):
    clock = Clock(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC))
    sessions = make_session_factory(db_engine)
    runs = SurveyRuns(session_factory=sessions, secret=b"s" * 32, clock=clock)
    outbox = Outbox(session_factory=sessions, clock=clock)
    planner = PulsePlanner(
        surveys=lambda: {survey.id: survey},
        runs=runs,
        outbox=outbox,
        audience=lambda s: PEOPLE,
        invitation=lambda s, run: {"text": f"{s.title} run {run.id}"},
        reminder=lambda s, run: {"text": f"Reminder {run.id}"},
        tz_of={r.user_id: r.tz for r in PEOPLE}.get,
        grace=dt.timedelta(hours=12),
        clock=clock,
    )
    planner.clock_ = clock
    planner.sessions_ = sessions
    return planner


def send_times(planner) -> dict[tuple[str, str], dt.datetime]:
    with planner.sessions_() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.op == "post")).all()
        return {
            (row.campaign, row.recipient): row.next_attempt_at.replace(tzinfo=dt.UTC)
            if row.next_attempt_at.tzinfo is None
            else row.next_attempt_at.astimezone(dt.UTC)
            for row in rows
        }


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("day", "tz", "expected"),
    [
        (dt.date(2026, 3, 2), "America/New_York", utc(2026, 3, 2, 14, 0)),  # EST
        (dt.date(2026, 3, 9), "America/New_York", utc(2026, 3, 9, 13, 0)),  # EDT from 8 March
        (dt.date(2026, 3, 23), "Europe/Amsterdam", utc(2026, 3, 23, 8, 0)),  # CET
        (dt.date(2026, 3, 30), "Europe/Amsterdam", utc(2026, 3, 30, 7, 0)),  # CEST from 29 March
        (dt.date(2026, 3, 2), "Not/AZone", utc(2026, 3, 2, 9, 0)),  # unknown: the fallback
    ],
)
def test_local_send_time_follows_daylight_saving(day, tz, expected):
    assert local_moment(day, "09:00", tz) == expected


def test_each_recipient_gets_the_survey_at_nine_in_their_own_zone_across_dst(world):
    times = {}
    for monday in (dt.date(2026, 3, 2), dt.date(2026, 3, 9), dt.date(2026, 3, 30)):
        world.clock_.now = dt.datetime.combine(monday, dt.time(0, 0), tzinfo=dt.UTC)
        world.tick()
        times |= send_times(world)  # a closed run's queue is forgotten: read it while open
    by_user = {}
    for (_campaign, user), at in times.items():
        by_user.setdefault(user, []).append(at)
    assert sorted(by_user["UNYC"]) == [
        utc(2026, 3, 2, 14, 0),
        utc(2026, 3, 9, 13, 0),
        utc(2026, 3, 30, 13, 0),
    ]
    assert sorted(by_user["UAMS"]) == [
        utc(2026, 3, 2, 8, 0),
        utc(2026, 3, 9, 8, 0),
        utc(2026, 3, 30, 7, 0),
    ]


def test_ticking_again_or_after_a_restart_never_creates_a_second_run(world):
    world.clock_.now = utc(2026, 3, 2, 6, 0)
    first = world.tick()
    again = world.tick()
    world.clock_.now = utc(2026, 3, 2, 10, 0)
    later = world.tick()
    assert first["created"] == 1
    assert again["created"] == later["created"] == 0
    assert len(send_times(world)) == 2


def test_a_due_date_missed_while_down_is_sent_on_return_within_the_grace(world):
    # Down from Sunday to Monday 20:00 UTC: New York's 09:00 (14:00 UTC) has passed.
    world.clock_.now = utc(2026, 3, 2, 20, 0)
    assert world.tick()["created"] == 1
    times = send_times(world)
    assert all(at <= world.clock_.now for at in times.values())  # due at once


def test_a_due_date_missed_beyond_the_grace_is_skipped(world):
    # Back only on Wednesday: Monday's run is past its grace; nothing goes out late.
    world.clock_.now = utc(2026, 3, 4, 20, 0)
    assert world.tick()["created"] == 0
    assert send_times(world) == {}


def test_send_now_starts_one_run_for_today_only(world, survey):
    world.clock_.now = utc(2026, 3, 4, 10, 0)
    run, created = world.send_now(survey)
    assert created and run is not None
    again, created_again = world.send_now(survey)
    assert again.id == run.id and not created_again
    assert set(send_times(world).values()) == {utc(2026, 3, 4, 10, 0)}


def test_runs_close_at_the_end_of_their_window(world):
    world.clock_.now = utc(2026, 3, 2, 6, 0)
    world.tick()
    world.clock_.now = utc(2026, 3, 9, 0, 0)  # window of 3 days has long ended
    assert world.tick()["closed"] == 1


def test_reminders_go_half_way_only_to_people_who_have_not_answered(world, survey):
    world.clock_.now = utc(2026, 3, 2, 6, 0)  # a Monday
    world.tick()
    run = world.runs.find_run(survey.id, dt.date(2026, 3, 2))
    for person in PEOPLE:
        world.runs.mark_delivered(run.id, person.user_id)
    world.runs.submit(run.id, "UAMS", {"confident": 4}, {}, survey=survey)
    halfway = run.opens_at + (run.closes_at - run.opens_at) / 2
    world.clock_.now = halfway - dt.timedelta(minutes=1)
    assert world.tick()["reminded"] == 0
    world.clock_.now = halfway + dt.timedelta(hours=1)  # a Wednesday: no weekend to skip
    assert world.tick()["reminded"] == 1
    assert world.tick()["reminded"] == 0  # once
    reminders = [key for key in send_times(world) if key[0].endswith("-reminder")]
    assert reminders == [(f"pulse-{run.id}-reminder", "UNYC")]


def test_someone_added_to_the_audience_after_the_run_started_is_not_queued(world, survey):
    audience = list(PEOPLE)
    world.audience = lambda s: audience
    world.clock_.now = utc(2026, 3, 2, 6, 0)
    assert world.tick()["created"] == 1
    audience.append(Recipient("ULATE", "UTC"))  # joins (or is synced) the same morning
    world.clock_.now = utc(2026, 3, 2, 7, 0)
    world.tick()
    assert {user for _, user in send_times(world)} == {"UAMS", "UNYC"}


def test_an_answer_is_accepted_iff_an_invitation_was_sent(world, survey):
    """Queued without an invitation, a late joiner's answer was refused as "not invited"."""
    from bot.surveys.runs import NotInvited

    audience = list(PEOPLE)
    world.audience = lambda s: audience
    world.clock_.now = utc(2026, 3, 2, 6, 0)
    world.tick()
    audience.append(Recipient("ULATE", "UTC"))
    world.clock_.now = utc(2026, 3, 2, 7, 0)
    world.tick()
    run = world.runs.find_run(survey.id, dt.date(2026, 3, 2))
    queued = {user for campaign, user in send_times(world) if campaign == f"pulse-{run.id}"}
    for user in ["UAMS", "UNYC", "ULATE"]:
        try:
            world.runs.submit(run.id, user, {"confident": 4}, {}, survey=survey)
            accepted = True
        except NotInvited:
            accepted = False
        assert accepted == (user in queued), user


def test_a_closed_runs_queue_and_reminders_are_forgotten(world, survey):
    """Who was sent the DM, and who was reminded (= had not answered), is gone at close."""
    world.clock_.now = utc(2026, 3, 2, 6, 0)
    world.tick()
    run = world.runs.find_run(survey.id, dt.date(2026, 3, 2))
    for person in PEOPLE:
        world.runs.mark_delivered(run.id, person.user_id)
    world.clock_.now = run.opens_at + (run.closes_at - run.opens_at) / 2 + dt.timedelta(hours=1)
    world.tick()
    with world.sessions_.begin() as session:
        for row in session.scalars(select(OutboxMessage)):
            row.status = "sent"
    assert {campaign for campaign, _ in send_times(world)} == {
        f"pulse-{run.id}",
        f"pulse-{run.id}-reminder",
    }
    world.clock_.now = utc(2026, 3, 8, 0, 0)
    assert world.tick()["closed"] == 1
    assert send_times(world) == {}
    assert world.runs.participation(run.id) == (2, 0)

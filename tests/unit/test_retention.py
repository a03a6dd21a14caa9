"""The hourly purge (bot.retention): every rule on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import FrozenClock
from sqlalchemy import select

from bot.delivery.outbox import Envelope, Outbox
from bot.directory.service import Directory
from bot.questions.service import QuestionService
from bot.retention import Retention
from bot.store.db import make_session_factory
from bot.store.models import DmChannel, OutboxMessage, Person, SurveyRun
from bot.surveys.definitions import Survey
from bot.surveys.runs import SurveyRuns

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
SURVEY = Survey.model_validate(
    {
        "id": "pulse",
        "title": "Pulse",
        "intro": "Anonymous.",
        "cadence": {"weekly": {"day": "mon"}},
        "anonymity": {"scores": 3, "comments": 3},
        "questions": [
            {"id": "res", "text": "Extra work.", "type": "likert5", "dimension": "resistance"}
        ],
    }
)


class World:
    def __init__(self, db_engine) -> None:
        self.sessions = make_session_factory(db_engine)
        self.clock = FrozenClock(T0)
        self.surveys: dict = {}
        self.outbox = Outbox(session_factory=self.sessions, clock=self.clock)
        self.directory = Directory(session_factory=self.sessions, clock=self.clock)
        self.runs = SurveyRuns(
            session_factory=self.sessions,
            secret=b"retention",
            clock=self.clock,
            surveys=lambda: self.surveys,
        )
        self.retention = Retention(
            questions=QuestionService(
                answerer=None, session_factory=self.sessions, clock=self.clock
            ),
            survey_runs=self.runs,
            outbox=self.outbox,
            broadcast_sessions=self.sessions,
            directory=self.directory,
            payload_days=30,
            ack_days=180,
            leaver_days=90,
            clock=self.clock,
        )

    def rows(self, model, *where):
        with self.sessions() as session:
            return list(session.scalars(select(model).where(*where)))


@pytest.fixture
def world(db_engine) -> World:
    return World(db_engine)


def test_outbox_payloads_of_finished_messages_are_blanked_after_the_retention(world):
    people = ["U1", "U2", "U3", "U4"]
    world.outbox.enqueue("broadcast-1", [Envelope(u, {"text": f"Hi {u}, private"}) for u in people])
    claimed = {row.recipient: row.id for row in world.outbox.claim(10)}
    world.outbox.mark_sent(claimed["U1"], "DU1", "1.1")
    world.outbox.mark_failed(claimed["U2"], "account_inactive")
    world.outbox.mark_retry(claimed["U3"], "later", delay=0)  # still pending
    world.outbox.mark_retry(claimed["U4"], "later", delay=0)
    world.clock.advance(days=29)
    assert world.retention.purge()["outbox_payloads"] == 0
    world.clock.advance(days=2)
    assert world.retention.purge()["outbox_payloads"] == 2
    rows = {row.recipient: row for row in world.rows(OutboxMessage)}
    assert rows["U1"].payload == {} and rows["U2"].payload == {}
    assert rows["U3"].payload == {"text": "Hi U3, private"}  # not sent yet: still needed
    # The facts stay: who, what happened, where the message is.
    assert (rows["U1"].status, rows["U1"].channel_id, rows["U1"].message_ts) == (
        "sent",
        "DU1",
        "1.1",
    )
    assert (rows["U2"].status, rows["U2"].last_error) == ("failed", "account_inactive")
    assert world.retention.purge()["outbox_payloads"] == 0  # once


def test_people_who_left_lose_their_personal_data_after_the_retention(world):
    def member(user, name):
        return {"id": user, "real_name": name, "tz": "Europe/Lisbon",
                "profile": {"email": f"{user.lower()}@example.com"}}  # fmt: skip

    world.directory.sync([member("U1", "Ana Alves"), member("U2", "Ben Bakker")])
    world.directory.import_csv("email,department,team,location\nu1@example.com,Data,A,Lisbon\n")
    world.outbox.remember_dm_channel("U1", "DU1")
    world.outbox.remember_dm_channel("U2", "DU2")
    world.clock.advance(days=1)
    world.directory.sync([member("U2", "Ben Bakker")])  # Ana left
    world.clock.advance(days=89)
    assert world.retention.purge()["leavers"] == 0
    world.clock.advance(days=2)
    assert world.retention.purge()["leavers"] == 1

    ana, ben = sorted(world.rows(Person), key=lambda person: person.user_id)
    assert (ana.user_id, ana.active) == ("U1", False)
    assert [ana.email, ana.real_name, ana.tz, ana.department, ana.team, ana.location] == [""] * 6
    assert (ben.real_name, ben.email) == ("Ben Bakker", "u2@example.com")
    assert [row.user_id for row in world.rows(DmChannel)] == ["U2"]
    assert world.directory.inactive_ids(["U1", "U2"]) == {"U1"}  # still left out of updates
    assert world.retention.purge()["leavers"] == 0


def test_a_run_closed_while_its_survey_file_was_broken_is_sealed_by_the_purge(world):
    run, _ = world.runs.create_run(SURVEY, T0.date(), ["U1", "U2", "U3"],
                                   opens_at=T0, closes_at=T0 + dt.timedelta(days=2))  # fmt: skip
    for user in ["U1", "U2", "U3"]:
        world.runs.submit(run.id, user, {"res": 3}, {"location": user}, survey=SURVEY)
    world.runs.close_due(T0 + dt.timedelta(days=2))  # the survey is not loaded: not sealed
    assert world.retention.purge()["survey_runs_sealed"] == 0
    assert [r.sealed for r in world.rows(SurveyRun)] == [False]
    world.surveys = {SURVEY.id: SURVEY}
    assert world.retention.purge()["survey_runs_sealed"] == 1
    assert [r.sealed for r in world.rows(SurveyRun)] == [True]
    widened = {"department": ["(not recorded)"], "team": ["(not recorded)"],
               "location": ["U1", "U2", "U3"]}  # fmt: skip
    assert [r.attributes for r in world.runs.responses(run.id)] == [widened] * 3

"""`changebot broadcast list | audit`, on a real container (fake embedder, SQLite)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from typer.testing import CliRunner

from bot.broadcasts.service import Audience, Draft
from bot.cli_broadcasts import make_broadcast_app


@pytest.fixture
def run(container, kb):
    container.indexer.ingest(kb)
    app = make_broadcast_app(lambda data_dir: container)
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def sent_update(container, key: str, title: str, *, ask_ack: bool = True):
    broadcasts = container.broadcasts
    body = "The pilot moves to *9 March*."
    update, _ = broadcasts.create(
        Draft(key, "ULEAD", title, body, Audience(channels=("C1",)), ask_ack)
    )
    broadcasts.send(update.id)
    [row] = container.outbox.claim(10)
    container.outbox.mark_sent(row.id, "C1", "1700000000.000100")
    return update


def test_list_says_so_when_there_are_no_updates(run):
    assert run("list").strip() == "No updates yet."


def test_list_shows_scheduled_then_sent_updates_with_their_figures(run, container):
    update = sent_update(container, "k1", "Pilot moves to 9 March")
    container.broadcasts.acknowledge(update.id, "U1")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    scheduled, _ = container.broadcasts.create(
        Draft(
            "k2", "ULEAD", "Town hall on Friday", "Join us.", Audience(everyone=True), False, later
        )
    )

    lines = run("list").splitlines()

    assert lines[0].startswith(f"#{scheduled.id} scheduled {later:%Y-%m-%d %H:%M} UTC")
    assert "Town hall on Friday  by ULEAD" in lines[0]
    assert lines[1].startswith(f"#{update.id} sent ")
    assert "Pilot moves to 9 March  by ULEAD" in lines[1]
    assert lines[2].strip() == (
        "delivered 0 DMs + 1 channels, 0 failed, 0 waiting, acknowledged 0/0, 0 questions"
    )


def test_audit_lists_every_action_with_counts_and_never_the_people(run, container):
    update = sent_update(container, "k1", "Pilot moves to 9 March")
    container.broadcasts.authority.admins = frozenset({"UOTHER"})  # a broadcast admin
    container.broadcasts.edit(update.id, "UOTHER", title="Pilot moves to 16 March", body="Now 16.")
    container.broadcasts.recall(update.id, "ULEAD")

    lines = run("audit", str(update.id)).splitlines()

    assert [line.split("  ", 1)[1] for line in lines] == [
        f"#{update.id} sent by ULEAD: Pilot moves to 9 March (dms 0, channels 1)",
        f"#{update.id} edited by UOTHER: Pilot moves to 16 March (updated 1)",
        f"#{update.id} recalled by ULEAD: Pilot moves to 16 March (deleted 1, stopped 1)",
    ]
    rows = list(csv.DictReader(io.StringIO(run("audit", "--csv"))))
    assert [r["action"] for r in rows] == ["sent", "edited", "recalled"]
    detail = json.loads(rows[0]["detail"])
    assert detail["audience"] == {
        "channels": ["C1"],
        "usergroups": [],
        "departments": [],
        "everyone": False,
    }
    assert "U1" not in rows[0]["detail"]


def test_audit_of_an_update_without_entries(run):
    assert run("audit", "42").strip() == "Nothing in the audit log for #42."

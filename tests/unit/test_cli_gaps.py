"""`changebot gaps` and `changebot knowledge …`, run in-process with the fake embedder."""

from __future__ import annotations

import json

import pytest
from conftest import FakeEmbeddings
from typer.testing import CliRunner

import bot.container
from bot.cli import app
from bot.questions.captured import EXPORT_NAME

RealContainer = bot.container.Container
PARKING = "Is the parking garage open on Sundays?"


class Cli:
    def __init__(self, tmp_path, kb, monkeypatch):
        self.env = {
            "CHANGEBOT_DATA_DIR": str(tmp_path / "data"),
            "CHANGEBOT_KNOWLEDGE_DIR": str(kb),
            "COLUMNS": "200",
        }
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(bot.container, "Container", self._container)
        self.last = None

    def _container(self, settings):
        self.last = RealContainer(settings, embeddings=FakeEmbeddings(), model_id="fake-model")
        return self.last

    def __call__(self, *args):
        return CliRunner().invoke(app, [str(a) for a in args], env=self.env)


@pytest.fixture
def cli(tmp_path, kb, monkeypatch) -> Cli:
    runner = Cli(tmp_path, kb, monkeypatch)
    assert runner("ingest").exit_code == 0
    return runner


def test_gaps_json_lists_groups_largest_first(cli):
    cli("knowledge", "list")
    for question in [PARKING, "is the parking garage open on sundays", "Can I bring my dog?"]:
        cli.last.question_service.ask(question, user_id="U1", surface="dm")
    result = cli("gaps", "--since", "7d", "--json")
    assert result.exit_code == 0, result.output
    groups = json.loads(result.output)
    assert [(g["question"], g["count"]) for g in groups] == [
        (PARKING, 2),
        ("Can I bring my dog?", 1),
    ]
    assert groups[0]["kinds"] == {"abstained": 2}
    text = cli("gaps").output
    assert f"1. {PARKING}  2× (no answer ×2)" in text


def test_gaps_says_what_to_write_for_a_bad_period(cli):
    result = cli("gaps", "--since", "last week")
    assert result.exit_code == 2
    assert "7d, 24h, 2w or a date" in result.output


def test_gaps_with_nothing_unanswered(cli):
    assert "No unanswered questions since" in cli("gaps").output


def test_knowledge_list_edit_retire_and_export(cli, tmp_path):
    assert "No captured answers yet." in cli("knowledge", "list").output
    entry, _ = cli.last.captured.capture(
        question=PARKING, answer="Yes, 8:00 to 18:00.", author="UTEAM", key="k1"
    )
    assert f"{entry.id}. {PARKING} — Answered by the change team" in cli("knowledge", "list").output
    result = cli("knowledge", "edit", entry.id, "--answer", "Closed on Sundays.")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert "Wrote 1 answers" in cli("knowledge", "export", out).output
    exported = (out / EXPORT_NAME).read_text(encoding="utf-8")
    assert f"### {PARKING}\n\nClosed on Sundays." in exported
    assert "type: faq" in exported
    assert cli("knowledge", "retire", entry.id).output.startswith(f"Retired {entry.id}.")
    assert "was retired already" in cli("knowledge", "retire", entry.id).output
    assert cli("knowledge", "retire", 999).exit_code == 1
    assert cli("knowledge", "edit", entry.id, "--answer", "x").exit_code == 1
    cli("knowledge", "export", out)
    assert "###" not in (out / EXPORT_NAME).read_text(encoding="utf-8")

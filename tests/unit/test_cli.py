"""The `changebot` commands, run in-process with the fake embedder."""

from __future__ import annotations

import json
import os
import re

import pytest
from conftest import FAKE_ABSTAIN_THRESHOLD, FakeEmbeddings, write
from typer.testing import CliRunner

import bot.container
from bot.cli import app

RealContainer = bot.container.Container
SOURCE_KEYS = {"title", "path", "section", "type", "score", "text"}


class Cli:
    """Invokes the app with the test's data dir and a container that uses fakes."""

    def __init__(self, tmp_path, kb, monkeypatch):
        self.data_dir = tmp_path / "data"
        self.kb = kb
        self.model_id = "fake-model"
        self.runner = CliRunner()
        self.env = {
            "CHANGEBOT_DATA_DIR": str(self.data_dir),
            "CHANGEBOT_KNOWLEDGE_DIR": str(kb),
            "CHANGEBOT_ABSTAIN_THRESHOLD": str(FAKE_ABSTAIN_THRESHOLD),  # the fake model's scale
            "COLUMNS": "200",
        }
        monkeypatch.chdir(tmp_path)  # no stray .env
        monkeypatch.setattr(bot.container, "Container", self._container)

    def _container(self, settings, **kwargs):
        # `changebot eval` builds one container per corpus and hands in its shared embedder
        defaults = {"embeddings": FakeEmbeddings(), "model_id": self.model_id}
        return RealContainer(settings, **(defaults | kwargs))

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        return self.runner.invoke(
            app, [str(arg) for arg in args], input=input, env=self.env | (env or {})
        )


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def cli(tmp_path, kb, monkeypatch) -> Cli:
    return Cli(tmp_path, kb, monkeypatch)


@pytest.fixture
def indexed_cli(cli) -> Cli:
    assert cli("ingest").exit_code == 0
    return cli


# -- ingest ---------------------------------------------------------------------------------
def test_ingest_prints_a_summary(cli):
    result = cli("ingest", cli.kb)
    assert result.exit_code == 0, result.output
    summary = flat(result.stdout)
    match = re.search(
        r"5 added, 0 updated, 0 unchanged, 0 deleted, 0 skipped \((\d+) chunks; (\d+) embedded "
        r"this run\)",
        summary,
    )
    assert match, summary
    assert match.group(1) == match.group(2)
    assert str(cli.kb) in summary


def test_ingest_defaults_to_the_knowledge_dir_and_second_run_embeds_nothing(cli):
    assert cli("ingest").exit_code == 0
    result = cli("ingest")
    assert result.exit_code == 0, result.output
    assert "0 added, 0 updated, 5 unchanged" in flat(result.stdout)
    assert "; 0 embedded this run" in flat(result.stdout)


def test_ingest_reports_failed_and_skipped_files(cli):
    (cli.kb / "empty.md").write_bytes(b"")
    write(cli.kb / "surveys" / "pulse.md", "# Pulse\n\nHow are you?\n")
    result = cli("ingest")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "5 added" in out
    assert "2 skipped" in out
    assert "failed empty.md: the file is empty" in out
    assert "skipped surveys/pulse.md: survey definitions are not playbook text" in out


def test_ingest_reports_deleted_files(cli):
    assert cli("ingest").exit_code == 0
    (cli.kb / "notes.txt").unlink()
    result = cli("ingest")
    assert result.exit_code == 0
    assert "1 deleted" in flat(result.stdout)
    assert "deleted notes.txt" in flat(result.stdout)


def test_ingest_of_only_broken_files_exits_1(cli, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "empty.md").write_bytes(b"")
    (broken / "junk.pdf").write_bytes(os.urandom(600))
    result = cli("ingest", broken)
    assert result.exit_code == 1
    assert "Nothing could be indexed." in flat(result.stderr)
    assert "junk.pdf" in result.stdout


def test_ingest_of_a_missing_folder_exits_2(cli, tmp_path):
    result = cli("ingest", tmp_path / "nowhere")
    assert result.exit_code == 2
    assert "does not exist" in flat(result.stderr)
    assert "Traceback" not in result.output


def test_ingest_of_a_file_exits_2(cli):
    result = cli("ingest", cli.kb / "notes.txt")
    assert result.exit_code == 2
    assert "folder" in flat(result.stderr)


def test_ingest_rebuild(cli):
    assert cli("ingest").exit_code == 0
    result = cli("ingest", "--rebuild")
    assert result.exit_code == 0
    assert "5 added, 0 updated, 0 unchanged" in flat(result.stdout)


def test_model_switch_exits_2_and_says_how_to_fix_it(cli):
    assert cli("ingest").exit_code == 0
    cli.model_id = "other-model"
    result = cli("ingest")
    assert result.exit_code == 2
    assert "changebot ingest --rebuild" in flat(result.stderr)
    asked = cli("ask", "When does phase 1 run?")
    assert asked.exit_code == 2
    assert "changebot ingest --rebuild" in flat(asked.stderr)
    assert cli("ingest", "--rebuild").exit_code == 0
    assert cli("ask", "When does phase 1 run?").exit_code == 0


def test_data_dir_option_beats_the_environment(cli, tmp_path):
    other = tmp_path / "other-data"
    assert cli("ingest", "--data-dir", other).exit_code == 0
    assert (other / "changebot.db").exists()
    assert not cli.data_dir.exists()


def test_invalid_setting_exits_2_naming_the_variable(cli):
    result = cli("ingest", env={"CHANGEBOT_RETRIEVAL_K": "abc"})
    assert result.exit_code == 2
    assert "CHANGEBOT_RETRIEVAL_K" in result.stderr
    assert "Traceback" not in result.output


# -- ask ------------------------------------------------------------------------------------
def test_ask_json_shape(indexed_cli):
    result = indexed_cli("ask", "How do I request a training voucher?", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"answer", "confident", "sources"}
    assert data["confident"] is True
    assert data["answer"].startswith("Fill in the voucher form")
    assert data["sources"]
    for source in data["sources"]:
        assert set(source) >= SOURCE_KEYS
    assert data["sources"][0]["path"] == "orion-faq.md"


def test_ask_json_for_an_unanswerable_question(indexed_cli):
    result = indexed_cli("ask", "what's for lunch in the canteen?", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["confident"] is False
    assert "couldn't find" in data["answer"]


def test_ask_reads_questions_from_stdin(indexed_cli):
    questions = (
        "How do I request a training voucher?\n\n"
        "When does phase 1 run?\n"
        "what's for lunch in the canteen?\n"
    )
    result = indexed_cli("ask", "-", "--json", input=questions)
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3  # the blank line is not a question
    answers = [json.loads(line) for line in lines]
    assert [a["confident"] for a in answers] == [True, True, False]
    assert "3 March" in answers[1]["answer"]
    assert all(set(a) == {"answer", "confident", "sources"} for a in answers)


def test_ask_type_filter(indexed_cli):
    result = indexed_cli("ask", "orion phase dates", "--type", "roadmap", "--json")
    assert result.exit_code == 0
    sources = json.loads(result.stdout)["sources"]
    assert sources
    assert {source["type"] for source in sources} == {"roadmap"}


def test_ask_prints_the_answer_with_sources(indexed_cli):
    result = indexed_cli("ask", "How do I request a training voucher?")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Fill in the voucher form" in out
    assert "Sources" in out
    assert "[1] Orion FAQ — How do I request a training voucher? (orion-faq.md)" in out


def test_ask_prints_the_url_when_there_is_one(indexed_cli):
    result = indexed_cli("ask", "When does phase 1 run?")
    assert result.exit_code == 0
    assert "(https://intranet.example/orion/roadmap)" in result.stdout


def test_abstaining_answer_lists_closest_passages(indexed_cli):
    result = indexed_cli("ask", "what's for lunch in the canteen?")
    assert result.exit_code == 0
    assert "couldn't find" in result.stdout
    assert "Closest passages" in result.stdout
    assert "Sources" not in result.stdout


@pytest.mark.parametrize("as_json", [False, True])
def test_ask_on_an_empty_index_exits_1_with_help(cli, as_json):
    result = cli("ask", "When does phase 1 run?", *(["--json"] if as_json else []))
    assert result.exit_code == 1
    assert "changebot ingest" in flat(result.stderr)
    if as_json:
        assert json.loads(result.stdout)["confident"] is False


# -- chat -----------------------------------------------------------------------------------
def test_chat_answers_until_quit(indexed_cli):
    result = indexed_cli("chat", input="How do I request a training voucher?\n\nquit\n")
    assert result.exit_code == 0, result.output
    assert "Fill in the voucher form" in result.stdout


# -- eval -----------------------------------------------------------------------------------
def test_eval_prints_hit_at_1(cli, tmp_path):
    questions = write(
        tmp_path / "questions.yaml",
        """
        questions:
          - q: "How do I request a training voucher?"
            source: orion-faq.md
          - q: "When does phase 1 run?"
            source: roadmap/orion-roadmap.md
            section: "Phase 1"
          - q: "what's for lunch in the canteen?"
            answerable: false
        """,
    )
    result = cli("eval", questions, "--knowledge", cli.kb, "--show-misses")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "hit@1" in out
    assert "2 answerable + 1 unanswerable questions" in flat(out)
    hybrid = next(line for line in out.splitlines() if "hybrid (ours)" in line)
    assert re.findall(r"\d\.\d{3}", hybrid)[:2] == ["1.000", "1.000"]  # hit@1, hit@3
    assert "Calibration" in out
    assert "miss@3 [hybrid]" not in out


def test_eval_with_a_bad_questions_file_exits_2(cli, tmp_path):
    result = cli("eval", tmp_path / "missing.yaml", "--knowledge", cli.kb)
    assert result.exit_code == 2
    assert "Cannot read" in flat(result.stderr)


def test_no_command_shows_help(cli):
    result = cli()
    assert "ingest" in result.output
    assert "ask" in result.output

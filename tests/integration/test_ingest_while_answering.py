"""Editing the playbook and running `changebot ingest` (or `--rebuild`) in another process
while the bot answers: no answer fails, and answers switch to the new text once it is in.

The ingest runs as a real child process on the same data dir (embedded Chroma, SQLite),
the way an operator runs it next to `changebot run`; only the embedding model is faked.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import cli_child
from conftest import ROADMAP_MD, write

QUESTION = "When does phase 1 run?"
OLD = "3 March to 30 June 2026"
NEW = "10 March to 7 July 2026"
SWITCH_WITHIN = 6.0  # seconds after the ingest ends (the bot checks the index every 2 s)


@dataclass
class Answering:
    """Asks QUESTION through the question service in a loop, recording every outcome."""

    service: object
    answers: list[tuple[float, str]] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                asked = self.service.ask(QUESTION, user_id="U1", surface="cli")
                self.answers.append((time.monotonic(), asked.answer.text))
            except Exception as exc:
                self.failures.append((time.monotonic(), f"{type(exc).__name__}: {exc}"))
            time.sleep(0.01)

    def __enter__(self) -> Answering:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def ingest_in_another_process(tmp_path, kb, settings, *extra: str) -> tuple[float, str]:
    """Run `changebot ingest KB [extra]` in a child; (when it ended, its output)."""
    child = cli_child.start(
        "ingest", str(kb), *extra, "--data-dir", str(settings.data_dir), cwd=tmp_path
    )
    out, err = child.communicate(timeout=60)
    ended = time.monotonic()
    assert child.returncode == 0, f"ingest failed:\n{out}\n{err}"
    return ended, out


def answer_during(container, tmp_path, kb, *extra: str) -> tuple[Answering, float, str]:
    container.indexer.ingest(kb)
    assert OLD in container.question_service.ask(QUESTION, user_id="U1", surface="cli").answer.text
    write(kb / "roadmap" / "orion-roadmap.md", ROADMAP_MD.replace(OLD, NEW))
    with Answering(container.question_service) as answering:
        time.sleep(0.5)  # answering is under way before the ingest starts
        ended, out = ingest_in_another_process(tmp_path, kb, container.settings, *extra)
        time.sleep(SWITCH_WITHIN + 1)
    return answering, ended, out


def assert_switched(answering: Answering, ended: float) -> None:
    late = [text for at, text in answering.answers if at > ended + SWITCH_WITHIN]
    assert late, "no answers after the ingest"
    assert all(NEW in text for text in late), late[-1]


def test_ingest_while_answering_never_fails_an_answer(container, tmp_path, kb):
    answering, ended, out = answer_during(container, tmp_path, kb)
    assert "1 updated" in out
    assert answering.failures == [], answering.failures[:3]
    assert len(answering.answers) > 50
    assert_switched(answering, ended)


def test_rebuild_while_answering_never_fails_an_answer(container, tmp_path, kb):
    answering, ended, out = answer_during(container, tmp_path, kb, "--rebuild")
    assert "5 added" in out
    assert answering.failures == [], answering.failures[:3]
    assert len(answering.answers) > 50
    assert_switched(answering, ended)

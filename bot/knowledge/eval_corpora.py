"""Evaluation corpora: a `knowledge/` folder and a `questions.yaml` beside it.

Layout and rules: README, "Quality". A corpus whose questions point at
files that are not there, or lack the phrase a correct answer must contain, is refused
with the file and question number, before anything is indexed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge.eval_scoring import normalise
from bot.knowledge.evaluate import EvalFileError, EvalQuestion, load_questions
from bot.knowledge.loaders import LoadError, load_file

QUESTIONS_FILE = "questions.yaml"
KNOWLEDGE_DIR = "knowledge"


class CorpusError(EvalFileError):
    """An evaluation corpus is laid out wrongly or its questions do not fit its files."""


@dataclass
class Corpus:
    name: str
    path: Path
    knowledge: Path
    questions: list[EvalQuestion]
    in_sample: bool = False  # the bot's own sample playbook: its numbers were tuned on it
    warnings: list[str] = field(default_factory=list)

    @property
    def answerable(self) -> int:
        return sum(q.answerable for q in self.questions)

    @property
    def unanswerable(self) -> int:
        return len(self.questions) - self.answerable


def load_corpus(folder: Path) -> Corpus:
    """Read and check one corpus folder (`<folder>/knowledge/`, `<folder>/questions.yaml`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"{folder}: no such folder")
    knowledge = folder / KNOWLEDGE_DIR
    questions_file = folder / QUESTIONS_FILE
    if not knowledge.is_dir():
        raise CorpusError(f"{folder}: needs a '{KNOWLEDGE_DIR}/' folder of playbook documents")
    if not questions_file.is_file():
        raise CorpusError(f"{folder}: needs a '{QUESTIONS_FILE}' beside '{KNOWLEDGE_DIR}/'")
    questions = load_questions(questions_file, require_phrase=True)
    corpus = Corpus(folder.name, folder, knowledge, questions)
    check_sources(corpus, questions_file)
    return corpus


def sample_corpus(questions_file: Path, knowledge: Path) -> Corpus:
    """The bot's own sample playbook and questions (no phrases), labelled in-sample."""
    questions = load_questions(questions_file)
    corpus = Corpus("sample", questions_file.parent, knowledge, questions, in_sample=True)
    check_sources(corpus, questions_file)
    return corpus


def check_sources(corpus: Corpus, questions_file: Path) -> None:
    """Every source must exist (an error); a phrase the loaded text lacks is a warning,
    since no answer can then contain it."""
    texts: dict[str, str | None] = {}
    for number, question in enumerate(corpus.questions, start=1):
        if not question.answerable:
            continue
        path = corpus.knowledge / str(question.source)
        if not path.is_file():
            raise CorpusError(
                f"{questions_file}: question {number} ({question.question!r}) names source "
                f"'{question.source}', which is not a file under {corpus.knowledge}"
            )
        if question.phrase is None:
            continue
        if question.source not in texts:
            try:
                texts[question.source] = normalise(load_file(path, corpus.knowledge).text)
            except LoadError as exc:
                texts[question.source] = None
                corpus.warnings.append(f"{question.source}: cannot be loaded ({exc})")
        text = texts[question.source]
        if text is not None and normalise(question.phrase) not in text:
            corpus.warnings.append(
                f"question {number}: phrase {question.phrase!r} is not in the loaded text "
                f"of {question.source}"
            )


def discover_corpora(root: Path) -> list[Path]:
    """The folders directly under `root`, by name (hidden ones left out); each should be
    a corpus, and one that is not is reported by `load_corpus`."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))

"""Every evaluation corpus under tests/eval/corpora keeps the rules of its format (issue 10).

A label that points at a missing file, or a phrase the document does not contain, would make
`changebot eval` score a question nobody can answer; a phrase is checked against the text the bot's
own loader extracts, so .docx, .pdf and .html sources are held to the same rule as plain text.
No model, no index: this reads YAML and documents only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.knowledge.loaders import is_skipped, load_file

CORPORA = Path(__file__).resolve().parents[2] / "eval" / "corpora"
MIN_ANSWERABLE = 40
MIN_UNANSWERABLE = 10
MIN_DOCS, MAX_DOCS = 6, 12
MAX_PHRASE_WORDS = 6


def _corpora() -> list[Path]:
    return sorted(p for p in CORPORA.iterdir() if (p / "questions.yaml").is_file())


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _questions(corpus: Path) -> list[dict]:
    return yaml.safe_load((corpus / "questions.yaml").read_text(encoding="utf-8"))["questions"]


def test_there_are_corpora_to_check():
    assert len(_corpora()) >= 2


@pytest.mark.parametrize("corpus", _corpora(), ids=lambda p: p.name)
def test_corpus_meets_the_minimums(corpus: Path):
    questions = _questions(corpus)
    answerable = [q for q in questions if q.get("answerable", True)]
    unanswerable = [q for q in questions if not q.get("answerable", True)]
    docs = [
        p
        for p in (corpus / "knowledge").rglob("*")
        if p.is_file() and is_skipped(p.relative_to(corpus / "knowledge")) is None
    ]
    assert len(answerable) >= MIN_ANSWERABLE
    assert len(unanswerable) >= MIN_UNANSWERABLE
    assert MIN_DOCS <= len(docs) <= MAX_DOCS
    texts = [q["q"].strip().lower() for q in questions]
    assert len(texts) == len(set(texts)), "a question appears twice"
    header = (corpus / "questions.yaml").read_text(encoding="utf-8").split("questions:", 1)[0]
    assert "BEFORE" in header, "the header must say the questions were written before tuning"


def _label_problems(corpus: Path) -> list[str]:
    root = corpus / "knowledge"
    loaded: dict[str, str] = {}
    problems = []
    for number, item in enumerate(_questions(corpus), start=1):
        where = f"{corpus.name} question {number} ({item['q']!r})"
        if not item.get("answerable", True):
            if set(item) - {"q", "answerable"}:
                problems.append(f"{where}: an unanswerable question carries a label")
            continue
        source, phrase = item.get("source"), item.get("phrase")
        if not source or not (root / source).is_file():
            problems.append(f"{where}: source {source!r} is not a file under knowledge/")
            continue
        if source not in loaded:
            loaded[source] = _flat(load_file(root / source, root).text)
        if not phrase or not 1 <= len(str(phrase).split()) <= MAX_PHRASE_WORDS:
            problems.append(f"{where}: phrase must be 1-{MAX_PHRASE_WORDS} words")
        elif _flat(str(phrase)) not in loaded[source]:
            problems.append(f"{where}: phrase {phrase!r} is not in {source}")
        section = item.get("section")
        if section and _flat(str(section)) not in loaded[source]:
            problems.append(f"{where}: section {section!r} is not in {source}")
    return problems


@pytest.mark.parametrize("corpus", _corpora(), ids=lambda p: p.name)
def test_every_label_points_at_text_the_bot_can_read(corpus: Path):
    problems = _label_problems(corpus)
    assert not problems, "\n".join(problems)


def test_a_wrong_label_is_reported(tmp_path: Path):
    corpus = tmp_path / "broken"
    (corpus / "knowledge").mkdir(parents=True)
    (corpus / "knowledge" / "faq.txt").write_text("1. When?\nOn 3 May 2027.\n", encoding="utf-8")
    (corpus / "questions.yaml").write_text(
        "questions:\n"
        "  - {q: when, source: faq.txt, phrase: '3 May 2027'}\n"
        "  - {q: when again, source: faq.txt, phrase: '4 May 2027'}\n"
        "  - {q: where, source: missing.txt, phrase: 'x'}\n"
        "  - {q: too long, source: faq.txt, phrase: 'a b c d e f g'}\n"
        "  - {q: budget, answerable: false, source: faq.txt}\n",
        encoding="utf-8",
    )
    problems = _label_problems(corpus)
    assert len(problems) == 4
    assert "'4 May 2027' is not in faq.txt" in problems[0]
    assert "missing.txt" in problems[1]
    assert "1-6 words" in problems[2]
    assert "unanswerable question carries a label" in problems[3]

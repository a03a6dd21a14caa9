"""Questions files, the hit rule, and `evaluate`: figures for one already-indexed
playbook (hybrid, dense-only, BM25-only; same chunks, same evidence rule).

`changebot eval` itself runs eval_run.py: every corpus in its own temporary index, the
LangChain tutorial baseline, answer-contains and leave-one-corpus-out tuning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.knowledge.answer import Answerer, evidence_score
from bot.knowledge.retrieve import HybridRetriever
from bot.yamlfiles import read_yaml_list

MODES = ("hybrid", "dense", "keyword")


class EvalFileError(ValueError):
    """The questions file is missing or malformed."""


@dataclass
class EvalQuestion:
    question: str
    source: str | None
    section: str | None
    phrase: str | None = None  # text a correct answer contains (corpora under tests/eval/corpora)

    @property
    def answerable(self) -> bool:
        return self.source is not None


@dataclass
class ModeResult:
    mode: str
    hit1: float = 0.0
    hit3: float = 0.0
    mrr: float = 0.0
    abstain_precision: float = 0.0
    abstain_recall: float = 0.0
    wrongly_abstained: float = 0.0
    misses: list[str] = field(default_factory=list)


@dataclass
class EvalReport:
    answerable: int
    unanswerable: int
    threshold: float
    results: dict[str, ModeResult]
    calibration: list[tuple[float, float, float]] = field(default_factory=list)


def load_questions(path: Path, *, require_phrase: bool = False) -> list[EvalQuestion]:
    """Read a questions file; `require_phrase` (the corpora) wants a `phrase` on every
    answerable question."""
    items = read_yaml_list(path, "questions", EvalFileError)
    questions = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not str(item.get("q") or "").strip():
            raise EvalFileError(f"{path}: question {number} needs a 'q' field")
        answerable = item.get("answerable", True) and item.get("source")
        phrase = str(item.get("phrase") or "").strip() or None
        if answerable and require_phrase and phrase is None:
            raise EvalFileError(
                f"{path}: question {number} ({item['q']!r}) needs a 'phrase': the exact "
                "text (1-6 words, verbatim in the source) that a correct answer contains"
            )
        questions.append(
            EvalQuestion(
                question=str(item["q"]),
                source=str(item["source"]) if answerable else None,
                section=str(item["section"]) if answerable and item.get("section") else None,
                phrase=phrase if answerable else None,
            )
        )
    return questions


def is_hit(metadata: dict, question: EvalQuestion) -> bool:
    """The passage is from the expected file and, when a section is given, under it."""
    if metadata.get("source") != question.source:
        return False
    if question.section is None:
        return True
    trail = f"{metadata.get('section', '')} > {metadata.get('faq_question', '')}"
    return question.section.lower() in trail.lower()


_is_hit = is_hit  # the name the existing tests use


def evaluate(
    questions: list[EvalQuestion],
    *,
    retriever: HybridRetriever,
    answerer: Answerer,
    modes: tuple[str, ...] = MODES,
) -> EvalReport:
    threshold = answerer.abstain_threshold
    results: dict[str, ModeResult] = {}
    evidence_by_mode: dict[str, list[tuple[float, bool]]] = {}
    for mode in modes:
        result = ModeResult(mode)
        hits1 = hits3 = 0
        reciprocal = 0.0
        abstained_right = abstained_wrong = 0
        evidences: list[tuple[float, bool]] = []
        for question in questions:
            retrieval = retriever.retrieve(question.question, k=10, mode=mode)  # type: ignore[arg-type]
            if mode == "hybrid":
                confident = answerer.answer(question.question).confident
                evidence = evidence_score(retrieval, retriever)
            else:
                if not retrieval.query_vector and retrieval.hits:
                    # keyword mode computes no query vector; the abstention rule needs one
                    retrieval.query_vector = retriever.embeddings.embed_query(question.question)
                    retriever._fill_dense(retrieval.hits, retrieval.query_vector)
                evidence = evidence_score(retrieval, retriever)
                confident = evidence >= threshold
            evidences.append((evidence, question.answerable))
            if not question.answerable:
                if not confident:
                    abstained_right += 1
                continue
            if not confident:
                abstained_wrong += 1
            rank = next(
                (i for i, hit in enumerate(retrieval.hits, 1) if is_hit(hit.metadata, question)),
                None,
            )
            if rank == 1:
                hits1 += 1
            if rank is not None and rank <= 3:
                hits3 += 1
            else:
                result.misses.append(question.question)
            if rank is not None:
                reciprocal += 1.0 / rank
        answerable = sum(q.answerable for q in questions)
        unanswerable = len(questions) - answerable
        abstained = abstained_right + abstained_wrong
        result.hit1 = hits1 / max(answerable, 1)
        result.hit3 = hits3 / max(answerable, 1)
        result.mrr = reciprocal / max(answerable, 1)
        result.abstain_precision = abstained_right / abstained if abstained else 1.0
        result.abstain_recall = abstained_right / max(unanswerable, 1)
        result.wrongly_abstained = abstained_wrong / max(answerable, 1)
        results[mode] = result
        evidence_by_mode[mode] = evidences
    report = EvalReport(
        answerable=sum(q.answerable for q in questions),
        unanswerable=sum(not q.answerable for q in questions),
        threshold=threshold,
        results=results,
    )
    if "hybrid" in evidence_by_mode:
        report.calibration = calibrate(evidence_by_mode["hybrid"])
    return report


def calibrate(evidences: list[tuple[float, bool]]) -> list[tuple[float, float, float]]:
    """(threshold, recall on unanswerable, wrong-abstention rate) for a sweep of thresholds.

    Uses the evidence score alone (before FAQ matches), so it shows the trade-off.
    """
    rows = []
    unanswerable = [e for e, a in evidences if not a]
    answerable = [e for e, a in evidences if a]
    for step in range(30, 81, 2):
        threshold = step / 100
        recall = sum(e < threshold for e in unanswerable) / max(len(unanswerable), 1)
        wrong = sum(e < threshold for e in answerable) / max(len(answerable), 1)
        rows.append((threshold, recall, wrong))
    return rows

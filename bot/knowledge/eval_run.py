"""One `changebot eval` run: every corpus indexed into its own temporary folder and
scored with the bot and three baselines; leave-one-corpus-out tuning on request.

The bot's abstention is measured at every threshold of GRID in the same run (a binary
search per question, since a higher threshold can only abstain more), so tuning needs
no second pass. It assumes the threshold decides only whether to answer, never what
the answer says.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.knowledge.answer import evidence_score
from bot.knowledge.embedding_cache import HashCachedEmbeddings
from bot.knowledge.eval_baselines import tutorial_outcomes
from bot.knowledge.eval_corpora import Corpus, CorpusError
from bot.knowledge.eval_scoring import (
    ALWAYS,
    NEVER,
    Fold,
    Metrics,
    Outcome,
    choose_threshold,
    contains_phrase,
    first_hit_rank,
    leave_one_corpus_out,
    macro,
    score,
)
from bot.knowledge.evaluate import EvalQuestion, is_hit

log = logging.getLogger(__name__)

SYSTEMS = ("ours", "dense", "bm25", "tutorial")
LABELS = {
    "ours": "hybrid (ours)",
    "dense": "dense only",
    "bm25": "BM25 only",
    "tutorial": "LangChain tutorial",
}
# Abstain thresholds tried by leave-one-corpus-out tuning (the evidence score's useful range).
GRID = [round(0.30 + 0.025 * i, 3) for i in range(25)]  # 0.30 … 0.90
TOP = 10  # passages ranked for hit@k and MRR


@dataclass
class CorpusResult:
    corpus: Corpus
    chunks: int
    seconds: float
    outcomes: dict[str, list[Outcome]]
    failed_files: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class EvalRun:
    threshold: float  # the configured abstain threshold the main figures use
    grid: list[float]
    results: list[CorpusResult]
    errors: list[str] = field(default_factory=list)
    folds: list[Fold] | None = None  # leave-one-corpus-out, when asked
    all_corpora_threshold: float | None = None  # tuned on every held-out corpus together
    seconds: float = 0.0
    encoded: int = 0
    reused: int = 0

    @property
    def sample(self) -> CorpusResult | None:
        return next((r for r in self.results if r.corpus.in_sample), None)

    @property
    def corpora(self) -> list[CorpusResult]:
        """The corpora the bot was not tuned on (macro figures and tuning use these)."""
        return [r for r in self.results if not r.corpus.in_sample]

    def metrics(self, result: CorpusResult, system: str) -> Metrics:
        return score(result.outcomes[system], self.threshold)

    def calibration(self, result: CorpusResult) -> list[tuple[float, Metrics]]:
        return [(t, score(result.outcomes["ours"], t)) for t in self.grid]

    def to_json(self) -> dict:
        def corpus_json(result: CorpusResult) -> dict:
            return {
                "name": result.corpus.name,
                "path": str(result.corpus.path),
                "in_sample": result.corpus.in_sample,
                "answerable": result.corpus.answerable,
                "unanswerable": result.corpus.unanswerable,
                "chunks": result.chunks,
                "seconds": round(result.seconds, 2),
                "warnings": result.corpus.warnings,
                "failed_files": [list(f) for f in result.failed_files],
                "systems": {
                    s: self.metrics(result, s).to_json() for s in SYSTEMS if s in result.outcomes
                },
                "calibration": [
                    {"threshold": t, **m.to_json()} for t, m in self.calibration(result)
                ],
                "questions": [
                    {
                        "q": o.question,
                        "answerable": o.answerable,
                        "rank": o.rank,
                        "abstained": o.abstained(self.threshold),
                        "contains": o.contains,
                    }
                    for o in result.outcomes["ours"]
                ],
            }

        systems = [s for s in SYSTEMS if self.corpora and s in self.corpora[0].outcomes]
        return {
            "threshold": self.threshold,
            "grid": self.grid,
            "sample": corpus_json(self.sample) if self.sample else None,
            "corpora": [corpus_json(r) for r in self.corpora],
            "macro": {
                s: macro([self.metrics(r, s) for r in self.corpora]).to_json() for s in systems
            }
            if self.corpora
            else None,
            "loco": None
            if self.folds is None
            else {
                "folds": [
                    {"held_out": f.held_out, "threshold": f.threshold, **f.metrics.to_json()}
                    for f in self.folds
                ],
                "macro": macro([f.metrics for f in self.folds]).to_json(),
                "all_corpora_threshold": self.all_corpora_threshold,
            },
            "errors": self.errors,
            "seconds": round(self.seconds, 1),
            "embeddings": {"encoded": self.encoded, "reused": self.reused},
        }


def run_eval(
    corpora: list[Corpus],
    *,
    make_container: Callable[[Path, Path], Any],
    embeddings: HashCachedEmbeddings,
    threshold: float,
    grid: list[float] = GRID,
    loco: bool = False,
    errors: list[str] | None = None,
) -> EvalRun:
    """`make_container(data_dir, knowledge_dir)` gives a Container (or anything with an
    indexer, retriever and answerer) for one corpus; `embeddings` is the shared cache."""
    started = time.perf_counter()
    grid = sorted({*grid, threshold})
    run = EvalRun(threshold=threshold, grid=grid, results=[], errors=list(errors or []))
    for corpus in corpora:
        try:
            run.results.append(
                run_corpus(corpus, make_container=make_container, embeddings=embeddings, grid=grid)
            )
        except CorpusError as exc:
            run.errors.append(str(exc))
    by_name = {r.corpus.name: r.outcomes["ours"] for r in run.corpora}
    if loco and len(by_name) >= 2:
        run.folds = leave_one_corpus_out(by_name, grid)
        run.all_corpora_threshold = choose_threshold(by_name, grid)
    elif loco:
        run.errors.append("--loco needs at least two corpora besides the sample")
    run.seconds = time.perf_counter() - started
    run.encoded, run.reused = embeddings.encoded, embeddings.reused
    return run


def run_corpus(
    corpus: Corpus,
    *,
    make_container: Callable[[Path, Path], Any],
    embeddings: HashCachedEmbeddings,
    grid: list[float],
) -> CorpusResult:
    started = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix=f"changebot-eval-{corpus.name}-"))
    try:
        container = make_container(folder / "data", corpus.knowledge)
        report = container.indexer.ingest(corpus.knowledge)
        if report.indexed_files == 0:
            raise CorpusError(f"{corpus.path}: nothing in {corpus.knowledge} could be indexed")
        retriever, answerer = container.retriever, container.answerer
        configured = answerer.abstain_threshold
        try:
            outcomes = {
                "ours": [_ours(q, retriever, answerer, grid) for q in corpus.questions],
                "dense": [_retrieval_only(q, retriever, "dense") for q in corpus.questions],
                "bm25": [_retrieval_only(q, retriever, "keyword") for q in corpus.questions],
                "tutorial": tutorial_outcomes(corpus, embeddings, k=TOP),
            }
        finally:
            answerer.abstain_threshold = configured
        engine = container.__dict__.get("engine")  # built lazily; release the SQLite file
        if engine is not None:
            engine.dispose()
        return CorpusResult(
            corpus,
            chunks=report.chunks_total,
            seconds=time.perf_counter() - started,
            outcomes=outcomes,
            failed_files=list(report.failed),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _rank(question: EvalQuestion, hits) -> int | None:
    if not question.answerable:
        return None
    return first_hit_rank([is_hit(hit.metadata, question) for hit in hits])


def _ours(question: EvalQuestion, retriever, answerer, grid: list[float]) -> Outcome:
    """Retrieval rank, phrase in the answer, and the highest threshold still answered."""
    rank = _rank(question, retriever.retrieve(question.question, k=TOP).hits)

    def answered(threshold: float):
        answerer.abstain_threshold = threshold
        answer = answerer.answer(question.question)
        return answer if answer.confident else None

    first = answered(grid[0])
    if first is None:
        until = NEVER
        contains = False if question.phrase else None
    else:
        contains = contains_phrase(first.text, question.phrase) if question.phrase else None
        low, high = 0, len(grid) - 1
        if answered(grid[high]) is not None:
            until = ALWAYS
        else:  # answered at grid[low], abstained at grid[high]
            while high - low > 1:
                middle = (low + high) // 2
                if answered(grid[middle]) is not None:
                    low = middle
                else:
                    high = middle
            until = grid[low]
    return Outcome(question.question, question.answerable, rank, until, contains)


def _retrieval_only(question: EvalQuestion, retriever, mode: str) -> Outcome:
    """A baseline ranking; it abstains by the same evidence rule, with no FAQ match."""
    retrieval = retriever.retrieve(question.question, k=TOP, mode=mode)
    if not retrieval.query_vector and retrieval.hits:
        # keyword mode computes no query vector; the evidence score needs one
        retrieval.query_vector = retriever.embeddings.embed_query(question.question)
        retriever._fill_dense(retrieval.hits, retrieval.query_vector)
    evidence = evidence_score(retrieval, retriever)
    return Outcome(
        question.question, question.answerable, _rank(question, retrieval.hits), evidence
    )

"""The arithmetic of `changebot eval`: per-question outcomes in, figures out.

Pure functions on hand-made data, so the scoring itself is tested without a model.
A question's abstention is kept as the highest abstain threshold at which it was
still answered (`answered_until`): one run then gives the figures at every threshold
of the grid, which is what leave-one-corpus-out tuning needs.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import asdict, dataclass

ALWAYS = math.inf  # answered at any threshold (the tutorial baseline never abstains)
NEVER = -math.inf  # abstained at any threshold

_SPACE = re.compile(r"\s+")
_MARKUP = re.compile(r"\*\*|__|`")
_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


@dataclass(frozen=True)
class Outcome:
    """One question, one system.

    rank: 1-based rank of the first passage from the expected source (and section) in
        the top 10; None when missed, or for an unanswerable question.
    answered_until: the question is answered for thresholds t <= this, abstained above.
    contains: the expected phrase is in the answer text when answered; None when the
        system writes no answer (retrieval baselines) or the question has no phrase.
    """

    question: str
    answerable: bool
    rank: int | None = None
    answered_until: float = ALWAYS
    contains: bool | None = None

    def abstained(self, threshold: float) -> bool:
        return threshold > self.answered_until


@dataclass
class Metrics:
    answerable: int
    unanswerable: int
    hit1: float
    hit3: float
    mrr: float
    contains: float | None  # share of answerable questions whose answer holds the phrase
    unanswerable_abstained: int
    answerable_wrongly_abstained: int

    @property
    def abstained_rate(self) -> float | None:
        return self.unanswerable_abstained / self.unanswerable if self.unanswerable else None

    @property
    def wrongly_abstained_rate(self) -> float | None:
        if not self.answerable:
            return None
        return self.answerable_wrongly_abstained / self.answerable

    def to_json(self) -> dict:
        data = asdict(self)
        data["abstained_rate"] = self.abstained_rate
        data["wrongly_abstained_rate"] = self.wrongly_abstained_rate
        return data


@dataclass
class Macro:
    """Unweighted means over corpora (each corpus counts once, whatever its size)."""

    corpora: int
    hit1: float
    hit3: float
    mrr: float
    contains: float | None
    abstained_rate: float | None
    wrongly_abstained_rate: float | None

    def to_json(self) -> dict:
        return asdict(self)


def normalise(text: str) -> str:
    """Case-folded, whitespace-collapsed, without Markdown emphasis and with plain
    quotes and hyphens, so "Within **1 hour**" contains "within 1 hour"."""
    text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    text = _DASHES.sub("-", _MARKUP.sub("", text))
    return _SPACE.sub(" ", text).strip().casefold()


def contains_phrase(answer: str, phrase: str) -> bool:
    return bool(phrase.strip()) and normalise(phrase) in normalise(answer)


def first_hit_rank(flags: list[bool]) -> int | None:
    """1-based position of the first True, or None."""
    return next((i for i, flag in enumerate(flags, start=1) if flag), None)


def score(outcomes: list[Outcome], threshold: float) -> Metrics:
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    n = len(answerable)
    ranks = [o.rank for o in answerable]
    measured = [o for o in answerable if o.contains is not None]
    contains = (
        sum(bool(o.contains) and not o.abstained(threshold) for o in measured) / len(measured)
        if measured
        else None
    )
    return Metrics(
        answerable=n,
        unanswerable=len(unanswerable),
        hit1=sum(r == 1 for r in ranks) / n if n else 0.0,
        hit3=sum(r is not None and r <= 3 for r in ranks) / n if n else 0.0,
        mrr=sum(1.0 / r for r in ranks if r) / n if n else 0.0,
        contains=contains,
        unanswerable_abstained=sum(o.abstained(threshold) for o in unanswerable),
        answerable_wrongly_abstained=sum(o.abstained(threshold) for o in answerable),
    )


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def macro(metrics: list[Metrics]) -> Macro:
    return Macro(
        corpora=len(metrics),
        hit1=_mean([m.hit1 for m in metrics]) or 0.0,
        hit3=_mean([m.hit3 for m in metrics]) or 0.0,
        mrr=_mean([m.mrr for m in metrics]) or 0.0,
        contains=_mean([m.contains for m in metrics]),
        abstained_rate=_mean([m.abstained_rate for m in metrics]),
        wrongly_abstained_rate=_mean([m.wrongly_abstained_rate for m in metrics]),
    )


MAX_WRONG_ABSTAIN = 0.10  # the product's bar: at most 10 % of answerable questions refused


def choose_threshold(
    corpora: dict[str, list[Outcome]], grid: list[float], *, max_wrong: float = MAX_WRONG_ABSTAIN
) -> float:
    """The grid value that abstains on the most unanswerable questions (macro over these
    corpora) while wrongly abstaining on at most `max_wrong` of the answerable ones.

    This is the issue's target read as a rule: refusing an answerable question is the
    costlier mistake, so its rate is a bound and abstention is maximised under it. When
    no value keeps within the bound, the one with the fewest wrong abstentions wins.
    Remaining ties go to the middle of the tied values (lower middle when even).
    """
    if not corpora or not grid:
        raise ValueError("tuning needs at least one corpus and one threshold")
    ordered = sorted(set(grid))
    figures = {}
    for t in ordered:
        m = macro([score(outcomes, t) for outcomes in corpora.values()])
        figures[t] = (m.abstained_rate or 0.0, m.wrongly_abstained_rate or 0.0)
    feasible = [t for t in ordered if figures[t][1] <= max_wrong + 1e-12]
    if feasible:
        best = max(figures[t][0] for t in feasible)
        tied = [t for t in feasible if figures[t][0] >= best - 1e-12]
        fewest = min(figures[t][1] for t in tied)
        tied = [t for t in tied if figures[t][1] <= fewest + 1e-12]
    else:
        fewest = min(figures[t][1] for t in ordered)
        tied = [t for t in ordered if figures[t][1] <= fewest + 1e-12]
    return tied[(len(tied) - 1) // 2]


@dataclass
class Fold:
    held_out: str
    threshold: float  # chosen on the other corpora
    metrics: Metrics


def leave_one_corpus_out(corpora: dict[str, list[Outcome]], grid: list[float]) -> list[Fold]:
    """Tune on all corpora but one, score the one left out; once per corpus."""
    if len(corpora) < 2:
        raise ValueError("leave-one-corpus-out needs at least two corpora")
    folds = []
    for name, outcomes in corpora.items():
        others = {other: o for other, o in corpora.items() if other != name}
        threshold = choose_threshold(others, grid)
        folds.append(Fold(name, threshold, score(outcomes, threshold)))
    return folds

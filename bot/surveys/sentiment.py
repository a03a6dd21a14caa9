"""Sentiment of free-text pulse-survey comments, for HR to triage, never to judge people.

This module is the rule-based analyzer: the fallback, and a baseline. The default is the
learned classifier in ``sentiment_model.py``, which finds far more of the negative comments
on organisations nobody tuned it on (figures in the README, "Comment sentiment").

VADER (rule-based, lexicon shipped with the package, no downloads) does the scoring; the
label uses VADER's standard thresholds on the compound score: >= 0.05 positive,
<= -0.05 negative, otherwise neutral.

VADER was tuned on social media and misses how people write about work. With
``use_workplace_rules=True`` a small layer fixes the misses we know of. Each rule rewrites the
text before VADER scores it, so ``SentimentAnalyzer.rewrite`` shows exactly what changed:

1. Polite requests are neutral. "It would be great if…", "would be nice to have…",
   "could we please…", a sentence-initial "please", "I'd like…" become the neutral token
   ``request``: the "great" in a wish is not praise. Praise elsewhere in the comment still counts.
2. Negated problems are mildly positive. "no problems", "no/zero issues", "no complaints",
   "no concerns", "not a problem", "nothing to complain about", "can't complain" become one token
   worth +1.0. VADER scores "no" as -1.2 and has no entry for "issues" or "concerns", so
   "no issues" read as negative.
3. Workplace terms (``WORKPLACE_LEXICON``) get valences on VADER's -4..+4 scale. Phrases are
   joined into one token (``game changer`` -> ``game_changer``) so VADER's negation and
   booster handling still apply ("not smooth" stays negative). "overwhelmed" replaces
   VADER's +0.2.

The layer cannot detect sarcasm ("no problems at all, if you enjoy waiting"), and a request that
is really a complaint ("could we please stop…") reads neutral.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.yamlfiles import read_yaml_list

Label = Literal["negative", "neutral", "positive"]
LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")
POSITIVE_THRESHOLD = 0.05
NEGATIVE_THRESHOLD = -0.05
MAX_VALENCE = 4.0  # VADER's lexicon scale is -4..+4

WORKPLACE_LEXICON: dict[str, float] = {
    # workload and wellbeing
    "overwhelmed": -2.0,
    "swamped": -1.6,
    "burnout": -2.5,
    "burned out": -2.5,
    "burnt out": -2.5,
    "understaffed": -1.8,
    "overworked": -2.0,
    "rushed": -1.3,
    # tools and rollout
    "clunky": -1.5,
    "buggy": -1.8,
    "flaky": -1.5,
    "steep learning curve": -1.3,
    "seamless": 2.0,
    "seamlessly": 2.0,
    "smooth": 1.5,  # covers "smooth rollout", "smooth migration"
    "smoothly": 1.5,
    "intuitive": 1.5,
    "game changer": 2.5,
}

REQUEST_TOKEN = "request"
NO_PROBLEM_TOKEN = "no_problem"
NO_PROBLEM_VALENCE = 1.0

_APOS = "['’]"
_REQUEST_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in (
        (
            rf"\b(?:(?:it|that)\s+would|(?:it|that){_APOS}?d|would)\s+be\s+(?:really\s+|so\s+|very\s+)?"
            r"(?:great|nice|good|helpful|useful|awesome|lovely|cool|ideal)\s+(?:if|to)\b",
            REQUEST_TOKEN,
        ),
        (
            r"\b(?:could|can|would)\s+(?:we|you|someone|somebody|they)\s+(?:please|kindly)\b",
            REQUEST_TOKEN,
        ),
        (rf"\b(?:i|we)(?:{_APOS}d|\s+would)\s+(?:really\s+)?(?:like|love)\b", REQUEST_TOKEN),
        (r"(^|[.!?]\s+)please\b", rf"\g<1>{REQUEST_TOKEN}"),
    )
)
_NO_PROBLEM_RULES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\b(?:no|zero|not\s+(?:a|any|one)|never\s+(?:a|any|had\s+any))\s+(?:real\s+|major\s+)?"
        r"(?:problems?|issues?|complaints?|concerns?)\b",
        r"\bnothing\s+to\s+complain\s+about\b",
        rf"\bcan{_APOS}?t\s+complain\b",
    )
)


class LabelledFileError(ValueError):
    """The labelled comments file is missing or malformed."""


class Labeller(Protocol):
    def label(self, text: str) -> str: ...


def label_for(compound: float) -> Label:
    """VADER's standard reading of a compound score."""
    if compound >= POSITIVE_THRESHOLD:
        return "positive"
    if compound <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


class SentimentAnalyzer:
    """VADER plus an optional workplace layer (see the module docstring).

    Args:
        extra_lexicon: more terms and their valence on VADER's -4..+4 scale; multi-word
            terms are matched as phrases. Applied whether or not the workplace rules are on,
            and wins over ``WORKPLACE_LEXICON``.
        use_workplace_rules: False gives plain VADER (plus ``extra_lexicon``).
    """

    def __init__(
        self,
        *,
        extra_lexicon: Mapping[str, float] | None = None,
        use_workplace_rules: bool = True,
    ) -> None:
        self.use_workplace_rules = use_workplace_rules
        self._vader = SentimentIntensityAnalyzer()  # its lexicon dict is per instance
        terms = dict(WORKPLACE_LEXICON) if use_workplace_rules else {}
        terms.update(_checked_lexicon(extra_lexicon or {}))
        if use_workplace_rules:
            self._vader.lexicon[NO_PROBLEM_TOKEN] = NO_PROBLEM_VALENCE
        phrases: list[tuple[re.Pattern[str], str]] = []
        for term, valence in terms.items():
            words = term.lower().split()
            token = "_".join(words)
            self._vader.lexicon[token] = valence
            if len(words) > 1:
                pattern = r"\b" + r"[\s-]+".join(map(re.escape, words)) + r"\b"
                phrases.append((re.compile(pattern, re.IGNORECASE), token))
        # Longest first, so "steep learning curve" is not pre-empted by a shorter phrase.
        phrases.sort(key=lambda item: -item[1].count("_"))
        self._phrases = tuple(phrases)

    def rewrite(self, text: str) -> str:
        """The text VADER actually scores, after the workplace rules and phrase joining."""
        if self.use_workplace_rules:
            for pattern, replacement in _REQUEST_RULES:
                text = pattern.sub(replacement, text)
            for pattern in _NO_PROBLEM_RULES:
                text = pattern.sub(NO_PROBLEM_TOKEN, text)
        for pattern, token in self._phrases:
            text = pattern.sub(token, text)
        return text

    def polarity(self, text: str) -> dict[str, float]:
        """VADER's four scores: ``compound`` in [-1, 1] and the ``pos``, ``neu``, ``neg`` shares."""
        return self._vader.polarity_scores(self.rewrite(text))

    def score(self, text: str) -> float:
        """VADER's compound score in [-1, 1]."""
        return float(self.polarity(text)["compound"])

    def label(self, text: str) -> Label:
        return label_for(self.score(text))

    def label_many(self, texts: Sequence[str]) -> list[Label]:
        """``label`` for each text (the same batch form as the learned classifier's)."""
        return [self.label(text) for text in texts]


def _checked_lexicon(lexicon: Mapping[str, float]) -> dict[str, float]:
    checked = {}
    for term, valence in lexicon.items():
        if not isinstance(term, str) or not term.split():
            raise ValueError(f"extra_lexicon keys must be non-empty strings, got {term!r}")
        if (
            isinstance(valence, bool)
            or not isinstance(valence, int | float)
            or not math.isfinite(valence)
            or abs(valence) > MAX_VALENCE
        ):
            raise ValueError(
                f"extra_lexicon[{term!r}] must be a number from -4 to 4 (VADER's scale), "
                f"got {valence!r}"
            )
        checked[term] = float(valence)
    return checked


def evaluate(labelled: Sequence[tuple[str, str]], analyzer: Labeller) -> dict[str, Any]:
    """Score ``analyzer`` against human labels.

    Returns:
        ``total``, ``correct``, ``accuracy``; ``per_label[label]`` with ``precision``,
        ``recall`` and ``support`` (a label never predicted has precision 0.0);
        ``confusion[expected][predicted]`` counts; ``errors`` as (text, expected, predicted).
    """
    if not labelled:
        raise ValueError("evaluate() needs at least one labelled comment")
    confusion = {expected: dict.fromkeys(LABELS, 0) for expected in LABELS}
    errors = []
    for text, expected in labelled:
        if expected not in LABELS:
            raise ValueError(f"unknown label {expected!r} for {text!r}; use one of {LABELS}")
        predicted = analyzer.label(text)
        if predicted not in LABELS:
            raise ValueError(f"analyzer returned unknown label {predicted!r} for {text!r}")
        confusion[expected][predicted] += 1
        if predicted != expected:
            errors.append((text, expected, predicted))
    correct = sum(confusion[label][label] for label in LABELS)
    per_label = {}
    for label in LABELS:
        predicted_as = sum(confusion[expected][label] for expected in LABELS)
        support = sum(confusion[label].values())
        hits = confusion[label][label]
        per_label[label] = {
            "precision": hits / predicted_as if predicted_as else 0.0,
            "recall": hits / support if support else 0.0,
            "support": support,
        }
    return {
        "total": len(labelled),
        "correct": correct,
        "accuracy": correct / len(labelled),
        "per_label": per_label,
        "confusion": confusion,
        "errors": errors,
    }


def load_labelled(path: str | Path) -> list[tuple[str, str]]:
    """Read ``comments: [{text: ..., label: ...}, ...]`` (see tests/eval/comments.yaml)."""
    path = Path(path)
    items = read_yaml_list(path, "comments", LabelledFileError)
    labelled = []
    for number, item in enumerate(items, start=1):
        text = item.get("text") if isinstance(item, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise LabelledFileError(f"{path}: comment {number} needs a non-empty 'text'")
        label = item.get("label")
        if label not in LABELS:
            raise LabelledFileError(
                f"{path}: comment {number} has label {label!r}; use one of {', '.join(LABELS)}"
            )
        labelled.append((text, label))
    return labelled

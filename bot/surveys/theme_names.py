"""Names for groups of comments: each group's most distinctive words (class-based TF-IDF).

Every group's comments are read as one document. A term's weight in a group is its
frequency there (share of the group's words) times log(1 + A / f), where A is the
average number of words per group and f the term's count over all groups: a word every
group uses ("system", "new") scores low, a word one group uses a lot scores high. This
is c-TF-IDF as BERTopic defines it. Terms are single words and two-word phrases of
adjacent words, both without stop-words. A term from only one of the group's comments
counts for ONE_OFF_WEIGHT of its weight (a phrase not at all): a word one person used is
distinctive but rarely says what the group is about.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

NAME_TERMS = 3  # terms in a theme's name
ONE_OFF_WEIGHT = 0.3  # weight kept by a word that only one comment of the group uses

_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]|[a-z]")

_STOP_WORDS = """
    a about above after again against all almost already also although always am among an and
    another any anyone anything are aren't around as at away back be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing
    don't done down during each either else enough even ever every everyone everything few
    for from further get gets getting got had hadn't has hasn't have haven't having he her here
    hers herself him himself his how however i i'd i'll i'm i've if in into is isn't it it's its
    itself just keep kept know last least less let let's like lot lots made make makes many may
    me might more most much must mustn't my myself need needs never new no nobody nor not
    nothing now of off often on once one only or other others our ours ourselves out over own
    per please quite rather really same say says see seems seen shall she should shouldn't so
    some someone something still such sure take takes than that that's the their theirs them
    themselves then there there's these they they'd they're they've thing things think this
    those though through thus till to too took under until up upon us use used using very was
    wasn't way we we'd we'll we're we've well went were weren't what what's when where whether
    which while who who's whom whose why will with within without won't would wouldn't yet you
    you'd you'll you're you've your yours yourself yourselves
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def terms_of(text: str) -> list[str]:
    """The words and two-word phrases a comment contributes (lower case, no stop-words)."""
    words = [w.replace("’", "'") for w in _WORD.findall(text.lower())]
    terms: list[str] = []
    previous: str | None = None
    for word in words:
        if word in STOP_WORDS or len(word) < 3:
            previous = None
            continue
        terms.append(word)
        if previous is not None:
            terms.append(f"{previous} {word}")
        previous = word
    return terms


def ctfidf(groups: Sequence[Sequence[str]]) -> list[dict[str, float]]:
    """Per group, each term's c-TF-IDF weight (see the module docstring)."""
    counts = [Counter(term for text in texts for term in terms_of(text)) for texts in groups]
    spread = [Counter(term for text in texts for term in set(terms_of(text))) for texts in groups]
    words_per_group = [sum(c[t] for t in c if " " not in t) for c in counts]
    average = (sum(words_per_group) / len(groups)) if groups else 0.0
    overall: Counter[str] = Counter()
    for counter in counts:
        overall.update(counter)
    weights = []
    for counter, size, comments in zip(counts, words_per_group, spread, strict=True):
        scored = {}
        for term, count in counter.items():
            if comments[term] < 2 and " " in term:
                continue
            tf = count / size if size else 0.0
            weight = tf * math.log(1.0 + average / overall[term])
            scored[term] = weight if comments[term] >= 2 else weight * ONE_OFF_WEIGHT
        weights.append(scored)
    return weights


def top_terms(weights: dict[str, float], limit: int = NAME_TERMS) -> list[str]:
    """The best terms, best first; a word already inside a chosen phrase is skipped, and
    a phrase is preferred to its own words when it scores at least half as well."""
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    best = ranked[0][1] if ranked else 0.0
    phrases = [t for t, w in ranked if " " in t and w >= best / 2]
    chosen: list[str] = []
    for term, _ in [(p, 0.0) for p in phrases] + ranked:
        if len(chosen) == limit:
            break
        if term in chosen:
            continue
        inside = any(term in c.split() or c in term.split() for c in chosen)
        if not inside:
            chosen.append(term)
    return chosen


def name_groups(groups: Sequence[Sequence[str]], limit: int = NAME_TERMS) -> list[list[str]]:
    """Each group's name terms, in the groups' order."""
    return [top_terms(weights, limit) for weights in ctfidf(groups)]

"""Reordering rules on fused hits: the newer of two equal passages, and the newer word
of an announcement on the question's subject, go first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def newer_wins_ties(hits: list, margin: float) -> list:
    """Between two neighbouring hits that match the question equally well, the newer leads.

    "Equally well" means their dense similarities differ by at most `margin` and their
    keyword scores by at most `margin` of the larger one: the fused rank alone cannot
    tell, since two equal chunks still take ranks 1 and 2 in each list.
    """
    ordered = list(hits)
    if margin <= 0:
        return ordered  # the rule is switched off
    for _ in range(2):
        for i in range(len(ordered) - 1):
            a, b = ordered[i], ordered[i + 1]
            if a.metadata.get("source") == b.metadata.get("source"):
                continue
            newer = (b.metadata.get("updated") or "") > (a.metadata.get("updated") or "")
            if newer and _equally_good(a, b, margin):
                ordered[i], ordered[i + 1] = b, a
    return ordered


def newest_word_first(
    hits: list, margin: float, coverage: Callable[[Any], float], *, window: int = 5
) -> list:
    """A newer announcement on the question's subject goes before the document it updates.

    Among the first `window` hits, the best-placed announcement that is newer than the
    top hit (another document), mentions the question's words at least as fully
    (idf-weighted) and whose dense similarity is at most `margin` below the top hit's
    moves to the top: "the go-live moves to 9 March" beats the roadmap's older date even
    when the roadmap's wording matches the question better. An announcement that merely
    sounds like the question ("exit criteria of the scale-out phase" is in the roadmap
    only) stays where it is.
    """
    if margin <= 0 or len(hits) < 2:
        return hits
    top = hits[0]
    if top.dense is None:
        return hits
    for i, hit in enumerate(hits[1:window], start=1):
        if hit.metadata.get("type") != "announcement" or hit.dense is None:
            continue
        if hit.metadata.get("source") == top.metadata.get("source"):
            continue
        newer = (hit.metadata.get("updated") or "") > (top.metadata.get("updated") or "")
        if newer and hit.dense >= top.dense - margin and coverage(hit) >= coverage(top):
            return [hit, *hits[:i], *hits[i + 1 :]]
    return hits


def _equally_good(a, b, margin: float) -> bool:
    if a.dense is None or b.dense is None or abs(a.dense - b.dense) > margin:
        return False
    ka, kb = a.keyword or 0.0, b.keyword or 0.0
    return abs(ka - kb) <= margin * max(ka, kb, 1e-9) or ka == kb

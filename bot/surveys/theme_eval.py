"""How well the themes' grouping agrees with people's: adjusted Rand index on hand-grouped runs.

A file (see tests/eval/themes/) holds one run's comments grouped by hand:
`groups: [{topic: ..., comments: [...]}, ...]`. The clustering the themes use (before the
anonymity folding, which depends on a run's size and threshold, not on meaning) is
compared with the hand grouping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.surveys.clustering import MAX_GROUPS, adjusted_rand_index, cluster, normalise
from bot.surveys.theme_names import name_groups
from bot.yamlfiles import read_yaml_list


class GroupedFileError(ValueError):
    """The hand-grouped comments file is missing or malformed."""


@dataclass(frozen=True)
class ThemeEval:
    path: str
    comments: int
    groups_by_hand: int
    groups_found: int
    ari: float
    names: list[str]  # the found groups' names, largest group first

    def as_dict(self) -> dict:
        return {
            "file": self.path,
            "comments": self.comments,
            "groups_by_hand": self.groups_by_hand,
            "groups_found": self.groups_found,
            "ari": round(self.ari, 4),
            "names": self.names,
        }


def load_grouped(path: str | Path) -> list[tuple[str, str]]:
    """(comment, topic) pairs from a hand-grouped file."""
    path = Path(path)
    groups = read_yaml_list(path, "groups", GroupedFileError)
    pairs = []
    for number, group in enumerate(groups, start=1):
        topic = group.get("topic") if isinstance(group, dict) else None
        comments = group.get("comments") if isinstance(group, dict) else None
        if not isinstance(topic, str) or not topic.strip():
            raise GroupedFileError(f"{path}: group {number} needs a non-empty 'topic'")
        if not isinstance(comments, list) or not comments:
            raise GroupedFileError(f"{path}: group {number} needs a non-empty 'comments' list")
        for text in comments:
            if not isinstance(text, str) or not text.strip():
                raise GroupedFileError(f"{path}: group {number} has an empty or non-text comment")
            pairs.append((text, topic))
    if len({text for text, _ in pairs}) != len(pairs):
        raise GroupedFileError(f"{path}: a comment appears twice")
    return pairs


def evaluate_grouping(
    path: str | Path,
    embed: Callable[[list[str]], list[list[float]]],
    *,
    max_groups: int = MAX_GROUPS,
) -> ThemeEval:
    pairs = load_grouped(path)
    texts = [text for text, _ in pairs]
    vectors = normalise(np.asarray(embed(texts), dtype=np.float64))
    labels, _ = cluster(vectors, max_groups=max_groups)
    found = [[texts[i] for i in np.flatnonzero(labels == j)] for j in range(labels.max() + 1)]
    found.sort(key=len, reverse=True)
    names = [", ".join(terms) for terms in name_groups(found)]
    return ThemeEval(
        path=str(path),
        comments=len(texts),
        groups_by_hand=len({topic for _, topic in pairs}),
        groups_found=int(labels.max() + 1),
        ari=adjusted_rand_index([topic for _, topic in pairs], list(labels)),
        names=names,
    )

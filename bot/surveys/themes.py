"""Themes: a closed run's released comments grouped by meaning, for HR.

The input is exactly what the report releases (bot.surveys.suppression.released_comments:
every comment of a closed run, whole run, only when the run has the comment threshold of
responses) and nothing else, so a theme never shows a comment the report would not.
Comments are embedded with the one embedding model, grouped (bot.surveys.clustering:
k-means with the number of groups chosen by silhouette), named by their most
distinctive words (bot.surveys.theme_names: c-TF-IDF) and summarised: how many comments,
their sentiment split, the two comments closest to the group's centre, and the change
since the previous run's themes (matched by centre similarity).

Anonymity, on top of the report's rules:
- themes are whole-run only: there is no way to ask for a department's or team's themes;
- a respondent may write one comment per text question, so a group of c comments comes
  from at least ceil(c / text questions) people; a theme is shown only when that is at
  least the comment threshold, and any smaller group is folded into "Other";
- no themes at all when the run's comments could come from fewer than the threshold;
- when "Other" itself is non-empty but smaller than the threshold (it is the total minus
  the shown themes, so it could be worked out), the smallest shown themes are folded into
  it until it is large enough: no subtraction leaves a group below the threshold.
A closed run's comments never change, so the grouping is cached per comment set.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from threading import Lock

import numpy as np

from bot.surveys.clustering import MAX_GROUPS, cluster, normalise
from bot.surveys.sentiment import LABELS, Labeller
from bot.surveys.suppression import released_comments
from bot.surveys.theme_names import name_groups

Embed = Callable[[list[str]], list[list[float]]]

EXAMPLES = 2  # representative comments per theme
MATCH_SIMILARITY = 0.7  # centre cosine at or above which two runs' themes are "the same"
EXAMPLE_CHARS = 200  # a representative comment is cut to this length for display
CACHED_RUNS = 16
SHOWN_IN_SLACK = 5  # top themes in /pulse results


@dataclass(frozen=True)
class Theme:
    """One shown theme. `count_change`/`share_change` are None when it is new this run."""

    name: str
    terms: tuple[str, ...]
    count: int
    share: float  # of the run's released comments
    sentiment: dict[str, int]
    examples: tuple[str, ...]
    centre: np.ndarray = field(repr=False, compare=False)
    count_change: int | None = None
    share_change: float | None = None


@dataclass(frozen=True)
class Themes:
    """A run's themes. `shown` False: no themes (and `reason` says why, for HR)."""

    shown: bool
    reason: str
    total: int  # released comments
    threshold: int
    themes: tuple[Theme, ...] = ()
    other: int = 0  # comments in no shown theme
    other_sentiment: dict[str, int] = field(default_factory=dict)
    compared: bool = False  # changes are against a previous run's themes


def people_at_least(comments: int, per_respondent: int) -> int:
    """The fewest respondents who can have written `comments` comments."""
    return math.ceil(comments / max(1, per_respondent))


def text_questions(survey) -> int:
    """How many comments one respondent can write in a run of `survey` (at least 1)."""
    return max(1, sum(1 for q in survey.questions if q.type == "text"))


def fold(groups: list[list[int]], threshold: int, per_respondent: int = 1):
    """(shown groups, other indices): groups too small for the threshold go to Other, then
    the smallest shown groups join Other until Other is empty or large enough."""

    def enough(size: int) -> bool:
        return people_at_least(size, per_respondent) >= threshold

    shown = sorted((g for g in groups if enough(len(g))), key=len, reverse=True)
    other = sorted(i for g in groups if not enough(len(g)) for i in g)
    while other and not enough(len(other)) and shown:
        other = sorted(other + shown.pop())
    if other and not enough(len(other)):
        # Nothing left to fold in: everything is one group below the threshold.
        return [], other
    return shown, other


class ThemeFinder:
    """Finds and caches themes. Keyword-only collaborators.

    Args:
        embed: texts -> unit vectors (the container's embeddings.embed_documents).
        analyzer: labels each comment for the sentiment split (default: VADER + workplace rules).
        max_themes: the most groups the clustering is asked for.
    """

    def __init__(
        self,
        *,
        embed: Embed,
        analyzer: Labeller | None = None,
        max_themes: int = MAX_GROUPS,
        cache_size: int = CACHED_RUNS,
    ) -> None:
        self._embed = embed
        self._analyzer = analyzer
        self.max_themes = max_themes
        self._cache: OrderedDict[tuple, Themes] = OrderedDict()
        self._cache_size = cache_size
        self._lock = Lock()

    def find(
        self,
        comments: Sequence[str] | None,
        *,
        threshold: int,
        per_respondent: int = 1,
        previous: Themes | None = None,
    ) -> Themes:
        """Themes of a run's released comments (None: the report releases none)."""
        if comments is None:
            return Themes(
                False,
                f"Comments are shown only when {threshold} or more people answered the run.",
                0,
                threshold,
            )
        texts = sorted(comments)  # the report shuffles; the grouping must not depend on it
        digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()
        key = (digest, threshold, per_respondent, self.max_themes)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
        if found is None:
            found = self._group(texts, threshold, per_respondent)
            with self._lock:
                self._cache[key] = found
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return compare(found, previous)

    def for_run(self, runs, survey, run, previous_run=None) -> Themes:
        """Themes of a stored closed run, compared with `previous_run`'s when given."""
        if run is None or run.status != "closed":
            return Themes(False, "Themes are shown when the run closes.", 0, 0)
        previous = None
        if previous_run is not None and previous_run.status == "closed":
            previous = self.find(
                released_for(runs, survey, previous_run),
                threshold=survey.anonymity.comments,
                per_respondent=text_questions(survey),
            )
        return self.find(
            released_for(runs, survey, run),
            threshold=survey.anonymity.comments,
            per_respondent=text_questions(survey),
            previous=previous,
        )

    def _group(self, texts: list[str], threshold: int, per_respondent: int) -> Themes:
        total = len(texts)
        if total == 0 or people_at_least(total, per_respondent) < threshold:
            return Themes(
                False,
                f"Themes are shown only when the comments come from {threshold} or more "
                "people; fewer wrote comments in this run.",
                total,
                threshold,
            )
        vectors = normalise(np.asarray(self._embed(texts), dtype=np.float64))
        # A group smaller than the threshold is folded anyway: do not ask for more groups
        # than could each be shown.
        most = max(2, min(self.max_themes, total // max(1, threshold)))
        labels, _ = cluster(vectors, max_groups=most)
        groups = [list(np.flatnonzero(labels == j)) for j in range(labels.max() + 1)]
        shown, other = fold(groups, threshold, per_respondent)
        if not shown:
            return Themes(
                False,
                "No theme is large enough to show on its own: every group of comments "
                f"is smaller than {threshold} people.",
                total,
                threshold,
                other=total,
                other_sentiment=self._split([texts[i] for i in other]),
            )
        # Other takes part in the weighting (its words are not distinctive of a theme).
        rest = [[texts[i] for i in other]] if other else []
        names = name_groups([[texts[i] for i in g] for g in shown] + rest)
        themes = []
        for group, terms in zip(shown, names, strict=False):
            centre = normalise(vectors[group].sum(axis=0, keepdims=True))[0]
            closest = sorted(group, key=lambda i: (-float(vectors[i] @ centre), texts[i]))
            themes.append(
                Theme(
                    name=", ".join(terms) or "(no distinctive words)",
                    terms=tuple(terms),
                    count=len(group),
                    share=len(group) / total,
                    sentiment=self._split([texts[i] for i in group]),
                    examples=tuple(_short(texts[i]) for i in closest[:EXAMPLES]),
                    centre=centre,
                )
            )
        return Themes(
            True,
            "",
            total,
            threshold,
            tuple(themes),
            other=len(other),
            other_sentiment=self._split([texts[i] for i in other]),
        )

    def _split(self, texts: Sequence[str]) -> dict[str, int]:
        if self._analyzer is None:
            from bot.surveys.stored_scores import default_labeller as _default_analyzer

            self._analyzer = _default_analyzer()
        counts = Counter(self._analyzer.label(text) for text in texts)
        return {label: counts.get(label, 0) for label in LABELS}


def released_for(runs, survey, run) -> list[str] | None:
    """A stored closed run's comments as the report releases them (None: it releases none)."""
    cells = runs.cells(survey, run.id, dimensions=(), comments=True)
    return released_comments(cells, survey.anonymity.comments)


def compare(current: Themes, previous: Themes | None) -> Themes:
    """`current` with each theme's change since the previous run's matching theme.

    Themes are matched one to one, most similar centres first, when their cosine is at
    least MATCH_SIMILARITY; an unmatched theme is new (its changes stay None).
    """
    if previous is None or not current.shown or not previous.shown:
        return current
    pairs = sorted(
        (
            (float(now.centre @ before.centre), i, j)
            for i, now in enumerate(current.themes)
            for j, before in enumerate(previous.themes)
        ),
        reverse=True,
    )
    matched: dict[int, Theme] = {}
    taken: set[int] = set()
    for similarity, i, j in pairs:
        if similarity < MATCH_SIMILARITY:
            break
        if i in matched or j in taken:
            continue
        matched[i] = previous.themes[j]
        taken.add(j)
    themes = tuple(
        replace(theme, count_change=theme.count - old.count, share_change=theme.share - old.share)
        if (old := matched.get(i)) is not None
        else theme
        for i, theme in enumerate(current.themes)
    )
    return replace(current, themes=themes, compared=True)


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXAMPLE_CHARS else flat[: EXAMPLE_CHARS - 1].rstrip() + "…"


def _change(theme: Theme, compared: bool) -> str:
    if not compared:
        return ""
    if theme.count_change is None:
        return " · new since the previous run"
    return (
        f" · {theme.count_change:+d} comments, {100 * theme.share_change:+.0f} points of share "
        "since the previous run"
    )


def render_text(themes: Themes, limit: int | None = SHOWN_IN_SLACK) -> str:
    """The themes as plain text (Slack's report block and the terminal); content unescaped,
    the caller escapes for its medium."""
    if not themes.shown:
        return f"Themes: none shown. {themes.reason}\n"
    shown = themes.themes if limit is None else themes.themes[:limit]
    lines = [
        f"Themes in {themes.total} comments (grouped by meaning; a theme is shown only when "
        f"its comments come from {themes.threshold} or more people):"
    ]
    for number, theme in enumerate(shown, start=1):
        split = ", ".join(f"{theme.sentiment[label]} {label}" for label in LABELS)
        lines.append(
            f"{number}. {theme.name} — {theme.count} comments ({theme.share:.0%}); "
            f"{split}{_change(theme, themes.compared)}"
        )
        lines.extend(f'     "{example}"' for example in theme.examples)
    rest = themes.other + sum(t.count for t in themes.themes[len(shown) :])
    if rest:
        lines.append(f"Other: {rest} comments in smaller or further themes.")
    return "\n".join(lines) + "\n"

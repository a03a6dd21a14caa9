"""What a closed run's report may show: suppression that holds across every grouping.

A *cell* is everyone who gave the same group labels (department, team, location). Its
aggregates — how many responded, and per dimension the sum and count of respondents'
means — are all a report needs, so the database can compute them with one GROUP BY
(bot.surveys.aggregate) and plain responses give the same (`cells_from_responses`).

Hiding small groups separately per grouping leaks: department minus team, or the total
minus the visible groups, can leave one person. So each closed run gets ONE partition of
its respondents into *blocks* (`partition`): the cells, with small ones merged — first
with cells of the same department and team, then of the same department, then anywhere —
until every block has at least the score threshold of respondents, and no block has
Resistance or Confidence answered by fewer than the threshold (unless by nobody). A
group's figures are published only when the group is exactly a union of blocks
(`publishable`); any other group is hidden, whatever grouping is asked. Every published
figure is then a function of block totals, and so is every sum or difference of figures
from any number of reports: nothing about fewer people than a block can be worked out.

Comments are released from one set that does not depend on the grouping: every comment
of the run when the run has at least the comment threshold of responses, never
attributed to a group (`released_comments`).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce

from bot.surveys.definitions import DIMENSIONS, Survey
from bot.surveys.scoring import (
    NOT_RECORDED,
    GroupScore,
    Response,
    index_0_100,
    respondent_mean,
    text_answers,
    threshold_for,
)

ATTRIBUTES = ("department", "team", "location")  # all a response may say about its author
GROUP_DIMENSIONS = ("resistance", "confidence")  # the figures shown per group
Labels = tuple[frozenset[str], ...]  # per attribute (ATTRIBUTES order): the values present


@dataclass(frozen=True)
class Cell:
    """Aggregates of the respondents who share `labels` (a block is a Cell too).

    `total` counts every response (the comment threshold uses it), `scored` those with at
    least one scale answer (the score threshold uses it); `sums` and `counts` are, per
    dimension, the sum of respondents' 1..5 means and how many respondents had one.
    """

    labels: Labels
    total: int = 0
    scored: int = 0
    sums: Mapping[str, float] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    comments: tuple[str, ...] = ()
    parts: tuple[Labels, ...] = ()  # a block's cells; () for a cell itself
    # Comments per sentiment label, as stored when they were submitted; None: not read.
    sentiment: Mapping[str, int] | None = None

    @property
    def members(self) -> tuple[Labels, ...]:
        """The labels of the cells this block was made of."""
        return self.parts or (self.labels,)

    def __add__(self, other: Cell) -> Cell:
        dimensions = {*self.counts, *other.counts}
        return Cell(
            labels=tuple(a | b for a, b in zip(self.labels, other.labels, strict=True)),
            total=self.total + other.total,
            scored=self.scored + other.scored,
            sums={d: self.sums.get(d, 0.0) + other.sums.get(d, 0.0) for d in dimensions},
            counts={d: self.counts.get(d, 0) + other.counts.get(d, 0) for d in dimensions},
            comments=self.comments + other.comments,
            parts=self.members + other.members,
            sentiment=_added(self.sentiment, other.sentiment),
        )

    def mean(self, dimension: str) -> float | None:
        """The dimension's 1..5 mean over respondents (clamped: SQL sums in another order)."""
        count = self.counts.get(dimension, 0)
        if not count:
            return None
        return min(5.0, max(1.0, self.sums.get(dimension, 0.0) / count))


def _added(left: Mapping[str, int] | None, right: Mapping[str, int] | None):
    if left is None or right is None:
        return None
    return {label: left.get(label, 0) + right.get(label, 0) for label in {*left, *right}}


# -- cells --------------------------------------------------------------------------------
def labels_of(attributes: Mapping[str, object] | None) -> Labels:
    """A response's stored attributes as labels: a value, a list of values (a sealed run's
    block), or nothing (NOT_RECORDED)."""
    labels = []
    for key in ATTRIBUTES:
        value = (attributes or {}).get(key)
        values = value if isinstance(value, list | tuple) else [value]
        kept = {str(v).strip() for v in values if v is not None and str(v).strip()}
        labels.append(frozenset(kept or {NOT_RECORDED}))
    return tuple(labels)


def attributes_of(labels: Labels) -> dict[str, list[str]]:
    """Labels as stored on a sealed run's responses: every attribute as a sorted list."""
    return {key: sorted(values) for key, values in zip(ATTRIBUTES, labels, strict=True)}


def merge_equal(cells: Iterable[Cell]) -> list[Cell]:
    """One cell per distinct labels (the database may spell equal labels differently)."""
    merged: dict[Labels, Cell] = {}
    for cell in cells:
        merged[cell.labels] = merged[cell.labels] + cell if cell.labels in merged else cell
    return sorted(merged.values(), key=_name)


def cells_from_responses(
    survey: Survey, responses: Sequence[Response], dimensions: Iterable[str] = DIMENSIONS
) -> list[Cell]:
    """The cells of plain responses: what bot.surveys.aggregate computes in SQL."""
    wanted = [d for d in DIMENSIONS if d in set(dimensions)]
    scale_ids = [q.id for q in survey.scale_questions]
    cells = []
    for response in responses:
        means = {d: respondent_mean(survey, response, d) for d in wanted}
        scored = any(response.answers.get(i) is not None for i in scale_ids)
        cells.append(
            Cell(
                labels=labels_of(response.attributes),
                total=1,
                scored=int(scored),
                sums={d: mean for d, mean in means.items() if mean is not None},
                counts={d: int(mean is not None) for d, mean in means.items()},
                comments=tuple(text_answers(survey, response)),
            )
        )
    return merge_equal(cells)


# -- the partition ------------------------------------------------------------------------
def _name(cell: Cell) -> tuple:
    return tuple(tuple(sorted(values)) for values in cell.labels)


def _smallest_first(cell: Cell) -> tuple:
    return (cell.scored, _name(cell))


def partition(cells: Iterable[Cell], threshold: int) -> list[Cell]:
    """The run's blocks: every respondent with a score in exactly one, each block large
    enough (see the module docstring). When the whole run is below the threshold it is
    one block, too small to publish anything from."""
    scored = [cell for cell in merge_equal(cells) if cell.scored > 0]
    if not scored:
        return []
    everyone = reduce(Cell.__add__, scored)
    watched = [d for d in GROUP_DIMENSIONS if everyone.counts.get(d, 0) >= threshold]

    def small(block: Cell) -> bool:
        return block.scored < threshold or any(
            0 < block.counts.get(d, 0) < threshold for d in watched
        )

    blocks = scored
    for depth in (2, 1, 0):  # same department and team, same department, anywhere
        blocks = _merge_within(blocks, lambda b, depth=depth: b.labels[:depth], small)
    return sorted(blocks, key=_name)


def _merge_within(blocks: list[Cell], key: Callable, small: Callable) -> list[Cell]:
    """Within each key: pool the small blocks; a pool still small joins the smallest
    large blocks of the same key, one at a time, until it is large enough."""
    by_key: dict = defaultdict(list)
    for block in blocks:
        by_key[key(block)].append(block)
    result = []
    for members in by_key.values():
        smalls = [b for b in members if small(b)]
        larges = sorted((b for b in members if not small(b)), key=_smallest_first)
        if smalls:
            pool = reduce(Cell.__add__, sorted(smalls, key=_name))
            while small(pool) and larges:
                pool = pool + larges.pop(0)
            result.append(pool)
        result.extend(larges)
    return result


# -- publication --------------------------------------------------------------------------
def publishable(blocks: Sequence[Cell], by: str, value: str) -> bool:
    """Whether the group `by` = `value` is exactly a union of (large enough) blocks."""
    position = _position(by)
    touched = [b for b in blocks if value in b.labels[position]]
    return bool(touched) and all(b.labels[position] == {value} for b in touched)


def shown_dimensions(cells: Sequence[Cell], threshold: int) -> set[str]:
    """Dimensions answered by at least the threshold in the run; the others show nowhere."""
    return {d for d in DIMENSIONS if sum(c.counts.get(d, 0) for c in cells) >= threshold}


def overall_score(cells: Sequence[Cell], threshold: int) -> GroupScore:
    """Everyone who gave a score; suppressed below the threshold."""
    everyone = reduce(Cell.__add__, cells, Cell(labels=labels_of({})))
    if everyone.scored < threshold:
        return GroupScore("everyone", everyone.scored, None, None, suppressed=True)
    return _score("everyone", everyone, shown_dimensions(cells, threshold))


def group_scores(cells: Sequence[Cell], by: str, threshold: int) -> list[GroupScore]:
    """One row per value of `by` among respondents with scores, sorted by name.

    A hidden group's size is given only as "fewer than the threshold" (`small`), and only
    when that is certain; otherwise it is not given at all.
    """
    position = _position(by)
    blocks = partition(cells, threshold)
    usable = blocks if all(b.scored >= threshold for b in blocks) else []
    shown = shown_dimensions(cells, threshold)
    values = sorted({v for b in blocks for v in b.labels[position]})
    groups = []
    for value in values:
        if publishable(usable, by, value):
            members = [b for b in usable if value in b.labels[position]]
            groups.append(_score(value, reduce(Cell.__add__, members), shown))
            continue
        at_most = sum(c.scored for c in cells if value in c.labels[position])
        small = at_most < threshold
        groups.append(GroupScore(value, None, None, None, suppressed=True, small=small))
    return groups


def released_comments(
    cells: Sequence[Cell], threshold: int, rng: random.Random | None = None
) -> list[str] | None:
    """Every comment of the run, shuffled, when it has `threshold` responses; else None."""
    if sum(cell.total for cell in cells) < threshold:
        return None
    comments = [text for cell in cells for text in cell.comments]
    (rng or random.Random()).shuffle(comments)
    return comments


def _score(name: str, cell: Cell, shown: set[str]) -> GroupScore:
    figures = {d: index_0_100(cell.mean(d)) if d in shown else None for d in GROUP_DIMENSIONS}
    return GroupScore(name, cell.scored, figures["resistance"], figures["confidence"], False)


def _position(by: str) -> int:
    if by not in ATTRIBUTES:
        raise ValueError(f"cannot group by {by!r}; use one of {', '.join(ATTRIBUTES)}")
    return ATTRIBUTES.index(by)


# -- the same rules on plain responses ----------------------------------------------------
def overall(survey: Survey, responses: Sequence[Response], threshold: int | None = None):
    """Indices over everyone who gave a score, suppressed when fewer than the threshold did."""
    limit = threshold_for(threshold, survey.anonymity.scores)
    return overall_score(cells_from_responses(survey, responses, GROUP_DIMENSIONS), limit)


def breakdown(
    survey: Survey,
    responses: Sequence[Response],
    by: str = "department",
    threshold: int | None = None,
) -> list[GroupScore]:
    """Indices per value of `by`, published only where the group is a union of blocks.

    `threshold` defaults to the survey's `anonymity.scores`; it can be raised, never
    lowered. Respondents without the attribute form the group NOT_RECORDED.
    """
    limit = threshold_for(threshold, survey.anonymity.scores)
    return group_scores(cells_from_responses(survey, responses, GROUP_DIMENSIONS), by, limit)


def allowed_comments(
    survey: Survey,
    responses: Sequence[Response],
    threshold: int | None = None,
    rng: random.Random | None = None,
) -> list[str]:
    """The comments that may be shown: all of the run's, shuffled, or none (by the total)."""
    limit = threshold_for(threshold, survey.anonymity.comments)
    cells = cells_from_responses(survey, responses, ())
    return released_comments(cells, limit, rng) or []

"""HR reports on a survey run: indices, deltas, groups, comments, alerts. Read side only.

Two ways in, one result. `build_report` takes plain responses, `load_report` lets the
database aggregate (one GROUP BY per run, bot.surveys.aggregate) so a run with 100,000
responses is not pulled into Python. Both turn the run into cells and apply the same
rules (bot.surveys.suppression) to them; tests hold the two to the same figures.

An open run is reported as participation only (invited, answered) and the date full
results come: figures that moved with every answer would give away each person's
answers. A closed run's report never contains a group that is not a union of the run's
blocks (so no subtraction between groupings or from the total isolates anyone), a
hidden group's size (only "fewer than the threshold" when it is), comments other than
all of the run's (when it has the comment threshold of responses), a comment's date,
author or group, or a sentiment label per comment (only counts).

A stored run's sentiment counts are the labels its comments got when they were submitted
(bot.surveys.stored_scores); a report labels comments only when given plain responses or
an `analyzer` explicitly (to compare analyzers on a stored run).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from bot.surveys.definitions import ADKAR_STAGES, DIMENSIONS, Survey
from bot.surveys.runs import CLOSED, Run, SurveyRuns
from bot.surveys.scoring import BARRIER_AT, GroupScore, Response, barrier_point
from bot.surveys.sentiment import LABELS, Labeller
from bot.surveys.stored_scores import default_labeller
from bot.surveys.suppression import (
    GROUP_DIMENSIONS,
    Cell,
    cells_from_responses,
    group_scores,
    overall_score,
    released_comments,
    shown_dimensions,
)

EVERYONE = "(everyone)"


class RunLike(Protocol):
    id: int
    due_date: dt.date
    status: str


@dataclass(frozen=True)
class Report:
    """Everything HR may see about one run; `overall` and `groups` are already suppressed.

    For an open run (`is_open`) only the participation is filled in.
    """

    survey_id: str
    title: str
    run_id: int | None
    due_date: dt.date | None
    status: str
    by: str
    invited: int | None
    answered: int | None
    respondents: int  # responses received
    score_threshold: int
    comment_threshold: int
    overall: GroupScore  # n = respondents who gave at least one score
    stages: dict[str, float | None]  # ADKAR stage -> mean 1..5 (None when suppressed)
    barrier: str | None
    groups: list[GroupScore]
    sentiment: dict[str, int] | None  # None: too few respondents for comments to be shown
    comments: list[str] = field(default_factory=list)
    previous_run_id: int | None = None
    previous_due_date: dt.date | None = None
    resistance_delta: float | None = None
    confidence_delta: float | None = None
    is_open: bool = False
    closes_at: dt.datetime | None = None

    @property
    def participation(self) -> float | None:
        if not self.invited or self.answered is None:
            return None
        return self.answered / self.invited

    @property
    def resistance(self) -> float | None:
        return self.overall.resistance

    @property
    def confidence(self) -> float | None:
        return self.overall.confidence


def is_open(run: RunLike | None) -> bool:
    """Whether a run still takes answers (a report without a run is treated as closed)."""
    return run is not None and getattr(run, "status", CLOSED) != CLOSED


def build_report(
    survey: Survey,
    run: RunLike | None,
    responses: Sequence[Response],
    previous: Report | None = None,
    by: str = "department",
    analyzer: Labeller | None = None,
    rng: random.Random | None = None,
    *,
    participation: tuple[int, int] | None = None,
) -> Report:
    """A report from plain responses, through the same cells as the database path.

    Args:
        previous: the previous run's report, for the deltas.
        analyzer: labels the released comments (default: VADER with the workplace rules).
        rng: shuffles the comments; pass a seeded one for a repeatable order.
        participation: (invited, answered), e.g. from SurveyRuns.participation.
    """
    if is_open(run):
        counts = participation or (len(responses), len(responses))
        return _open_report(survey, run, by, counts)
    cells = cells_from_responses(survey, responses)
    return _from_cells(survey, run, cells, by, previous, analyzer, rng, participation)


def load_report(
    runs: SurveyRuns,
    survey: Survey,
    run: Run,
    *,
    by: str = "department",
    previous_run: Run | None = None,
    previous: Report | None = None,
    analyzer: Labeller | None = None,
    rng: random.Random | None = None,
    with_comments: bool = True,
) -> Report:
    """The report of a stored run, aggregated in the database.

    Deltas are against `previous` (a report already built, grouped the same way) or else
    against `previous_run`, whose summary is then built here. `with_comments=False` gives
    that summary: indices overall and per group only (no comments, sentiment or stages),
    all that deltas, alerts and trends use, for a cheaper query. The sentiment counts are
    the stored labels, unless an `analyzer` is given: then it labels the comments again.
    """
    participation = runs.participation(run.id)
    if is_open(run):
        return _open_report(survey, run, by, participation)
    if previous is None and previous_run is not None:
        previous = load_report(runs, survey, previous_run, by=by, with_comments=False)
    # The summary (deltas, alerts, trends) needs only the two indices: skip the stage items.
    dimensions = DIMENSIONS if with_comments else GROUP_DIMENSIONS
    cells = runs.cells(survey, run.id, dimensions=dimensions, comments=with_comments)
    return _from_cells(
        survey, run, cells, by, previous, analyzer, rng, participation, comments=with_comments
    )


def report_from_cells(
    survey: Survey,
    run: Run,
    cells: list[Cell],
    by: str,
    previous: Report | None = None,
    *,
    analyzer: Labeller | None = None,
    participation: tuple[int, int] | None = None,
    comments: bool = True,
) -> Report:
    """A closed run's report from its cells read already (`SurveyRuns.cells`), for a caller
    that needs the cells too (the console's heatmap): the same rules as `load_report`."""
    if is_open(run):
        return _open_report(survey, run, by, participation or (0, 0))
    return _from_cells(
        survey, run, cells, by, previous, analyzer, None, participation, comments=comments
    )


def load_reports(
    runs: SurveyRuns,
    survey: Survey,
    run: Run,
    previous_run: Run | None = None,
    *,
    by: str = "department",
    analyzer: Labeller | None = None,
    rng: random.Random | None = None,
) -> tuple[Report, Report | None]:
    """This run's report and the previous run's summary (for the deltas and alerts).

    The summary reads only the two indices' items, so it costs less than a full report.
    """
    previous = None
    if previous_run is not None:
        previous = load_report(runs, survey, previous_run, by=by, with_comments=False)
    report = load_report(runs, survey, run, by=by, previous=previous, analyzer=analyzer, rng=rng)
    return report, previous


def _from_cells(
    survey: Survey,
    run: RunLike | None,
    cells: list[Cell],
    by: str,
    previous: Report | None,
    analyzer: Labeller | None,
    rng: random.Random | None,
    participation: tuple[int, int] | None,
    *,
    comments: bool = True,
) -> Report:
    limit = survey.anonymity.scores
    texts = cells
    # The figures never use the comments: without them, adding cells up into blocks does
    # not copy 10,000 comments over and over.
    cells = [replace(cell, comments=()) if cell.comments else cell for cell in cells]
    everyone = overall_score(cells, limit)
    shown = shown_dimensions(cells, limit)
    stages = {
        stage: None if everyone.suppressed or stage not in shown else _mean(cells, stage)
        for stage in ADKAR_STAGES
    }
    released = released_comments(texts, survey.anonymity.comments, rng) if comments else None
    sentiment = None
    if released is not None:
        stored = [cell.sentiment for cell in cells]
        if analyzer is None and all(found is not None for found in stored):
            # Labelled when submitted: every comment of the run is released, so the
            # counts are the stored counts of all of them.
            sentiment = {label: sum(found.get(label, 0) for found in stored) for label in LABELS}
        else:
            labeller = analyzer or default_labeller()
            counts = Counter(labeller.label(text) for text in released)
            sentiment = {label: counts.get(label, 0) for label in LABELS}
    invited, answered = participation if participation is not None else (None, None)
    return Report(
        survey_id=survey.id,
        title=survey.title,
        run_id=getattr(run, "id", None),
        due_date=getattr(run, "due_date", None),
        status=getattr(run, "status", ""),
        by=by,
        invited=invited,
        answered=answered,
        respondents=sum(cell.total for cell in cells),
        score_threshold=limit,
        comment_threshold=survey.anonymity.comments,
        overall=everyone,
        stages=stages,
        barrier=barrier_point(stages),
        groups=group_scores(cells, by, limit),
        sentiment=sentiment,
        comments=list(released or []),
        previous_run_id=previous.run_id if previous else None,
        previous_due_date=previous.due_date if previous else None,
        resistance_delta=_delta(everyone.resistance, previous.resistance if previous else None),
        confidence_delta=_delta(everyone.confidence, previous.confidence if previous else None),
        closes_at=getattr(run, "closes_at", None),
    )


def _mean(cells: Sequence[Cell], dimension: str) -> float | None:
    count = sum(cell.counts.get(dimension, 0) for cell in cells)
    total = sum(cell.sums.get(dimension, 0.0) for cell in cells)
    return min(5.0, max(1.0, total / count)) if count else None


def _open_report(survey: Survey, run: RunLike, by: str, participation: tuple[int, int]) -> Report:
    invited, answered = participation
    return Report(
        survey_id=survey.id,
        title=survey.title,
        run_id=run.id,
        due_date=run.due_date,
        status=run.status,
        by=by,
        invited=invited,
        answered=answered,
        respondents=answered,
        score_threshold=survey.anonymity.scores,
        comment_threshold=survey.anonymity.comments,
        overall=GroupScore("everyone", None, None, None, suppressed=True),
        stages={stage: None for stage in ADKAR_STAGES},
        barrier=None,
        groups=[],
        sentiment=None,
        is_open=True,
        closes_at=getattr(run, "closes_at", None),
    )


def _delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


# -- output -------------------------------------------------------------------------------
def _index(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _change(delta: float | None, since: dt.date | None) -> str:
    if delta is None:
        return ""
    return f" ({delta:+.1f} since {since})" if since else f" ({delta:+.1f})"


def _size(group: GroupScore, threshold: int) -> str:
    """A shown group's size; a hidden one's only as "<threshold" when it is, else "hidden"."""
    if not group.suppressed and group.n is not None:
        return str(group.n)
    if group.small or (group.n is not None and group.n < threshold):
        return f"<{threshold}"
    return "hidden"


def _closing(report: Report) -> str:
    when = f" on {report.closes_at:%A %d %B %Y %H:%M} UTC" if report.closes_at else ""
    return (
        f"Full results when the run closes{when}. Until then only participation is shown: "
        "figures that moved with each answer would give away each person's answers."
    )


def render_text(report: Report) -> str:
    """The report as plain text for the terminal."""
    lines = [
        f"{report.title} ({report.survey_id})"
        + (
            f" — run {report.run_id}, due {report.due_date}, {report.status}"
            if report.run_id
            else ""
        )
    ]
    if report.is_open:
        share = f" ({report.participation:.0%})" if report.participation is not None else ""
        lines.append(f"Participation so far: {report.answered} of {report.invited} invited{share}")
        lines.append(_closing(report))
        return "\n".join(lines) + "\n"
    if report.invited is not None:
        share = f" ({report.participation:.0%})" if report.participation is not None else ""
        lines.append(f"Participation: {report.answered} of {report.invited} invited{share}")
    lines.append(f"Responses: {report.respondents}, {report.overall.n} with scores")
    if report.overall.suppressed:
        lines.append(
            f"Fewer than {report.score_threshold} people gave scores, so no index is shown."
        )
    else:
        since = report.previous_due_date
        lines.append(
            f"Resistance index: {_index(report.resistance)} / 100"
            f"{_change(report.resistance_delta, since)}  (higher = more pushback)"
        )
        lines.append(
            f"Confidence index: {_index(report.confidence)} / 100"
            f"{_change(report.confidence_delta, since)}  (higher = more able to cope)"
        )
        stages = ", ".join(
            f"{stage} {'—' if mean is None else f'{mean:.2f}'}"
            for stage, mean in report.stages.items()
        )
        lines.append(f"ADKAR stages (mean 1-5): {stages}")
        if report.barrier:
            lines.append(
                f"Barrier point: {report.barrier} (the first stage at or below {BARRIER_AT:.1f})"
            )
        else:
            lines.append(f"Barrier point: none (no stage at or below {BARRIER_AT:.1f})")
    lines.append("")
    lines.append(
        f"By {report.by} (a group is shown only when no subtraction, across groupings or "
        f"from the total, can single out fewer than {report.score_threshold} people):"
    )
    width = max([len(report.by), *(len(group.name) for group in report.groups)]) + 2
    lines.append(f"  {report.by:<{width}}{'n':>7}{'resistance':>12}{'confidence':>12}")
    for group in report.groups:
        lines.append(
            f"  {group.name:<{width}}{_size(group, report.score_threshold):>7}"
            f"{_index(group.resistance):>12}{_index(group.confidence):>12}"
        )
    lines.append("")
    if report.sentiment is None:
        lines.append(
            f"Comments are shown only when {report.comment_threshold} or more people answered "
            "the run (all of them, never per group); fewer did."
        )
    else:
        counts = ", ".join(f"{report.sentiment[label]} {label}" for label in LABELS)
        lines.append(f"Comment sentiment: {counts} (of {len(report.comments)} comments)")
        if report.comments:
            lines.append(f"Comments ({len(report.comments)}, in random order):")
            lines.extend(f"  - {' '.join(text.split())}" for text in report.comments)
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    # A group name that a spreadsheet would run as a formula.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(report: Report) -> str:
    """Aggregates only: one row for everyone and one per group, never a row per person.

    An open run gives its participation only.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if report.is_open:
        writer.writerow(["status", "invited", "answered", "closes_at"])
        closes = report.closes_at.isoformat() if report.closes_at else ""
        writer.writerow([report.status, report.invited, report.answered, closes])
        return buffer.getvalue()
    writer.writerow([report.by, "respondents", "resistance_index", "confidence_index"])
    for name, group in [(EVERYONE, report.overall), *((g.name, g) for g in report.groups)]:
        writer.writerow(
            [
                _cell(name),
                _size(group, report.score_threshold),
                "" if group.resistance is None else f"{group.resistance:.1f}",
                "" if group.confidence is None else f"{group.confidence:.1f}",
            ]
        )
    return buffer.getvalue()


def alerts(
    report: Report,
    previous: Report | None,
    *,
    rise_points: float,
    min_participation: float,
) -> list[str]:
    """What HR should look at: low participation, and Resistance rising overall or in a group.

    Groups are compared only when both reports group the same way and show both figures.
    """
    found = []
    rate = report.participation
    if rate is not None and rate < min_participation:
        found.append(
            f"Participation was {rate:.0%} ({report.answered} of {report.invited}), "
            f"below {min_participation:.0%}."
        )
    if previous is None:
        return found
    rise = _delta(report.resistance, previous.resistance)
    if rise is not None and rise >= rise_points - 1e-9:
        found.append(
            f"Resistance rose {rise:.1f} points overall "
            f"({previous.resistance:.1f} → {report.resistance:.1f})."
        )
    if previous.by != report.by:
        return found
    before = {group.name: group for group in previous.groups if not group.suppressed}
    for group in report.groups:
        old = before.get(group.name)
        if old is None or group.suppressed:
            continue
        rise = _delta(group.resistance, old.resistance)
        if rise is not None and rise >= rise_points - 1e-9:
            found.append(
                f"Resistance in {report.by} {group.name} rose {rise:.1f} points "
                f"({old.resistance:.1f} → {group.resistance:.1f})."
            )
    return found


def trend(
    survey_id: str, runs_with_reports: Iterable[tuple[Any, Report]]
) -> list[tuple[dt.date, float | None, float | None]]:
    """(due date, Resistance, Confidence) per run of one survey, oldest first."""
    points = [
        (run.due_date, report.resistance, report.confidence)
        for run, report in runs_with_reports
        if run.survey_id == survey_id
    ]
    return sorted(points, key=lambda point: point[0])

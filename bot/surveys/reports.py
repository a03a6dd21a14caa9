"""HR reports on a survey run: indices, deltas, groups, comments, alerts. Read side only.

Two ways in, one result. `build_report` takes plain responses and uses
bot.surveys.scoring directly; `load_report` lets the database aggregate (one GROUP BY
query per run, see SurveyRuns.run_stats) so a run with 100,000 responses is not pulled
into Python, and applies the same suppression rules to the aggregates. Tests hold the
two to the same figures.

What a report never contains: a group smaller than the survey's score threshold (and,
when exactly one group is that small, the next-smallest too, see scoring.breakdown),
comments from a group below the comment threshold, a comment's date or author, or a
sentiment label per comment (only counts).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from bot.surveys.definitions import ADKAR_STAGES, DIMENSIONS, Survey
from bot.surveys.runs import Run, RunStats, SurveyRuns
from bot.surveys.scoring import (
    BARRIER_AT,
    NOT_RECORDED,
    GroupScore,
    Response,
    allowed_comments,
    barrier_point,
    breakdown,
    index_0_100,
    overall,
    stage_profile,
)
from bot.surveys.sentiment import LABELS, Labeller, SentimentAnalyzer

EVERYONE = "(everyone)"


class RunLike(Protocol):
    id: int
    due_date: dt.date
    status: str


@dataclass(frozen=True)
class Report:
    """Everything HR may see about one run; `overall` and `groups` are already suppressed."""

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


@cache
def _default_analyzer() -> SentimentAnalyzer:
    return SentimentAnalyzer()


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
    """A report from plain responses, scored by bot.surveys.scoring.

    Args:
        previous: the previous run's report, for the deltas.
        analyzer: labels the released comments (default: VADER with the workplace rules).
        rng: shuffles the comments; pass a seeded one for a repeatable order.
        participation: (invited, answered), e.g. from SurveyRuns.participation.
    """
    everyone = overall(survey, responses)
    stages = (
        {stage: None for stage in ADKAR_STAGES}
        if everyone.suppressed
        else stage_profile(survey, responses)
    )
    sizes = Counter(response.attributes.get(by) or NOT_RECORDED for response in responses)
    open_to_comments = any(n >= survey.anonymity.comments for n in sizes.values())
    comments = allowed_comments(survey, responses, by=by, rng=rng) if open_to_comments else []
    return _assemble(
        survey,
        run,
        by=by,
        respondents=len(responses),
        everyone=everyone,
        stages=stages,
        groups=breakdown(survey, responses, by),
        comments=comments if open_to_comments else None,
        previous=previous,
        analyzer=analyzer,
        participation=participation,
    )


def build_report_from_stats(
    survey: Survey,
    run: RunLike | None,
    stats: RunStats,
    comments: list[str] | None,
    previous: Report | None = None,
    analyzer: Labeller | None = None,
    rng: random.Random | None = None,
    *,
    participation: tuple[int, int] | None = None,
) -> Report:
    """A report from SQL aggregates; the same suppression as scoring.overall / breakdown.

    `comments` must come only from `released_groups(stats, ...)`; None when none is.
    """
    limit = survey.anonymity.scores
    total = stats.overall
    everyone = _score(survey, "everyone", total, hide=total.scored < limit)
    stages = {stage: None if everyone.suppressed else total.means[stage] for stage in ADKAR_STAGES}
    shown = list(comments) if comments is not None else None
    if shown:
        (rng or random.Random()).shuffle(shown)
    return _assemble(
        survey,
        run,
        by=stats.by,
        respondents=total.total,
        everyone=everyone,
        stages=stages,
        groups=_breakdown(survey, stats),
        comments=shown,
        previous=previous,
        analyzer=analyzer,
        participation=participation,
    )


def released_groups(stats: RunStats, threshold: int) -> list[str]:
    """Groups whose comments may be shown: at least `threshold` responses (as allowed_comments)."""
    return sorted(name for name, group in stats.groups.items() if group.total >= threshold)


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
    all that deltas, alerts and trends use, for a cheaper query.
    """
    if previous is None and previous_run is not None:
        previous = load_report(runs, survey, previous_run, by=by, with_comments=False)
    stats, comments, participation = _gather(runs, survey, run, by, with_comments)
    return build_report_from_stats(
        survey,
        run,
        stats,
        comments,
        previous,
        analyzer=analyzer,
        rng=rng,
        participation=participation,
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


def _gather(runs: SurveyRuns, survey: Survey, run: Run, by: str, with_comments: bool):
    """(stats, releasable comments or None, participation) of one run from the database."""
    # The summary (deltas, alerts, trends) needs only the two indices: skip the stage items.
    dimensions = DIMENSIONS if with_comments else ("resistance", "confidence")
    stats = runs.run_stats(survey, run.id, by, dimensions=dimensions, comments=with_comments)
    released = released_groups(stats, survey.anonymity.comments)
    comments = None
    if with_comments and released:
        comments = [text for name in released for text in stats.groups[name].comments]
    return stats, comments, runs.participation(run.id)


def _score(survey: Survey, name: str, group, hide: bool) -> GroupScore:
    if hide:
        return GroupScore(name, group.scored, None, None, suppressed=True)
    return GroupScore(
        name,
        group.scored,
        index_0_100(_clamp(group.means["resistance"])),
        index_0_100(_clamp(group.means["confidence"])),
        suppressed=False,
    )


def _clamp(mean: float | None) -> float | None:
    # SQL sums floats in another order than Python: 5.0000000000000001 must still be 5.
    return None if mean is None else min(5.0, max(1.0, mean))


def _breakdown(survey: Survey, stats: RunStats) -> list[GroupScore]:
    """scoring.breakdown's rule on aggregates: small groups hidden, plus one more if only one is."""
    limit = survey.anonymity.scores
    groups = {name: group for name, group in stats.groups.items() if group.scored > 0}
    hidden = {name for name, group in groups.items() if group.scored < limit}
    if len(hidden) == 1:
        visible = sorted(
            (group.scored, name) for name, group in groups.items() if name not in hidden
        )
        if visible:
            hidden.add(visible[0][1])
    return [
        _score(survey, name, group, hide=name in hidden) for name, group in sorted(groups.items())
    ]


def _assemble(
    survey: Survey,
    run: RunLike | None,
    *,
    by: str,
    respondents: int,
    everyone: GroupScore,
    stages: dict[str, float | None],
    groups: list[GroupScore],
    comments: list[str] | None,
    previous: Report | None,
    analyzer: Labeller | None,
    participation: tuple[int, int] | None,
) -> Report:
    sentiment = None
    if comments is not None:
        labeller = analyzer or _default_analyzer()
        counts = Counter(labeller.label(text) for text in comments)
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
        respondents=respondents,
        score_threshold=survey.anonymity.scores,
        comment_threshold=survey.anonymity.comments,
        overall=everyone,
        stages=stages,
        barrier=barrier_point(stages),
        groups=groups,
        sentiment=sentiment,
        comments=list(comments or []),
        previous_run_id=previous.run_id if previous else None,
        previous_due_date=previous.due_date if previous else None,
        resistance_delta=_delta(everyone.resistance, previous.resistance if previous else None),
        confidence_delta=_delta(everyone.confidence, previous.confidence if previous else None),
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
    return f"<{threshold}" if group.suppressed and group.n < threshold else str(group.n)


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
        f"By {report.by} (groups under {report.score_threshold} are hidden, "
        "and one more when only one is):"
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
            f"Comments are shown only for groups of {report.comment_threshold} or more; "
            "none is that large yet."
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
    """Aggregates only: one row for everyone and one per group, never a row per person."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
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

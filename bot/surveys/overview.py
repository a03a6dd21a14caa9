"""What HR may see of one survey in the web console, decided here and nowhere else.

The console renders an `Overview` and never filters, hides or recomputes a figure itself:
which runs show results, which heatmap cells are hidden and how they are labelled,
which comments are released, all come from this module and bot.surveys.reports. Every
page, export and query parameter goes through `PulseOverview.overview`, so a crafted
URL can only ask for what this function is willing to give.

The reports decide (bot.surveys.suppression): an open run is participation only; a
closed run shows a group only when it is a union of the run's blocks, and comments from
the whole run or not at all. On top of that, for the heatmap:
- a published group's ADKAR stage means are shown under the same union-of-blocks rule,
  and a stage only when every block has it answered by at least the threshold or by
  nobody (`group_stages`), so no subtraction between cells reaches below a block;
- a hidden group is labelled "fewer than 5" only when that is certain, else "hidden".
Closed runs no longer change, so their reports are kept in memory (per grouping and
survey definition); an open run is read afresh each time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import reduce
from threading import Lock

from bot.surveys.definitions import ADKAR_STAGES, DIMENSIONS, Survey
from bot.surveys.reports import EVERYONE, Report, alerts, report_from_cells
from bot.surveys.runs import CLOSED, Run, SurveyRuns
from bot.surveys.sentiment import Labeller
from bot.surveys.suppression import (
    ATTRIBUTES,
    GROUP_DIMENSIONS,
    Cell,
    partition,
    publishable,
    shown_dimensions,
)
from bot.surveys.themes import ThemeFinder, Themes, text_questions

GROUPINGS = ATTRIBUTES  # department, team, location
CACHED_REPORTS = 64
OPEN_COUNTS_FOR = 60.0  # seconds an open run's participation figures are reused


@dataclass(frozen=True)
class RunRow:
    """One run in the participation table; `results` is False while it is open."""

    run: Run
    invited: int
    answered: int

    @property
    def participation(self) -> float | None:
        return self.answered / self.invited if self.invited else None

    @property
    def results(self) -> bool:
        return self.run.status == CLOSED


@dataclass(frozen=True)
class TrendPoint:
    run_id: int
    due_date: dt.date
    resistance: float | None
    confidence: float | None
    resistance_delta: float | None
    confidence_delta: float | None


@dataclass(frozen=True)
class HeatCell:
    """One heatmap cell: a figure, or `hidden` saying why there is none."""

    value: float | None  # 0-100 for the two indices, 1-5 for an ADKAR stage
    hidden: str | None = None
    stage: bool = False  # a 1-5 stage mean rather than a 0-100 index

    @property
    def text(self) -> str:
        if self.hidden:
            return self.hidden
        if self.value is None:
            return "no answers"
        return f"{self.value:.1f}" if self.stage else f"{self.value:.0f}"


@dataclass(frozen=True)
class HeatRow:
    group: str
    size: str  # "12", or "fewer than 5" / "hidden" for a hidden group (never its exact size)
    cells: dict[str, HeatCell]
    hidden: bool


@dataclass(frozen=True)
class Overview:
    survey: Survey
    by: str
    runs: list[RunRow]
    run: Run | None  # the run shown (None: the survey has not run yet)
    report: Report | None  # None while the shown run is open
    trend: list[TrendPoint]
    heatmap: list[HeatRow]
    alerts: list[str] = field(default_factory=list)
    themes: Themes | None = None  # None: no theme finder, or the run is open

    @property
    def dimensions(self) -> tuple[str, ...]:
        return DIMENSIONS

    @property
    def shown_row(self) -> RunRow | None:
        return next((row for row in self.runs if self.run and row.run.id == self.run.id), None)


class PulseOverview:
    """The Pulse pages' one way into survey results.

    Args:
        runs: the stored runs and their aggregates.
        surveys: the current survey definitions by id.
        analyzer: labels released comments (default: the reports' VADER analyzer).
        themes: groups the released comments into themes (None: no themes section).
        rise_points, min_participation: the HR alert rules (as in Slack's alerts).
    """

    def __init__(
        self,
        *,
        runs: SurveyRuns,
        surveys: Callable[[], Mapping[str, Survey]],
        rise_points: float,
        min_participation: float,
        analyzer: Labeller | None = None,
        rng: Callable[[], random.Random] = random.Random,
        themes: ThemeFinder | None = None,
    ) -> None:
        self.runs = runs
        self.theme_finder = themes
        self._surveys = surveys
        self.analyzer = analyzer
        self.rise_points = rise_points
        self.min_participation = min_participation
        self._rng = rng
        self._cache: OrderedDict[tuple, tuple] = OrderedDict()
        self._counts: dict[tuple, tuple[tuple[int, int], float]] = {}
        self._lock = Lock()

    def surveys(self) -> list[Survey]:
        return sorted(self._surveys().values(), key=lambda survey: survey.title.lower())

    def survey(self, survey_id: str) -> Survey:
        survey = self._surveys().get(survey_id)
        if survey is None:
            raise LookupError(f"No survey '{survey_id}'.")
        return survey

    def overview(
        self, survey_id: str, *, run_id: int | None = None, by: str = "department"
    ) -> Overview:
        """Everything the Pulse page shows for one survey, run and grouping.

        Raises:
            LookupError: no such survey, or `run_id` is not a run of it.
            ValueError: `by` is not department, team or location.
        """
        if by not in GROUPINGS:
            raise ValueError(f"Group by one of {', '.join(GROUPINGS)}.")
        survey = self.survey(survey_id)
        stored = self.runs.runs(survey.id)  # oldest first
        rows = [RunRow(run, *self._participation(run)) for run in stored]
        if run_id is not None:
            run = next((r for r in stored if r.id == run_id), None)
            if run is None:
                raise LookupError(f"Run {run_id} is not a run of '{survey.id}'.")
        else:
            closed = [r for r in stored if r.status == CLOSED]
            run = closed[-1] if closed else (stored[-1] if stored else None)
        closed_runs = [r for r in stored if r.status == CLOSED]
        summaries = [(r, self._report(survey, r, by, full=False)) for r in closed_runs]
        trend = _trend(summaries)
        if run is None or run.status != CLOSED:
            return Overview(survey, by, rows, run, None, trend, [])
        previous = _before(summaries, run)
        report, cells = self._report(survey, run, by, full=True, previous=previous)
        shuffled = list(report.comments)
        self._rng().shuffle(shuffled)
        report = _with_comments(report, shuffled)
        found = alerts(
            report,
            previous[0] if previous else None,
            rise_points=self.rise_points,
            min_participation=self.min_participation,
        )
        themes = self._themes(survey, report, previous_run=_run_before(closed_runs, run))
        heatmap = _heatmap(survey, report, cells)
        return Overview(survey, by, rows, run, report, trend, heatmap, found, themes)

    def _themes(self, survey: Survey, report: Report, previous_run: Run | None) -> Themes | None:
        """Themes of exactly the comments the report released (whole run, never per group)."""
        if self.theme_finder is None:
            return None
        previous = None
        if previous_run is not None:
            previous = self.theme_finder.for_run(self.runs, survey, previous_run)
        return self.theme_finder.find(
            report.comments if report.sentiment is not None else None,
            threshold=report.comment_threshold,
            per_respondent=text_questions(survey),
            previous=previous,
        )

    def export_csv(self, overview: Overview) -> str:
        """The page's figures as CSV: participation per run, the heatmap, never a person."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["survey", overview.survey.id])
        writer.writerow([])
        writer.writerow(["run", "due date", "status", "invited", "answered", "participation"])
        for row in overview.runs:
            share = "" if row.participation is None else f"{row.participation:.3f}"
            writer.writerow(
                [row.run.id, row.run.due_date, row.run.status, row.invited, row.answered, share]
            )
        if overview.report is None:
            return buffer.getvalue()
        writer.writerow([])
        writer.writerow([f"run {overview.run.id} by {overview.by}", "respondents", *DIMENSIONS])
        for heat in overview.heatmap:
            cells = [heat.cells[d].text for d in DIMENSIONS]
            writer.writerow([_cell(heat.group), heat.size, *cells])
        return buffer.getvalue()

    # -- reports, cached for closed runs ----------------------------------------------------
    def _participation(self, run: Run) -> tuple[int, int]:
        """(invited, answered): kept for a closed run, at most OPEN_COUNTS_FOR old for an
        open one (the counts are two COUNTs over its invitations and its responses)."""
        key = ("participation", run.id)
        now = time.monotonic()
        with self._lock:
            found = self._counts.get(key)
        if found is not None and (run.status == CLOSED or now - found[1] < OPEN_COUNTS_FOR):
            return found[0]
        counts = self.runs.participation(run.id)
        with self._lock:
            self._counts[key] = (counts, now)
        return counts

    def _report(self, survey: Survey, run: Run, by: str, *, full: bool, previous=None):
        key = (run.id, by, full, survey.model_dump_json(), previous[0].run_id if previous else None)
        if run.status == CLOSED:
            with self._lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
        dimensions = DIMENSIONS if full else GROUP_DIMENSIONS
        cells = self.runs.cells(survey, run.id, dimensions=dimensions, comments=full)
        report = report_from_cells(
            survey,
            run,
            cells,
            by,
            previous[0] if previous else None,
            analyzer=self.analyzer,
            participation=self._participation(run),
            comments=full,
        )
        value = (report, cells) if full else report
        if run.status == CLOSED:
            with self._lock:
                self._cache[key] = value
                while len(self._cache) > CACHED_REPORTS:
                    self._cache.popitem(last=False)
        return value


def _before(summaries: list[tuple[Run, Report]], run: Run):
    earlier = [(r, report) for r, report in summaries if r.due_date < run.due_date]
    return (earlier[-1][1],) if earlier else None


def _run_before(closed: list[Run], run: Run) -> Run | None:
    earlier = [r for r in closed if r.due_date < run.due_date]
    return earlier[-1] if earlier else None


def _trend(summaries: list[tuple[Run, Report]]) -> list[TrendPoint]:
    points = []
    previous: Report | None = None
    for run, report in summaries:
        points.append(
            TrendPoint(
                run.id,
                run.due_date,
                report.resistance,
                report.confidence,
                _delta(report.resistance, previous.resistance if previous else None),
                _delta(report.confidence, previous.confidence if previous else None),
            )
        )
        previous = report
    return points


def _delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def _with_comments(report: Report, comments: list[str]) -> Report:
    from dataclasses import replace

    return replace(report, comments=comments)


def _heatmap(survey: Survey, report: Report, cells: list[Cell]) -> list[HeatRow]:
    limit = survey.anonymity.scores
    small = f"fewer than {limit}"
    stages = group_stages(survey, cells, report.by)
    rows = [_everyone(report, small)]
    for group in report.groups:
        if group.suppressed:
            # Never a hidden group's size: "fewer than 5" only when that is certain.
            label = small if group.small else "hidden"
            cells_ = {d: HeatCell(None, label) for d in DIMENSIONS}
            rows.append(HeatRow(group.name, label, cells_, hidden=True))
            continue
        figures = {
            "resistance": _shown(group.resistance),
            "confidence": _shown(group.confidence),
        }
        for stage in ADKAR_STAGES:
            mean = stages.get(group.name, {}).get(stage)
            figures[stage] = _shown(mean, stage=True)
        rows.append(HeatRow(group.name, str(group.n), figures, hidden=False))
    return rows


def group_stages(survey: Survey, cells: list[Cell], by: str) -> dict[str, dict[str, float | None]]:
    """ADKAR stage means (1..5) of every published group of `by`, from the run's blocks.

    The reports publish a group's Resistance and Confidence only when the group is a union
    of the run's blocks (bot.surveys.suppression). Stage means follow the same rule, and a
    stage is shown per group only when every block has it answered by at least the
    threshold or by nobody: then each stage figure, and any difference between two of
    them (a group and everyone, two groupings), is a sum over whole blocks, as the
    partition guarantees for the two indices. Otherwise the stage is hidden in every group.
    """
    limit = survey.anonymity.scores
    blocks = partition(cells, limit)
    if not blocks or any(block.scored < limit for block in blocks):
        return {}
    shown = shown_dimensions(cells, limit)
    safe = {
        stage
        for stage in ADKAR_STAGES
        if stage in shown
        and all(b.counts.get(stage, 0) == 0 or b.counts.get(stage, 0) >= limit for b in blocks)
    }
    position = ATTRIBUTES.index(by)
    found = {}
    for value in sorted({v for block in blocks for v in block.labels[position]}):
        if not publishable(blocks, by, value):
            continue
        group = reduce(Cell.__add__, [b for b in blocks if value in b.labels[position]])
        found[value] = {
            stage: group.mean(stage) if stage in safe else None for stage in ADKAR_STAGES
        }
    return found


def _everyone(report: Report, small: str) -> HeatRow:
    """The first row: everyone together, from the report's overall figures and stages."""
    if report.overall.suppressed:
        return HeatRow(EVERYONE, small, {d: HeatCell(None, small) for d in DIMENSIONS}, hidden=True)
    cells = {
        "resistance": _shown(report.resistance),
        "confidence": _shown(report.confidence),
        **{stage: _shown(report.stages.get(stage), stage=True) for stage in ADKAR_STAGES},
    }
    return HeatRow(EVERYONE, str(report.overall.n), cells, hidden=False)


def _shown(value: float | None, *, stage: bool = False) -> HeatCell:
    """A figure, or a greyed "not shown" where the rules withhold it (too few answers)."""
    return HeatCell(value, stage=stage) if value is not None else HeatCell(None, "not shown")


def _cell(text: str) -> str:
    # A group name that a spreadsheet would run as a formula.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


__all__ = ["EVERYONE", "HeatCell", "HeatRow", "Overview", "PulseOverview", "RunRow", "TrendPoint"]

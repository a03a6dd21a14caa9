"""Pulse pages for HR: participation, trend, ADKAR profile, heatmap, comments, alerts, CSV.

Every figure comes from bot.surveys.overview; the query string only chooses a survey,
a run and a grouping, and all three go through that one domain call, the CSV too.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.console import charts
from bot.console.deps import HR
from bot.console.web import href, not_found, page, render
from bot.surveys.definitions import ADKAR_STAGES
from bot.surveys.scoring import BARRIER_AT
from bot.surveys.sentiment import LABELS

RESISTANCE_COLOUR, CONFIDENCE_COLOUR = "#b42318", "#1f5fa8"


@page(HR)
def pulse_index(request: Request, deps, viewer) -> Response:
    surveys = deps.pulse.surveys()
    if len(surveys) == 1:
        return RedirectResponse(href(request, f"/pulse/{surveys[0].id}"), 303)
    return render(request, "pulse_index.html", viewer=viewer, surveys=surveys)


def _chosen(request: Request, deps, viewer):
    """The overview for the survey, run and grouping in the URL, or an error page."""
    survey_id = request.path_params["survey_id"]
    raw_run = request.query_params.get("run", "")
    by = request.query_params.get("by", "department")
    if raw_run and not raw_run.isdigit():
        return None, not_found(request, viewer, "There is no such run.", 400)
    try:
        overview = deps.pulse.overview(survey_id, run_id=int(raw_run) if raw_run else None, by=by)
    except LookupError as missing:
        return None, not_found(request, viewer, str(missing))
    except ValueError as wrong:
        return None, not_found(request, viewer, str(wrong), 400)
    return overview, None


@page(HR)
def pulse_survey(request: Request, deps, viewer) -> Response:
    overview, problem = _chosen(request, deps, viewer)
    if problem is not None:
        return problem
    labels = [str(point.due_date) for point in overview.trend]
    trend = charts.line_chart(
        labels,
        [
            charts.Series(
                "Resistance",
                [p.resistance for p in overview.trend],
                RESISTANCE_COLOUR,
                "",
                "circle",
            ),
            charts.Series(
                "Confidence",
                [p.confidence for p in overview.trend],
                CONFIDENCE_COLOUR,
                "7 4",
                "square",
            ),
        ],
        title="Resistance and Confidence over closed runs (0-100)",
    )
    participation = charts.bar_chart(
        [
            (
                str(row.run.due_date),
                100 * (row.participation or 0),
                0,
                "—" if row.participation is None else f"{row.participation:.0%}",
            )
            for row in overview.runs
        ],
        title="Participation by run (% of invited who answered)",
        top=100,
    )
    report = overview.report
    profile = None
    if report is not None and not report.overall.suppressed:
        profile = charts.profile_chart(
            {stage: report.stages.get(stage) for stage in ADKAR_STAGES},
            barrier=report.barrier,
            at=BARRIER_AT,
        )
    return render(
        request,
        "pulse.html",
        viewer=viewer,
        o=overview,
        report=report,
        trend_chart=trend,
        participation_chart=participation,
        profile_chart=profile,
        labels=LABELS,
        barrier_at=BARRIER_AT,
        groupings=("department", "team", "location"),
        heat_class=heat_class,
        export=href(
            request,
            f"/pulse/{overview.survey.id}/export.csv",
            run=overview.run.id if overview.run else None,
            by=overview.by,
        ),
    )


@page(HR)
def pulse_export(request: Request, deps, viewer) -> Response:
    overview, problem = _chosen(request, deps, viewer)
    if problem is not None:
        return problem
    run = f"-{overview.run.due_date}" if overview.run else ""
    name = f"{overview.survey.id}{run}-by-{overview.by}.csv"
    return Response(
        deps.pulse.export_csv(overview),
        media_type="text/csv; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{name}"',
            "cache-control": "no-store",
        },
    )


def heat_class(dimension: str, value: float | None) -> str:
    """A colour band for a shown figure; the figure itself is always printed in the cell."""
    if value is None:
        return "heat-none"
    if dimension == "resistance":
        badness = value / 100
    elif dimension == "confidence":
        badness = 1 - value / 100
    else:
        badness = (5 - value) / 4
    return f"heat-{min(4, max(0, int(badness * 5)))}"

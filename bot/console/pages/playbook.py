"""The Playbook page for the change team: what people ask, how well it is answered, and
what the index holds (documents, the last ingest, files passed over and why)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.console import charts
from bot.console.deps import CHANGE_TEAM
from bot.console.web import page, render

WEEKS = 12
DAYS = 90


@page(CHANGE_TEAM)
def playbook(request: Request, deps, viewer) -> Response:
    weeks = deps.questions.weekly(WEEKS)
    most_asked, unanswered = deps.questions.top_questions(days=DAYS)
    chart = charts.bar_chart(
        [
            (f"{week.start:%d %b}", week.answered, week.asked - week.answered, str(week.asked))
            for week in weeks
        ],
        title="Questions per week: answered (solid) and not answered (hatched)",
    )
    return render(
        request,
        "playbook.html",
        viewer=viewer,
        weeks=weeks,
        weekly_chart=chart,
        shares=deps.questions.shares(DAYS),
        most_asked=most_asked,
        unanswered=unanswered,
        documents=deps.documents_indexed(),
        ingest=deps.ingest_log.latest(),
        days=DAYS,
    )

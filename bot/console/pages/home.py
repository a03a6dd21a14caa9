"""The first page after signing in: what this person can look at, and what to do first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.console.web import page, render


@page()
def home(request: Request, deps, viewer) -> Response:
    surveys = deps.pulse.surveys()
    people = deps.directory.active_count()
    updates = deps.broadcasts.recent(limit=1)
    return render(
        request,
        "home.html",
        viewer=viewer,
        surveys=surveys,
        people=people,
        has_updates=bool(updates),
        documents=deps.documents_indexed(),
    )

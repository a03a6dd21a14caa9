"""Updates pages for leaders and HR: delivery, acknowledgements over time, questions asked;
Remind / Edit / Recall through the same broadcast service as the Slack buttons.

HR can look; only leaders act (as in Slack), and the service decides what an action may
do to an update (status, a reminder a day, who may change it).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bot.console import charts
from bot.console.deps import HR, LEADER
from bot.console.web import action, display_name, not_found, page, render

RECENT = 20


def audience_text(audience) -> list[str]:
    """The audience as chosen, in words (not Slack markup)."""
    parts = [f"channel {channel}" for channel in audience.channels]
    parts += [f"user group {group}" for group in audience.usergroups]
    parts += [f"department {name}" for name in audience.departments]
    if audience.everyone:
        parts.append("everyone (by DM)")
    return parts or ["nobody"]


@page(LEADER, HR)
def updates_index(request: Request, deps, viewer) -> Response:
    recent = deps.broadcasts.recent(limit=RECENT)
    figures = deps.broadcasts.stats_of([u.id for u in recent])
    rows = [(u, figures[u.id]) for u in recent]
    scheduled = deps.broadcasts.scheduled()
    return render(
        request,
        "updates.html",
        viewer=viewer,
        rows=rows,
        scheduled=scheduled,
        author=lambda user: display_name(deps, user),
        audience_text=audience_text,
    )


def _update(request: Request, deps, viewer):
    raw = request.path_params["update_id"]
    try:
        return deps.broadcasts.get(int(raw)), None
    except (ValueError, LookupError):
        return None, not_found(request, viewer, "There is no such update.")


def _detail(
    request: Request, deps, viewer, update, *, said: str = "", status: int = 200, form=None
):
    stats = deps.broadcasts.stats(update.id)
    acks = sorted(deps.broadcasts.acknowledgements(update.id).values())
    start = update.sent_at or update.created_at
    points = [(max(0.0, (at - start).total_seconds() / 3600), n + 1) for n, at in enumerate(acks)]
    chart = charts.step_chart(
        points,
        total=stats.delivered_dms,
        title="Acknowledgements over time (people who got a DM)",
        unit="hours",
    )
    return render(
        request,
        "update.html",
        viewer=viewer,
        status=status,
        u=update,
        stats=stats,
        ack_chart=chart,
        questions=deps.questions.update_questions(update.id),
        author=display_name(deps, update.author),
        edited_by=display_name(deps, update.edited_by or ""),
        audience=audience_text(update.audience),
        can_act=LEADER in viewer.roles and deps.broadcasts.may_change(update, viewer.user_id),
        is_leader=LEADER in viewer.roles,
        said=said,
        form=form or {"title": update.title, "body": update.body},
    )


@page(LEADER, HR)
def update_detail(request: Request, deps, viewer) -> Response:
    update, problem = _update(request, deps, viewer)
    return problem or _detail(request, deps, viewer, update)


def _after(request, deps, viewer, update_id: int, outcome, form=None) -> Response:
    update = deps.broadcasts.get(update_id)
    status = 200 if outcome.done else 409
    return _detail(request, deps, viewer, update, said=outcome.message, status=status, form=form)


@action(LEADER)
def update_remind(request: Request, deps, viewer, form) -> Response:
    update, problem = _update(request, deps, viewer)
    if problem:
        return problem
    outcome = deps.broadcasts.remind(update.id, viewer.user_id)
    return _after(request, deps, viewer, update.id, outcome)


@action(LEADER)
def update_edit(request: Request, deps, viewer, form) -> Response:
    update, problem = _update(request, deps, viewer)
    if problem:
        return problem
    title, body = form.get("title", ""), form.get("body", "")
    outcome = deps.broadcasts.edit(update.id, viewer.user_id, title=title, body=body)
    kept = None if outcome.done else {"title": title, "body": body}
    return _after(request, deps, viewer, update.id, outcome, form=kept)


@action(LEADER)
def update_recall(request: Request, deps, viewer, form) -> Response:
    update, problem = _update(request, deps, viewer)
    if problem:
        return problem
    if form.get("confirm") != "yes":
        return _detail(
            request,
            deps,
            viewer,
            update,
            said="Tick “Yes, delete every copy” to recall the update.",
            status=400,
        )
    outcome = deps.broadcasts.recall(update.id, viewer.user_id)
    return _after(request, deps, viewer, update.id, outcome)

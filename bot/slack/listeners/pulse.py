"""`/pulse` for HR: results, status, preview, send-now, export. Everyone else is refused."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.slack import survey_blocks as kit
from bot.slack.escaping import escape
from bot.slack.listeners.console import send_console_link
from bot.slack.listeners.replies import open_dm

log = logging.getLogger(__name__)

USAGE = (
    "`/pulse results [survey] [by department|team|location]` · `/pulse status` · "
    "`/pulse preview <survey>` · `/pulse send-now <survey>` · `/pulse export [survey]` · "
    "`/pulse console` (a sign-in link for the web console)"
)
GROUPINGS = ("department", "team", "location")


def register(app: App, container) -> None:
    role = container.hr_role

    @app.command("/pulse", middleware=[role.middleware()])
    def handle_pulse_command(ack, command, client):
        words = (command.get("text") or "").split()
        action = words[0].lower() if words else ""
        handlers = {
            "results": pulse_results,
            "status": pulse_status,
            "preview": pulse_preview,
            "send-now": pulse_send_now,
            "export": pulse_export,
            "console": pulse_console,
        }
        if action not in handlers:
            ack(text=f"Try one of: {USAGE}")
            return
        if action in {"results", "export"}:
            ack(text="Working on it…")
        else:
            ack()
        message = handlers[action](container, client, command["user_id"], words[1:])
        if message:
            client.chat_postEphemeral(
                channel=command["channel_id"], user=command["user_id"], text=message
            )


def pulse_console(container, client, user_id, words) -> str:
    return send_console_link(container, client, user_id, page="/pulse")


def _survey(container, words):
    """(survey or None, grouping, what to say when no survey was named or found)."""
    loaded = container.surveys().surveys
    rest = words
    if words and words[0] not in {"by", *GROUPINGS}:
        survey, rest = loaded.get(words[0]), words[1:]
    else:
        survey = next(iter(loaded.values())) if len(loaded) == 1 else None
    by = rest[-1] if rest and rest[-1] in GROUPINGS else "department"
    missing = "Which survey? " + escape(", ".join(loaded) or "none is defined")
    return survey, by, missing


def pulse_results(container, client, user_id, words) -> str:
    from bot.surveys.charts import trend_chart_png
    from bot.surveys.reports import load_report, render_text, trend

    survey, by, missing = _survey(container, words)
    if survey is None:
        return missing
    runs = container.survey_runs
    # An open run shows participation only (its figures would move with each answer);
    # the full report is the latest closed run's.
    shown = [run for run in (runs.open_run(survey.id), runs.latest_closed_run(survey.id)) if run]
    if not shown:
        return f"{escape(survey.title)} has not run yet."
    texts = []
    for run in shown:
        previous = runs.previous_closed_run(survey.id, run.id)
        texts.append(render_text(load_report(runs, survey, run, by=by, previous_run=previous)))
        if run.status == "closed":
            texts.append(_themes_text(container, survey, run, previous))
    history = [
        (r, load_report(runs, survey, r, with_comments=False))
        for r in runs.runs(survey.id)
        if r.status == "closed"
    ]
    channel = open_dm(client, user_id)
    client.chat_postMessage(channel=channel, **kit.report_message("\n".join(texts)))
    points = trend(survey.id, history)
    if points:
        client.files_upload_v2(
            channel=channel,
            content=trend_chart_png(points, survey.title),
            filename=f"{survey.id}-trend.png",
            title=f"{survey.title}: Resistance and Confidence over time",
        )
    return "I sent the results to you in a direct message."


def _themes_text(container, survey, run, previous) -> str:
    """The run's top themes (whole run only, see bot.surveys.themes), or why there are none."""
    from bot.knowledge.embeddings import EmbeddingModelError
    from bot.surveys.themes import render_text as render_themes

    try:
        themes = container.theme_finder.for_run(container.survey_runs, survey, run, previous)
    except EmbeddingModelError as exc:
        log.error("Themes of run %s not computed: %s", run.id, exc)
        return "Themes: not available, the embedding model could not be loaded (see the log).\n"
    return render_themes(themes)


def pulse_status(container, client, user_id, words) -> str:
    lines = []
    for survey in container.surveys().surveys.values():
        run = container.survey_runs.open_run(survey.id)
        if run is None:
            continue
        counts = container.outbox.counts(f"pulse-{run.id}")
        status = container.survey_runs.status(run.id)
        lines.append(
            f"*{escape(survey.title)}* (due {run.due_date}, "
            f"closes {run.closes_at:%d %b %H:%M} UTC): "
            f"{counts.get('sent', 0)} sent, {counts.get('failed', 0)} failed, "
            f"{counts.get('pending', 0) + counts.get('sending', 0)} waiting, "
            f"{status.get('answered', 0)} answered of {status.get('invited', 0)} invited"
        )
    return "\n".join(lines) or "No pulse survey is open right now."


def pulse_preview(container, client, user_id, words) -> str:
    survey, _, missing = _survey(container, words)
    if survey is None:
        return missing
    client.chat_postMessage(
        channel=open_dm(client, user_id),
        text=f"Preview of {escape(survey.title)}",
        blocks=kit.preview_blocks(survey),
    )
    return "I sent you a preview in a direct message (nothing was sent to anyone else)."


def pulse_send_now(container, client, user_id, words) -> str:
    survey, _, missing = _survey(container, words)
    if survey is None:
        return missing
    run, created = container.pulse_planner.send_now(survey)
    if run is None:
        return (
            f"Nobody is in the audience of {escape(survey.title)}; run `changebot directory sync`."
        )
    if not created:
        title = escape(survey.title)
        return f"{title} already has a run for today (due {run.due_date}); not sent twice."
    log.info("HR %s started %s now (run %s)", user_id, survey.id, run.id)
    return f"Started {escape(survey.title)}: the invitations are on their way."


def pulse_export(container, client, user_id, words) -> str:
    from bot.surveys.reports import export_csv, load_report

    survey, by, missing = _survey(container, words)
    if survey is None:
        return missing
    runs = container.survey_runs
    run = runs.latest_closed_run(survey.id) or runs.open_run(survey.id)
    if run is None:
        return f"{escape(survey.title)} has not run yet."
    report = load_report(runs, survey, run, by=by, with_comments=False)
    client.files_upload_v2(
        channel=open_dm(client, user_id),
        content=export_csv(report).encode("utf-8"),
        filename=f"{survey.id}-{run.due_date}-by-{by}.csv",
        title=f"{survey.title} {run.due_date}: aggregates by {by}",
    )
    return "I sent the CSV (aggregates only) to you in a direct message."

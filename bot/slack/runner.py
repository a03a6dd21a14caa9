"""Starting the Slack app: Socket Mode by default, HTTP on request."""

from __future__ import annotations

import logging

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

HOW_TO = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…): your app's page > OAuth & Permissions",
    "SLACK_APP_TOKEN": (
        "an App-Level Token (xapp-…) with the connections:write scope: your app's page > "
        "Basic Information > App-Level Tokens"
    ),
    "SLACK_SIGNING_SECRET": "the Signing Secret: your app's page > Basic Information",
}


def missing_credentials(settings, *, http: bool) -> list[str]:
    needed = {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_SIGNING_SECRET" if http else "SLACK_APP_TOKEN": (
            settings.slack_signing_secret if http else settings.slack_app_token
        ),
    }
    return [name for name, value in needed.items() if not value]


SURVEY_SECRET_MISSING = (
    "CHANGEBOT_SURVEY_SECRET is not set. It keys the pseudonymous survey respondent key "
    "(HMAC of run and person), so that someone's second answer replaces their first; in "
    "HTTP mode every replica must use the same one, and a secret generated per process "
    "would not be. Generate one with "
    '`python -c "import secrets; print(secrets.token_hex(32))"` and set it in the '
    "environment of every replica (not in the data dir: its backups would hold the key)."
)


CONSOLE_SECRET_MISSING = (
    "CHANGEBOT_CONSOLE_SECRET is not set. It signs the console's sign-in links; in HTTP mode "
    "a link DMed by one replica must open on every other, and a secret generated per process "
    "would not. Generate one with "
    '`python -c "import secrets; print(secrets.token_hex(32))"` and set it in the '
    "environment of every replica."
)


def survey_secret_problem(settings, *, http: bool) -> str | None:
    """HTTP mode (the multi-replica deployment) needs both secrets from the environment."""
    if not http:
        return None
    if not settings.survey_secret:
        return SURVEY_SECRET_MISSING
    if not settings.console_secret:
        return CONSOLE_SECRET_MISSING
    return None


def warm_up(container) -> None:
    """Load the model and the keyword index before the first question arrives."""
    container.retriever.refresh()
    container.embeddings.embed_query("warm up")


_CONTAINER = None  # the running container, for jobs kept in the persistent job store


def pulse_tick() -> None:
    """Scheduled every minute (persisted in the job store): plan, remind, close surveys."""
    if _CONTAINER is not None:
        _CONTAINER.pulse_planner.tick()


def send_scheduled_broadcast(broadcast_id: int) -> None:
    """A scheduled update's job (persisted in the job store, so it survives restarts)."""
    if _CONTAINER is not None:
        _CONTAINER.broadcasts.send(broadcast_id)


def broadcasts_due() -> None:
    """Every minute: send any scheduled update whose job was lost (a safety net)."""
    if _CONTAINER is not None:
        _CONTAINER.broadcasts.send_due()


def purge() -> None:
    """Scheduled hourly: every retention rule (bot.retention), handled event ids included."""
    if _CONTAINER is not None:
        _CONTAINER.retention.purge()


def gaps_digest() -> None:
    """Weekly: the knowledge gaps in the change-team channel (bot.slack.listeners.gaps)."""
    # A job stored before the digest was switched off finds it off here and does nothing.
    if _CONTAINER is not None and digest_schedule(_CONTAINER.settings) is not None:
        from bot.slack.listeners.gaps import post_digest

        post_digest(_CONTAINER)


def digest_schedule(settings) -> dict | None:
    """The digest's cron fields from Settings; None when it is off (or has no channel)."""
    if not settings.change_team_channel or settings.gaps_digest_day == "off":
        return None
    hour, minute = settings.gaps_digest_time.split(":")
    return {"day_of_week": settings.gaps_digest_day, "hour": int(hour), "minute": int(minute)}


RECURRING = (
    ("pulse-tick", "bot.slack.runner:pulse_tick", {"minutes": 1}),
    ("broadcasts-due", "bot.slack.runner:broadcasts_due", {"minutes": 1}),
    ("purge", "bot.slack.runner:purge", {"hours": 1}),
)


def schedule_recurring(scheduler, settings=None) -> None:
    """The recurring jobs, added (or kept) in the shared job store by the leader; the
    weekly gaps digest follows the settings (added, moved or removed)."""
    for job_id, func, interval in RECURRING:
        if scheduler.get_job(job_id) is None:
            scheduler.add_job(func, "interval", id=job_id, replace_existing=True, **interval)
    digest = digest_schedule(settings) if settings is not None else None
    if digest is not None:
        scheduler.add_job(
            "bot.slack.runner:gaps_digest",
            "cron",
            timezone="UTC",
            id="gaps-digest",
            replace_existing=True,
            **digest,
        )
    elif settings is not None and scheduler.get_job("gaps-digest") is not None:
        try:
            scheduler.remove_job("gaps-digest")
        except JobLookupError:  # another replica removed it first
            pass


def start_housekeeping(container) -> BackgroundScheduler:
    """The delivery worker (every replica) and the scheduler (jobs run by the lease holder).

    Every replica's scheduler starts paused on the shared job store; whichever holds the
    scheduler lease (bot/scheduling.py) adds the recurring jobs, purges once, and runs the
    jobs until it stops or loses the lease.
    """

    global _CONTAINER
    _CONTAINER = container
    scheduler = container.scheduler
    scheduler.on_lead.append(lambda: schedule_recurring(scheduler, container.settings))
    scheduler.on_lead.append(purge)
    scheduler.start()
    container.delivery_worker.start()
    return scheduler


def run_socket_mode(container) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack.app import build_app

    app = build_app(container)
    warm_up(container)
    start_housekeeping(container)
    log.info("Connecting to Slack in Socket Mode")
    SocketModeHandler(app, container.settings.slack_app_token).start()


def http_front_door(app, settings, *, console=None):
    """The ASGI app for HTTP mode, with the request limits from Settings: Slack's endpoint,
    /health, and `console` (the web console's app) mounted at /console when given."""
    from starlette.routing import Mount

    from bot.console.app import MOUNT
    from bot.slack.http import SlackHttpApp

    return SlackHttpApp(
        app,
        signing_secret=settings.slack_signing_secret or "",
        max_body=settings.http_max_body_bytes,
        body_timeout=settings.http_body_timeout,
        mounts=[Mount(MOUNT, console)] if console is not None else (),
    )


def uvicorn_config(asgi, settings, *, host: str = "0.0.0.0", port: int = 0, log_level="info"):
    """uvicorn with the connection limits from Settings: at most `http_max_connections`
    at once (503 beyond), idle keep-alive connections closed after `http_keepalive_timeout`."""
    import uvicorn

    return uvicorn.Config(
        asgi,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        limit_concurrency=settings.http_max_connections,
        timeout_keep_alive=settings.http_keepalive_timeout,
    )


def run_http(container, *, port: int, host: str = "0.0.0.0") -> None:
    import uvicorn

    from bot.console.app import build_console
    from bot.slack.app import build_app

    app = build_app(container)
    warm_up(container)
    start_housekeeping(container)
    asgi = http_front_door(app, container.settings, console=build_console(container.console_deps))
    log.info("Serving Slack events on http://%s:%s/slack/events", host, port)
    log.info(
        "Web console on http://%s:%s/console (public URL %s)",
        host,
        port,
        container.settings.resolved_console_url,
    )
    uvicorn.Server(uvicorn_config(asgi, container.settings, host=host, port=port)).run()


def run_console(container, *, port: int, host: str = "127.0.0.1") -> None:
    """The web console on its own (Socket Mode deployments); no Slack events here."""
    import uvicorn

    from bot.console.app import standalone

    log.info(
        "Web console on http://%s:%s/console (public URL %s)",
        host,
        port,
        container.settings.resolved_console_url,
    )
    config = uvicorn_config(
        standalone(container.console_deps), container.settings, host=host, port=port
    )
    uvicorn.Server(config).run()

"""build_app(container) -> a Bolt App with every listener registered."""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.slack.listeners import register_listeners

log = logging.getLogger(__name__)


def make_web_client(*, token: str, base_url: str, retries: int) -> WebClient:
    """A WebClient that retries 429 (honouring Retry-After), 5xx and dropped connections."""
    client = WebClient(token=token, base_url=base_url, timeout=30)
    client.retry_handlers.extend(
        [
            RateLimitErrorRetryHandler(max_retry_count=retries),
            ServerErrorRetryHandler(max_retry_count=retries),
            ConnectionErrorRetryHandler(max_retry_count=retries),
        ]
    )
    return client


def build_app(container, *, token_verification: bool = True) -> App:
    settings = container.settings
    if not settings.slack_bot_token:
        raise ValueError("SLACK_BOT_TOKEN is not set")
    client = make_web_client(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        retries=settings.slack_retries,
    )
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        request_verification_enabled=bool(settings.slack_signing_secret),
        token_verification_enabled=token_verification,
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="answer"
        ),
        ignoring_self_events_enabled=True,
    )
    app.use(_deduplicate_events(container.question_service))
    app.error(_error_handler(container))
    register_listeners(app, container)
    # Read the HR and leader user groups now, in the background, so the first /pulse or
    # /broadcast finds them known (requests never wait for Slack's user-group list).
    container.hr_role.warm_up(client)
    container.leader_role.warm_up(client)
    return app


def _deduplicate_events(service):
    """Answer each event id once (Slack re-delivers an event it thinks failed), and act on
    each button click, modal submit and slash command once: a captured request replayed
    within Slack's 5-minute signature window is acknowledged and dropped."""

    def middleware(body, next_, logger):
        key = replay_key(body) if isinstance(body, dict) else None
        if key and not service.first_time_event(key):
            logger.info("Skipping a repeated delivery (%s)", key[:40])
            return BoltResponse(status=200, body="")
        return next_()

    middleware.__name__ = "deduplicate_events"
    return middleware


def replay_key(body: dict) -> str | None:
    """What makes one Slack request unique, or None when it has nothing that does.

    An event: its event_id. A click: who, which button and Slack's action_ts (a second real
    click has a new action_ts and trigger_id). A modal submit: the view id, its hash and the
    trigger_id of that submit (a fixed-and-resubmitted modal gets a new trigger_id). A slash
    command: its trigger_id. Long keys are hashed to fit the event-id column."""
    kind = body.get("type")
    if kind == "event_callback":
        event_id = body.get("event_id")
        return str(event_id)[:64] if event_id else None
    user = (body.get("user") or {}).get("id", "") if isinstance(body.get("user"), dict) else ""
    if kind == "block_actions":
        actions = body.get("actions") or []
        if not actions or not isinstance(actions[0], dict) or not actions[0].get("action_ts"):
            return None
        first = actions[0]
        parts = ["action", user, first.get("action_id", ""), first["action_ts"]]
        parts.append(body.get("trigger_id", ""))
    elif kind == "view_submission":
        view = body.get("view") or {}
        if not view.get("id"):
            return None
        parts = ["view", user, view["id"], view.get("hash", ""), body.get("trigger_id", "")]
    elif body.get("command") and body.get("trigger_id"):
        parts = ["command", body.get("user_id", ""), body["command"], body["trigger_id"]]
    else:
        return None
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return f"{parts[0]}:{digest[:50]}"


def _error_handler(container):
    """One place for errors: log with the stack, apologise briefly where the user is."""

    def handle_error(error, body, client, logger):
        logger.exception("Error while handling a Slack request", exc_info=error)
        where = _where(body if isinstance(body, dict) else {})
        if where is None:
            return
        channel, thread_ts, user = where
        text = container.prompts.get("slack_error").render()
        try:
            if user and channel and thread_ts is None:
                client.chat_postEphemeral(channel=channel, user=user, text=text)
            elif channel:
                client.chat_postMessage(channel=channel, thread_ts=thread_ts or None, text=text)
        except Exception:
            logger.exception("Could not send the apology either")

    return handle_error


def _where(body: dict) -> tuple[str, str | None, str | None] | None:
    """(channel, thread_ts or None for ephemeral, user) of the request that failed."""
    event = body.get("event")
    if isinstance(event, dict) and event.get("channel"):
        if event.get("channel_type") == "im" and not event.get("thread_ts"):
            return event["channel"], "", None  # DMs are answered top-level
        return event["channel"], event.get("thread_ts") or event.get("ts"), None
    if body.get("command"):
        return body.get("channel_id", ""), None, body.get("user_id")
    if body.get("type") == "block_actions":
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        user = (body.get("user") or {}).get("id")
        return (channel, None, user) if channel else None
    return None

"""build_app(container) -> a Bolt App with every listener registered."""

from __future__ import annotations

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
    return app


def _deduplicate_events(service):
    """Slack re-delivers an event it thinks failed; answer each event id once."""

    def middleware(body, next_, logger):
        event_id = body.get("event_id") if isinstance(body, dict) else None
        repeated = (
            event_id
            and body.get("type") == "event_callback"
            and not service.first_time_event(event_id)
        )
        if repeated:
            logger.info("Skipping repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return next_()

    middleware.__name__ = "deduplicate_events"
    return middleware


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

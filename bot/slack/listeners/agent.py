"""Slack's agent view: the app's Messages tab. Opening it greets a person once and suggests
questions; `app_context_changed` tells which channel they are looking at."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

PROMPTS_TITLE = "Questions people ask"
CHANNEL_ENTITY = "slack#/types/channel_id"
# What the Messages tab shows while an answer is being made (rotated by Slack).
LOADING_MESSAGES = [
    "Searching the playbook…",
    "Reading the passages that match…",
    "Checking the sources…",
]


def register(app: App, container) -> None:
    @app.event("app_context_changed")
    def handle_app_context_changed(event):
        user = event.get("user") or ""
        if user:
            container.agent_view.remember_context(user, viewed_channel(event))


def messages_tab_opened(container, client, event: dict) -> None:
    """`app_home_opened` with `tab: "messages"`: greet on the first open only, and suggest
    questions (the most asked ones once there is history, else the playbook's FAQ)."""
    user, channel = event.get("user") or "", event.get("channel") or ""
    if not user or not channel:
        return
    if container.agent_view.first_open(user):
        client.chat_postMessage(channel=channel, text=container.prompts.get("greeting").render())
    prompts = container.agent_view.prompts(container.retriever.faq_examples(4))
    if not prompts:
        return
    try:
        client.assistant_threads_setSuggestedPrompts(
            channel_id=channel, prompts=prompts, title=PROMPTS_TITLE
        )
    except SlackApiError as exc:  # a workspace without the agent view: the greeting is enough
        log.info("Suggested prompts not set: %s", exc.response.get("error"))


def viewed_channel(event: dict) -> str:
    """The first channel among the context's entities (Slack orders them by relevance)."""
    for entity in (event.get("context") or {}).get("entities") or []:
        if entity.get("type") == CHANNEL_ENTITY and isinstance(entity.get("value"), str):
            return entity["value"]
        if entity.get("type") == "slack#/types/message_context":
            value = entity.get("value") or {}
            if isinstance(value, dict) and isinstance(value.get("channel_id"), str):
                return value["channel_id"]
    return ""

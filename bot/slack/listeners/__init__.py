"""Listeners grouped by Slack surface; `register_listeners` wires them all."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import (
    actions,
    agent,
    assistant,
    broadcasts,
    commands,
    console,
    events,
    gaps,
    home,
    pulse,
    surveys,
)


def register_listeners(app: App, container) -> None:
    assistant.register(app, container)  # before events: it claims assistant-thread messages
    events.register(app, container)
    commands.register(app, container)
    actions.register(app, container)
    home.register(app, container)
    agent.register(app, container)
    surveys.register(app, container)
    pulse.register(app, container)
    broadcasts.register(app, container)
    console.register(app, container)
    gaps.register(app, container)

"""App Home: what the bot can do, example questions, the latest announcements, and for
leaders their updates with delivery and acknowledgement figures."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.blocks import console_home_blocks, home_view
from bot.slack.broadcast_blocks import leader_home_blocks
from bot.slack.listeners.agent import messages_tab_opened

HOME_RECENT = 5  # a leader's own updates shown on their App Home


def register(app: App, container) -> None:
    @app.event("app_home_opened")
    def handle_app_home_opened(event, client):
        tab = event.get("tab", "home")
        if tab == "messages":
            messages_tab_opened(container, client, event)
        elif tab == "home":
            publish_home(container, client, event["user"])


def publish_home(container, client, user: str) -> None:
    """Build and publish one person's App Home (again after a leader's action on it)."""
    retriever = container.retriever
    view = home_view(
        examples=retriever.faq_examples(5),
        announcements=retriever.documents("announcement", limit=3),
        help_channel=container.settings.help_channel,
    )
    roles = container.console_deps.roles.roles_of(user)
    if "leader" in roles:
        rows = tracking_rows(container, limit=HOME_RECENT, author=user)
        tz = container.directory.timezone(user)
        view["blocks"] += leader_home_blocks(rows, tz=tz)
    if roles:
        view["blocks"] += console_home_blocks()
    client.views_publish(user_id=user, view=view)


def tracking_rows(container, *, limit: int, author: str | None = None):
    """(update, its figures) for the most recent updates, newest first."""
    broadcasts = container.broadcasts
    recent = broadcasts.recent(author=author, limit=limit)
    figures = broadcasts.stats_of([u.id for u in recent])
    return [(u, figures[u.id]) for u in recent]

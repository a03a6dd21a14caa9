"""App Home: what the bot can do, example questions, the latest announcements, and for
leaders their updates with delivery and acknowledgement figures."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.blocks import home_view
from bot.slack.broadcast_blocks import leader_home_blocks
from bot.slack.listeners.broadcasts import HOME_RECENT, tracking_rows


def register(app: App, container) -> None:
    @app.event("app_home_opened")
    def handle_app_home_opened(event, client):
        if event.get("tab", "home") != "home":
            return
        retriever = container.retriever
        user = event["user"]
        view = home_view(
            examples=retriever.faq_examples(5),
            announcements=retriever.documents("announcement", limit=3),
            help_channel=container.settings.help_channel,
        )
        if container.leader_role.allows(user, client):
            rows = tracking_rows(container, limit=HOME_RECENT, author=user)
            tz = container.directory.timezone(user)
            view["blocks"] += leader_home_blocks(rows, tz=tz)
        client.views_publish(user_id=user, view=view)

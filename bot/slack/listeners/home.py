"""App Home: what the bot can do, example questions, the latest announcements."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.blocks import home_view


def register(app: App, container) -> None:
    @app.event("app_home_opened")
    def handle_app_home_opened(event, client):
        if event.get("tab", "home") != "home":
            return
        retriever = container.retriever
        client.views_publish(
            user_id=event["user"],
            view=home_view(
                examples=retriever.faq_examples(5),
                announcements=retriever.documents("announcement", limit=3),
                help_channel=container.settings.help_channel,
            ),
        )

"""The web console from Slack: a single-use sign-in link in a DM, for people with a role.

`/pulse console` (HR) and `/broadcast console` (leaders) call `send_console_link`; the
App Home button does too, after checking the person has a console role.
"""

from __future__ import annotations

from slack_bolt import App

from bot.console.auth import LINK_LIFETIME
from bot.slack.blocks import CONSOLE_LINK
from bot.slack.listeners.replies import open_dm


def send_console_link(container, client, user_id: str, *, page: str = "") -> str:
    """DM a fresh sign-in link (opening `page`); returns what to tell the person."""
    url = container.sign_in.issue_link(user_id, page=page)
    minutes = str(int(LINK_LIFETIME.total_seconds() // 60))
    text = container.prompts.get("console_link").render(url=url, minutes=minutes)
    client.chat_postMessage(
        channel=open_dm(client, user_id), text=text, unfurl_links=False, unfurl_media=False
    )
    return "I sent you a sign-in link for the web console in a direct message."


def register(app: App, container) -> None:
    @app.action(CONSOLE_LINK)
    def handle_console_link(ack, body, client):
        ack()
        user = body["user"]["id"]
        if not container.console_deps.roles.roles_of(user):
            text = container.prompts.get("console_no_role").render()
            client.chat_postMessage(channel=open_dm(client, user), text=text)
            return
        send_console_link(container, client, user)

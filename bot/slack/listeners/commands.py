"""Slash commands: `/ask question` answers privately, with a button to share it."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.slack.blocks import answer_blocks, answer_fallback_text


def register(app: App, container) -> None:
    @app.command("/ask")
    def handle_ask_command(ack, command, client, respond):
        text = " ".join((command.get("text") or "").split())
        if not text:
            ack(text=container.prompts.get("ask_usage").render())
            return
        ack()
        asked = container.question_service.ask(
            text,
            user_id=command["user_id"],
            surface="command",
            channel_id=command.get("channel_id", ""),
        )
        blocks = answer_blocks(asked.answer, asked.interaction_id, shareable=True)
        fallback = answer_fallback_text(asked.answer)
        try:
            client.chat_postEphemeral(
                channel=command["channel_id"], user=command["user_id"], text=fallback, blocks=blocks
            )
        except SlackApiError:
            # e.g. a DM the bot is not part of: the command's response_url still works.
            respond(text=fallback, blocks=blocks, response_type="ephemeral")

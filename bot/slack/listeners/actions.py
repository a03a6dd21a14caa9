"""Buttons: feedback, escalation to the change team, sharing, closing escalations."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.questions.service import NotFound
from bot.slack import blocks as kit

log = logging.getLogger(__name__)


def _place(body: dict) -> tuple[str, str | None]:
    """(channel, thread_ts) of the message the button is on."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    message = body.get("message") or {}
    return channel, message.get("thread_ts") or (body.get("container") or {}).get("thread_ts")


def register(app: App, container) -> None:
    service = container.question_service
    prompts = container.prompts
    settings = container.settings

    def tell(client, body, text):
        channel, thread_ts = _place(body)
        if channel:
            client.chat_postEphemeral(
                channel=channel, user=body["user"]["id"], thread_ts=thread_ts, text=text
            )

    def feedback(ack, body, action, client, helpful: bool):
        ack()
        try:
            service.record_feedback(int(action["value"]), body["user"]["id"], helpful)
        except NotFound:
            tell(client, body, prompts.get("expired").render())
            return
        tell(
            client,
            body,
            prompts.get("feedback_thanks" if helpful else "feedback_unhelpful").render(),
        )

    @app.action(kit.FEEDBACK)
    def handle_feedback_buttons(ack, body, action, client):
        parsed = kit.feedback_value(action.get("value", ""))
        if parsed is None:
            ack()
            log.warning("Ignored a feedback click with an unexpected value")
            return
        interaction_id, helpful = parsed
        feedback(ack, body, {"value": str(interaction_id)}, client, helpful)

    @app.action(kit.HELPFUL)
    def handle_helpful(ack, body, action, client):
        feedback(ack, body, action, client, True)

    @app.action(kit.NOT_HELPFUL)
    def handle_not_helpful(ack, body, action, client):
        feedback(ack, body, action, client, False)

    @app.action(kit.ESCALATE)
    def handle_escalate(ack, body, action, client):
        ack()
        if not settings.change_team_channel:
            tell(
                client,
                body,
                prompts.get("no_team_channel").render(help_channel=settings.help_channel),
            )
            return
        try:
            result = service.escalate(int(action["value"]), body["user"]["id"])
        except NotFound:
            tell(client, body, prompts.get("expired").render())
            return
        if not result.created:
            tell(client, body, prompts.get("already_escalated").render())
            return
        interaction = result.interaction
        posted = client.chat_postMessage(
            channel=settings.change_team_channel,
            text=f"Question for the change team from <@{interaction.user_id}>",
            blocks=kit.escalation_blocks(
                escalation_id=result.escalation_id,
                asker=interaction.user_id,
                question=interaction.question,
                answer_text=interaction.answer,
                confident=interaction.confident,
            ),
        )
        service.record_escalation_post(result.escalation_id, posted["channel"], posted["ts"])
        tell(client, body, prompts.get("escalated").render())

    @app.action(kit.SHARE)
    def handle_share(ack, body, action, client, respond):
        ack()
        try:
            interaction = service.get(int(action["value"]))
        except NotFound:
            tell(client, body, prompts.get("expired").render())
            return
        channel, _ = _place(body)
        client.chat_postMessage(
            channel=channel or interaction.channel_id,
            text=kit.shared_answer_text(interaction.user_id, interaction.question),
            blocks=kit.shared_answer_blocks(
                interaction.answer, interaction.sources, interaction.user_id, interaction.question
            ),
            unfurl_links=False,
        )
        if body.get("response_url"):
            respond(delete_original=True)

    @app.action(kit.MARK_ANSWERED)
    def handle_mark_answered(ack, body, action, client):
        ack()
        user = body["user"]["id"]
        try:
            _, changed = service.mark_answered(int(action["value"]), user)
        except NotFound:
            tell(client, body, prompts.get("expired").render())
            return
        message = body.get("message") or {}
        channel, _ = _place(body)
        if changed and message.get("ts") and channel:
            client.chat_update(
                channel=channel,
                ts=message["ts"],
                text="Question for the change team (answered)",
                blocks=kit.escalation_closed_blocks(message.get("blocks") or [], user),
            )

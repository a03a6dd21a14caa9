"""Messages and mentions: answer DMs and @mentions, follow threads the bot answered in,
and relay the change team's replies to escalated questions."""

from __future__ import annotations

import logging
import re

from slack_bolt import App

from bot.slack.blocks import relay_blocks, relay_fallback_text
from bot.slack.gap_blocks import reply_saved_note
from bot.slack.listeners.replies import open_dm, post_answer

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
# Edits, deletions, joins, bot posts … never trigger an answer; a file share is a message.
_ANSWERABLE_SUBTYPES = {None, "file_share", "thread_broadcast"}


def question_text(text: str | None) -> str:
    return " ".join(_MENTION.sub(" ", text or "").split())


def register(app: App, container) -> None:
    service = container.question_service
    prompts = container.prompts
    settings = container.settings

    def tell_about_files(event, client, thread_ts):
        if event.get("files"):
            client.chat_postMessage(
                channel=event["channel"],
                thread_ts=thread_ts,
                text=prompts.get("attachments").render(),
            )

    @app.event("app_mention")
    def handle_app_mention(event, client, context):
        if event.get("bot_id") or event.get("subtype") not in _ANSWERABLE_SUBTYPES:
            return
        thread_ts = event.get("thread_ts") or event["ts"]
        if (
            settings.change_team_channel == event["channel"]
            and event.get("thread_ts")
            and service.escalation_for_team_thread(event["channel"], event["thread_ts"])
        ):
            return  # a change-team reply: the message listener relays it
        tell_about_files(event, client, thread_ts)
        text = question_text(event.get("text"))
        if not text:
            if not event.get("files"):
                client.chat_postMessage(
                    channel=event["channel"],
                    thread_ts=thread_ts,
                    text=prompts.get("greeting").render(),
                )
            return
        earlier = service.thread_question(event["channel"], thread_ts)
        post_answer(
            container,
            client,
            question=text,
            user_id=event.get("user", ""),
            channel=event["channel"],
            thread_ts=thread_ts,
            surface="mention",
            context=earlier.question if earlier else None,
        )

    @app.event("message")
    def handle_message(event, client, context):
        if event.get("subtype") not in _ANSWERABLE_SUBTYPES or event.get("bot_id"):
            return
        user = event.get("user")
        if not user or user == context.get("bot_user_id"):
            return
        channel = event.get("channel", "")
        thread_ts = event.get("thread_ts")
        if event.get("channel_type") == "im":
            tell_about_files(event, client, thread_ts)
            text = question_text(event.get("text"))
            if text:
                earlier = service.thread_question(channel, thread_ts) if thread_ts else None
                post_answer(
                    container,
                    client,
                    question=text,
                    user_id=user,
                    channel=channel,
                    thread_ts=thread_ts,
                    surface="dm",
                    context=earlier.question if earlier else None,
                )
            return
        if not thread_ts or thread_ts == event.get("ts"):
            return  # top-level channel chatter: only @mentions are for the bot
        if settings.change_team_channel and channel == settings.change_team_channel:
            relay_team_reply(event, client)
            return
        bot_user = context.get("bot_user_id")
        if bot_user and f"<@{bot_user}" in (event.get("text") or ""):
            return  # the app_mention listener answers this one
        earlier = service.thread_question(channel, thread_ts)
        if earlier is None:
            return  # a thread between people: leave it alone
        text = question_text(event.get("text"))
        if text:
            post_answer(
                container,
                client,
                question=text,
                user_id=user,
                channel=channel,
                thread_ts=thread_ts,
                surface="follow-up",
                context=earlier.question,
            )

    def relay_team_reply(event, client):
        found = service.escalation_for_team_thread(event["channel"], event["thread_ts"])
        if found is None:
            return
        escalation, interaction = found
        reply = question_text(event.get("text"))
        blocks = relay_blocks(reply, event["user"], interaction.question)
        fallback = relay_fallback_text(reply)
        if interaction.surface == "command" or not interaction.channel_id:
            client.chat_postMessage(
                channel=open_dm(client, interaction.user_id), text=fallback, blocks=blocks
            )
        else:
            client.chat_postMessage(
                channel=interaction.channel_id,
                thread_ts=interaction.thread_ts or interaction.reply_ts or None,
                text=fallback,
                blocks=blocks,
            )
        log.info("Relayed a change-team reply for escalation %s", escalation.id)
        # Only the replier sees it, in the team's thread: keep the reply for everyone.
        client.chat_postEphemeral(
            channel=event["channel"],
            user=event["user"],
            thread_ts=event["thread_ts"],
            text="Passed on. Save this reply as the playbook's answer?",
            blocks=reply_saved_note(event["thread_ts"], event["ts"], interaction.user_id),
        )

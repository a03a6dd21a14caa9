"""Slack's assistant panel (bolt's Assistant): suggested prompts, a status, an answer."""

from __future__ import annotations

from slack_bolt import App, Assistant

from bot.slack.listeners.agent import LOADING_MESSAGES
from bot.slack.listeners.replies import post_answer


def register(app: App, container) -> None:
    assistant = Assistant()

    @assistant.thread_started
    def handle_thread_started(say, set_suggested_prompts):
        say(container.prompts.get("greeting").render())
        examples = container.retriever.faq_examples(4)
        if examples:
            set_suggested_prompts(prompts=examples, title="Questions people ask")

    @assistant.user_message
    def handle_user_message(payload, client, set_status, context):
        text = " ".join((payload.get("text") or "").split())
        if payload.get("files"):
            client.chat_postMessage(
                channel=payload["channel"],
                thread_ts=payload["thread_ts"],
                text=container.prompts.get("attachments").render(),
            )
        if not text:
            return
        set_status("Looking through the playbook…", loading_messages=LOADING_MESSAGES)
        channel, thread_ts = payload["channel"], payload["thread_ts"]
        earlier = container.question_service.thread_question(channel, thread_ts)
        post_answer(
            container,
            client,
            question=text,
            user_id=payload.get("user", ""),
            channel=channel,
            thread_ts=thread_ts,
            surface="assistant",
            context=earlier.question if earlier else None,
        )

    app.use(assistant)

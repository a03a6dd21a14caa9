"""Posting to people: an answer (shared by DMs, mentions, thread follow-ups, the assistant
panel and updates' questions), and the DM channel to post a note in."""

from __future__ import annotations

from bot.slack.blocks import answer_blocks, answer_fallback_text
from bot.slack.streaming import SlackAnswerStream

# Where an LLM answer is streamed: Slack streams only into a thread (the assistant / agent
# view thread, a mention's thread, a followed thread, a DM thread).
STREAMED_SURFACES = {"assistant", "mention", "follow-up", "dm"}


def post_answer(
    container,
    client,
    *,
    question: str,
    user_id: str,
    channel: str,
    thread_ts: str | None,
    surface: str,
    context: str | None = None,
    topic: str | None = None,
) -> tuple[str, int]:
    """Answer, post the reply (in `thread_ts` if given) and remember it.

    Returns (reply ts, interaction id).
    """
    stream = None
    if container.answerer.llm is not None and thread_ts and surface in STREAMED_SURFACES:
        stream = SlackAnswerStream(
            client, channel=channel, thread_ts=thread_ts, user_id=user_id, team_id=_team(container)
        )
    asked = container.question_service.ask(
        question,
        user_id=user_id,
        surface=surface,
        channel_id=channel,
        thread_ts=thread_ts or "",
        context=context,
        topic=topic,
        stream=stream,
    )
    if stream is not None and stream.started:
        ts = stream.finish(asked)
        container.question_service.record_reply(asked.interaction_id, ts)
        return ts, asked.interaction_id
    response = client.chat_postMessage(
        channel=channel,
        thread_ts=thread_ts,
        text=answer_fallback_text(asked.answer),
        blocks=answer_blocks(asked.answer, asked.interaction_id),
        unfurl_links=False,
    )
    container.question_service.record_reply(asked.interaction_id, response["ts"])
    return response["ts"], asked.interaction_id


def open_dm(client, user_id: str) -> str:
    """The id of the bot's DM with this person (conversations.open is idempotent)."""
    return client.conversations_open(users=user_id)["channel"]["id"]


def _team(container) -> str | None:
    try:
        return container.team_id()
    except Exception:
        return None

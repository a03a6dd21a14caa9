"""An LLM answer streamed into Slack (chat.startStream / appendStream / stopStream).

The words are escaped as they arrive (LLM output is not ours), sent in pieces of about
`PIECE` characters, and the stream ends one of two ways: the answer stood (its sources,
"Ask the change team" and the feedback buttons go under it) or it did not (its citations
failed the check, the model timed out): the stream is stopped and the message replaced by
the extractive answer with chat.update, so no broken text is left.
"""

from __future__ import annotations

import logging
import threading

from slack_sdk.errors import SlackApiError

from bot.slack.blocks import answer_blocks, answer_fallback_text, answer_tail_blocks
from bot.slack.escaping import escape

log = logging.getLogger(__name__)

PIECE = 200  # characters per appendStream call; Slack's limit for one is 12,000


class SlackAnswerStream:
    def __init__(self, client, *, channel: str, thread_ts: str, user_id: str, team_id=None):
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.user_id = user_id
        self.team_id = team_id
        self.ts: str | None = None
        self.failed = False
        self._pending = ""
        self._closed = False
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self.ts is not None

    def write(self, text: str) -> None:
        with self._lock:
            if self._closed or self.failed:
                return
            self._pending += escape(text)
            if len(self._pending) >= PIECE or self.ts is None:
                self._flush()

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def _flush(self) -> None:
        piece, self._pending = self._pending, ""
        try:
            if self.ts is None:
                response = self.client.chat_startStream(
                    channel=self.channel,
                    thread_ts=self.thread_ts,
                    markdown_text=piece,
                    recipient_user_id=self.user_id or None,
                    recipient_team_id=self.team_id,
                )
                self.ts = response["ts"]
            elif piece:
                self.client.chat_appendStream(channel=self.channel, ts=self.ts, markdown_text=piece)
        except SlackApiError as exc:  # the answer is then posted whole
            log.warning("Streaming the answer failed: %s", exc.response.get("error"))
            self.failed = True

    def finish(self, asked) -> str:
        """End the stream for the answer as it was decided; returns the message ts."""
        self.close()
        answer = asked.answer
        with self._lock:
            if answer.kind == "llm" and not self.failed:
                tail = self._pending
                self._pending = ""
                self.client.chat_stopStream(
                    channel=self.channel,
                    ts=self.ts,
                    markdown_text=tail or None,
                    blocks=answer_tail_blocks(answer, asked.interaction_id),
                )
                return self.ts
        # The words shown so far did not stand: stop, then show the answer that did.
        try:
            self.client.chat_stopStream(channel=self.channel, ts=self.ts)
        except SlackApiError as exc:
            log.warning("Stopping a failed stream: %s", exc.response.get("error"))
        self.client.chat_update(
            channel=self.channel,
            ts=self.ts,
            text=answer_fallback_text(answer),
            blocks=answer_blocks(answer, asked.interaction_id),
        )
        return self.ts

"""The knowledge-gap loop in Slack: the weekly digest in the change-team channel, "Write the
answer" (from the digest) and "Save as playbook answer" (under a relayed reply), the modal
that saves an approved FAQ entry, and Edit / Retire on a saved entry.

Only the change team may write answers (bot/slack/answer_writers.py): the buttons refuse
everyone else, and so does the modal's submit, however it was made.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from slack_bolt import App

from bot.questions.captured import Invalid, NotFound
from bot.slack import gap_blocks as kit
from bot.slack.escaping import escape

log = logging.getLogger(__name__)

DIGEST_DAYS = 7
MODAL_REFUSAL = "Only the change team can save the playbook's answers."


def post_digest(container, *, now: dt.datetime | None = None) -> str | None:
    """Post the week's knowledge gaps in the change-team channel; returns the message ts
    (None when there is no channel or nothing to show)."""
    settings = container.settings
    if not settings.change_team_channel:
        return None
    now = now or container.question_service.clock()
    groups = container.gap_finder.gaps(
        now - dt.timedelta(days=DIGEST_DAYS), limit=settings.gaps_digest_groups
    )
    if not groups:
        log.info("No knowledge gaps this week; no digest posted")
        return None
    posted = container.slack_client().chat_postMessage(
        channel=settings.change_team_channel,
        text=kit.digest_fallback_text(groups),
        blocks=kit.digest_blocks(groups, days=DIGEST_DAYS),
        unfurl_links=False,
    )
    return posted.get("ts")


def _place(body: dict) -> tuple[str, str]:
    """(channel, thread) of the message a button is on: its thread, or itself."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    message = body.get("message") or {}
    return channel, message.get("thread_ts") or message.get("ts") or ""


def register(app: App, container) -> None:
    settings = container.settings
    writers = container.answer_writers
    captured = container.captured

    def refused(body, client) -> bool:
        """Tell someone who may not write answers so (only they see it); True if refused."""
        user = body["user"]["id"]
        refusal = writers.refusal_for(user, client)
        if refusal is None:
            return False
        channel, thread = _place(body)
        if channel:
            client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread or None, text=refusal
            )
        log.info("Refused %s writing a playbook answer", user)
        return True

    def open_modal(client, body, *, channel: str = "", thread: str = "", **prefill) -> None:
        if not channel:
            channel, thread = _place(body)
        client.views_open(
            trigger_id=body["trigger_id"],
            view=kit.answer_modal(channel=channel, thread_ts=thread, **prefill),
        )

    @app.action(kit.WRITE_ANSWER)
    def handle_write_answer(ack, body, action, client):
        ack()
        if not refused(body, client):
            open_modal(client, body, question=action.get("value") or "")

    @app.action(kit.SAVE_REPLY)
    def handle_save_reply(ack, body, action, client):
        """On the note only the replier sees (an ephemeral message carries no thread), so
        the value holds the team thread and the reply: "<thread ts>:<reply ts>"."""
        ack()
        if refused(body, client):
            return
        team = settings.change_team_channel or ""
        thread, _, reply_ts = (action.get("value") or "").partition(":")
        found = container.question_service.escalation_for_team_thread(team, thread)
        open_modal(
            client,
            body,
            channel=team,
            thread=thread,
            question=found[1].question if found else "",
            answer=_reply_text(client, team, thread, reply_ts),
        )

    @app.action(kit.EDIT_CAPTURED)
    def handle_edit_captured(ack, body, action, client):
        ack()
        if refused(body, client):
            return
        try:
            entry = captured.get(int(action.get("value") or 0))
        except (NotFound, ValueError):
            return
        if entry.status != "approved":
            return
        open_modal(
            client,
            body,
            question=entry.question,
            answer=entry.answer,
            source_url=entry.source_url,
            entry_id=entry.id,
        )

    @app.action(kit.RETIRE_CAPTURED)
    def handle_retire_captured(ack, body, action, client):
        ack()
        if refused(body, client):
            return
        try:
            entry, changed = captured.retire(int(action.get("value") or 0), body["user"]["id"])
        except (NotFound, ValueError):
            return
        message = body.get("message") or {}
        channel, _ = _place(body)
        if changed and channel and message.get("ts"):
            client.chat_update(
                channel=channel,
                ts=message["ts"],
                text="Retired playbook answer",
                blocks=kit.captured_blocks(entry),
            )

    @app.view(kit.ANSWER_MODAL)
    def handle_answer_submit(ack, body, view, client):
        user = body["user"]["id"]
        if writers.refusal_for(user, client) is not None:
            ack(response_action="errors", errors={"question": MODAL_REFUSAL})
            log.warning("Refused a playbook answer submitted by %s", user)
            return
        values = kit.modal_values(view)
        meta = _metadata(view)
        try:
            from bot.questions.captured import check

            check(values["question"], values["answer"], values["source"])
        except Invalid as problem:
            ack(response_action="errors", errors={problem.field: str(problem)})
            return
        ack()
        fields = {
            "question": values["question"],
            "answer": values["answer"],
            "source_url": values["source"],
        }
        if meta["id"]:
            try:
                entry = captured.edit(meta["id"], actor=user, **fields)
            except NotFound:
                return
        else:
            entry, created = captured.capture(author=user, key=f"view:{view['id']}", **fields)
            if not created:
                log.info(
                    "Answer modal %s submitted again; entry %s kept once", view["id"], entry.id
                )
                return
        # Only ever into the change-team channel, whatever the metadata says.
        team = settings.change_team_channel
        if team:
            client.chat_postMessage(
                channel=team,
                thread_ts=meta["ts"] if meta["channel"] == team and meta["ts"] else None,
                text=f"Saved to the playbook: {escape(entry.question[:200])}",
                blocks=kit.captured_blocks(entry),
                unfurl_links=False,
            )


def _metadata(view: dict) -> dict:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    entry_id = meta.get("id")
    return {
        "id": entry_id if isinstance(entry_id, int) and entry_id > 0 else 0,
        "channel": str(meta.get("channel") or ""),
        "ts": str(meta.get("ts") or ""),
    }


def _reply_text(client, channel: str, thread: str, reply_ts: str) -> str:
    """The change team's reply as Slack has it ('' when it cannot be read)."""
    if not (channel and thread and reply_ts):
        return ""
    try:
        response = client.conversations_replies(channel=channel, ts=thread, limit=200)
    except Exception:
        log.warning("Could not read the reply %s to prefill the answer", reply_ts, exc_info=True)
        return ""
    for message in response.get("messages") or []:
        if message.get("ts") == reply_ts:
            return message.get("text") or ""
    return ""

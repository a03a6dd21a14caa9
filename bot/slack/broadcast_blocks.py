"""Block Kit for leaders' updates: the compose modal, the message, tracking. Pure functions."""

from __future__ import annotations

import datetime as dt
import json

from bot import timeutil
from bot.broadcasts.service import BODY_LIMIT, TITLE_LIMIT, Stats, Update
from bot.slack.escaping import escape

COMPOSE = "broadcast_compose"
EDIT_SUBMIT = "broadcast_edit"
QUESTION_SUBMIT = "broadcast_question"
ACK = "broadcast_ack"
ASK = "broadcast_ask"
PREVIEW = "broadcast_preview"
NEW = "broadcast_new"
REMIND = "broadcast_remind"
EDIT = "broadcast_edit_open"
RECALL = "broadcast_recall"
CANCEL = "broadcast_cancel"
VALUE = "value"  # action_id of every input in these modals
REMINDER_BLOCK = "broadcast_reminder"
MAX_OPTIONS = 100  # Slack's limit for a static select


def _text(text: str, kind: str = "plain_text") -> dict:
    return {"type": kind, "text": text}


def _input(block_id: str, label: str, element: dict, *, optional=False, hint=None) -> dict:
    block = {
        "type": "input",
        "block_id": block_id,
        "label": _text(label),
        "element": {**element, "action_id": VALUE},
        "optional": optional,
    }
    if hint:
        block["hint"] = _text(hint)
    return block


def _options(pairs: list[tuple[str, str]]) -> list[dict]:
    return [{"text": _text(label[:75]), "value": value[:150]} for value, label in pairs]


def _checkbox(block_id: str, label: str, option: str, text: str) -> dict:
    element: dict = {"type": "checkboxes", "options": _options([(option, text)])}
    return _input(block_id, label, element, optional=True)


def compose_modal(*, usergroups: list[tuple[str, str]], departments: list[str]) -> dict:
    """The /broadcast modal. `usergroups`: (id, "@handle — name"); both lists may be empty."""
    blocks: list[dict] = [
        _input(
            "title",
            "Title",
            {"type": "plain_text_input", "max_length": TITLE_LIMIT},
        ),
        _input(
            "body",
            "Message",
            {"type": "plain_text_input", "multiline": True, "max_length": BODY_LIMIT},
            hint="Slack formatting works: *bold*, _italic_, <https://example.com|links>.",
        ),
        {"type": "section", "text": _text("*Audience* (any mix; nobody gets it twice)", "mrkdwn")},
        _input(
            "channels",
            "Post in channels",
            {
                "type": "multi_conversations_select",
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            },
            optional=True,
        ),
    ]
    if usergroups:
        blocks.append(
            _input(
                "usergroups",
                "DM the members of user groups",
                {"type": "multi_static_select", "options": _options(usergroups[:MAX_OPTIONS])},
                optional=True,
            )
        )
    if departments:
        blocks.append(
            _input(
                "departments",
                "DM everyone in departments",
                {
                    "type": "multi_static_select",
                    "options": _options([(d, d) for d in departments[:MAX_OPTIONS]]),
                },
                optional=True,
            )
        )
    blocks += [
        _checkbox("everyone", "Everyone", "everyone", "DM everyone in the directory"),
        {"type": "divider"},
        _checkbox(
            "ack", "Acknowledgement", "ack", "Ask people to acknowledge (a “Got it ✓” button)"
        ),
        _input(
            "when",
            "When",
            {
                "type": "radio_buttons",
                "options": _options([("now", "Send now"), ("later", "At a date and time")]),
                "initial_option": _options([("now", "Send now")])[0],
            },
        ),
        _input("at", "Date and time (your time zone)", {"type": "datetimepicker"}, optional=True),
        _checkbox("local", "Time zones", "local", "At that time in each recipient's own time zone"),
        {
            "type": "actions",
            "block_id": "preview",
            "elements": [
                {
                    "type": "button",
                    "text": _text("Preview to me"),
                    "action_id": PREVIEW,
                    "value": "preview",
                }
            ],
        },
    ]
    return {
        "type": "modal",
        "callback_id": COMPOSE,
        "title": _text("Send an update"),
        "submit": _text("Send"),
        "close": _text("Cancel"),
        "blocks": blocks,
    }


def edit_modal(update: Update, *, from_home: bool = False) -> dict:
    """Edit the title and text of an update (the audience stays as it was)."""
    title = _input("title", "Title", {"type": "plain_text_input", "max_length": TITLE_LIMIT})
    title["element"]["initial_value"] = update.title
    body = _input(
        "body",
        "Message",
        {"type": "plain_text_input", "multiline": True, "max_length": BODY_LIMIT},
        hint="Every delivered copy is updated; the playbook gets the new text.",
    )
    body["element"]["initial_value"] = update.body
    return {
        "type": "modal",
        "callback_id": EDIT_SUBMIT,
        "private_metadata": json.dumps({"id": update.id, "from_home": from_home}),
        "title": _text("Edit the update"),
        "submit": _text("Update everywhere"),
        "close": _text("Cancel"),
        "blocks": [title, body],
    }


def question_modal(update: Update, *, channel: str, ts: str) -> dict:
    return {
        "type": "modal",
        "callback_id": QUESTION_SUBMIT,
        "private_metadata": json.dumps({"id": update.id, "channel": channel, "ts": ts}),
        "title": _text("Ask about this update"),
        "submit": _text("Ask"),
        "close": _text("Cancel"),
        "blocks": [
            {"type": "context", "elements": [_text(f"About: *{escape(update.title)}*", "mrkdwn")]},
            _input(
                "question",
                "Your question",
                {"type": "plain_text_input", "multiline": True, "max_length": 500},
                hint="I answer from the update and the playbook, with sources, in your DMs.",
            ),
        ],
    }


def message(
    update: Update,
    user: str | None,
    acknowledged_at: dt.datetime | None,
    reminder: bool,
    *,
    preview: bool = False,
) -> dict:
    """One copy of an update: a channel post (`user` None) or one person's DM."""
    blocks: list[dict] = []
    if reminder and acknowledged_at is None:
        blocks.append(
            {
                "type": "section",
                "block_id": REMINDER_BLOCK,
                "text": _text(
                    ":bell: *Reminder:* please read this update and press *Got it ✓*.", "mrkdwn"
                ),
            }
        )
    blocks += [
        {"type": "header", "text": _text(update.title[:TITLE_LIMIT])},
        {"type": "section", "text": _text(update.body[:BODY_LIMIT], "mrkdwn")},
    ]
    sent = update.sent_at or update.send_at or update.created_at
    byline = f"From <@{update.author}> · {sent:%d %b %Y}"
    if update.edited_by and update.edited_by != update.author:
        byline += f" · edited by <@{update.edited_by}>"  # an admin's edit, always named
    elif update.edited_at and update.sent_at and update.edited_at > update.sent_at:
        byline += " · edited"  # not for a scheduled update edited before it went out
    blocks.append({"type": "context", "elements": [_text(byline, "mrkdwn")]})
    if preview:
        buttons = "“Got it ✓” and “I have a question”" if update.ask_ack else "“I have a question”"
        note = f":eyes: Preview — only you got this. The real update has the buttons {buttons}."
        blocks.append({"type": "context", "elements": [_text(note, "mrkdwn")]})
    else:
        elements = []
        if update.ask_ack and acknowledged_at is None:
            elements.append(_button("Got it ✓", ACK, update.id, style="primary"))
        elements.append(_button("I have a question", ASK, update.id))
        blocks.append(
            {"type": "actions", "block_id": f"broadcast:{update.id}", "elements": elements}
        )
        if acknowledged_at is not None:
            note = f":white_check_mark: You acknowledged this on {acknowledged_at:%d %b %Y}."
            blocks.append({"type": "context", "elements": [_text(note, "mrkdwn")]})
    lead = "Reminder: " if reminder else ""
    return {"text": f"{lead}{escape(update.title)} — from <@{update.author}>", "blocks": blocks}


def _audience(update: Update) -> str:
    """The audience as chosen: channels and user groups as Slack links (ids, ours),
    department names (from the directory) escaped."""
    audience = update.audience
    parts = [f"<#{c}>" for c in audience.channels]
    parts += [f"<!subteam^{g}>" for g in audience.usergroups]
    parts += [escape(d) for d in audience.departments]
    if audience.everyone:
        parts.append("everyone (DM)")
    return ", ".join(parts) or "nobody"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _button(label: str, action_id: str, value, *, style=None, confirm=None) -> dict:
    button = {"type": "button", "text": _text(label), "action_id": action_id, "value": str(value)}
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def _confirm(title: str, text: str, yes: str) -> dict:
    return {
        "title": _text(title),
        "text": _text(text, "mrkdwn"),
        "confirm": _text(yes),
        "deny": _text("Keep it"),
        "style": "danger",
    }


def stats_line(update: Update, stats: Stats) -> str:
    parts = [f"Delivered: {stats.delivered_dms} DMs, {stats.delivered_channels} channels"]
    if stats.failed:
        parts.append(f"{stats.failed} failed")
    if stats.waiting:
        parts.append(f"{stats.waiting} waiting")
    if update.ask_ack:
        share = stats.ack_share
        ack = f"Acknowledged: {stats.acknowledged} of {stats.delivered_dms}"
        if share is not None:
            ack += f" ({share:.0%})"
        if stats.acknowledged_elsewhere:
            ack += f", +{stats.acknowledged_elsewhere} from channel posts"
        parts.append(ack)
    parts.append(f"Questions: {stats.questions}")
    if stats.reminded:
        parts.append(f"Reminded: {stats.reminded}")
    return " · ".join(parts)


def tracking_blocks(rows: list[tuple[Update, Stats]], *, tz: str = "UTC") -> list[dict]:
    """One section per update with its figures, and the leader's buttons."""
    if not rows:
        return [{"type": "section", "text": _text("No updates sent yet.", "mrkdwn")}]
    zone = timeutil.zone(tz)
    blocks: list[dict] = []
    for update, stats in rows:
        sent = (update.sent_at or update.send_at or update.created_at).astimezone(zone)
        if update.status == "not sent":
            text = (
                f"*{escape(update.title)}* · *not sent* (due {sent:%d %b %H:%M}; "
                f"its audience could not be resolved — see `changebot broadcast audit`)"
            )
            blocks.append({"type": "section", "text": _text(text[:2900], "mrkdwn")})
            continue
        state = " · *recalled*" if update.status == "recalled" else ""
        text = (
            f"*{escape(update.title)}*{state}\n"
            f"Sent {sent:%d %b %H:%M} to {_audience(update)}"
            f" ({_count(update.dm_count, 'person', 'people')}, "
            f"{_count(update.channel_count, 'channel', 'channels')})\n"
            f"{stats_line(update, stats)}"
        )
        blocks.append({"type": "section", "text": _text(text[:2900], "mrkdwn")})
        if update.status != "sent":
            continue
        elements = []
        pending = stats.delivered_dms - stats.acknowledged
        if update.ask_ack and update.audience.has_people and pending > 0:
            elements.append(
                _button(f"Remind {pending} who have not acknowledged", REMIND, update.id)
            )
        elements.append(_button("Edit", EDIT, update.id))
        elements.append(
            _button(
                "Recall",
                RECALL,
                update.id,
                style="danger",
                confirm=_confirm(
                    "Recall this update?",
                    "Every copy is deleted from Slack and it leaves the playbook.",
                    "Recall",
                ),
            )
        )
        blocks.append({"type": "actions", "block_id": f"track:{update.id}", "elements": elements})
    return blocks


def scheduled_blocks(updates: list[Update], *, tz: str = "UTC") -> list[dict]:
    if not updates:
        return [{"type": "section", "text": _text("No updates are scheduled.", "mrkdwn")}]
    zone = timeutil.zone(tz)
    blocks: list[dict] = []
    for update in updates:
        assert update.send_at is not None
        when = f"{update.send_at.astimezone(zone):%a %d %b %Y %H:%M} ({tz})"
        if update.local_time:
            when += ", at that time in each recipient's own time zone"
        text = (
            f"*{escape(update.title)}* by <@{update.author}>\n"
            f"Goes out {when} to {_audience(update)}"
        )
        blocks.append({"type": "section", "text": _text(text[:2900], "mrkdwn")})
        cancel = _button(
            "Cancel",
            CANCEL,
            update.id,
            style="danger",
            confirm=_confirm("Cancel this update?", "It will not be sent.", "Cancel it"),
        )
        blocks.append(
            {
                "type": "actions",
                "block_id": f"scheduled:{update.id}",
                "elements": [_button("Edit", EDIT, update.id), cancel],
            }
        )
    return blocks


def leader_home_blocks(rows: list[tuple[Update, Stats]], *, tz: str = "UTC") -> list[dict]:
    """The leader's part of App Home: recent updates with their figures."""
    return [
        {"type": "divider"},
        {"type": "header", "text": _text("Your updates")},
        {
            "type": "actions",
            "block_id": "broadcast_home",
            "elements": [_button("Send an update", NEW, "new", style="primary")],
        },
        *tracking_blocks(rows, tz=tz),
    ]

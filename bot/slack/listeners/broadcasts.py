"""Leaders' updates in Slack: /broadcast, the compose modal, the buttons on every copy.

Leaders (configured user ids or a user group) compose, track, remind, edit, recall and
cancel; everyone else can press "Got it ✓" and "I have a question" on what they got.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot import timeutil
from bot.broadcasts.service import Audience, Draft, NotFound, problems, text_problems
from bot.slack import broadcast_blocks as kit
from bot.slack.blocks import escape
from bot.slack.directory_source import usergroup_members
from bot.slack.listeners.console import send_console_link
from bot.slack.listeners.home import publish_home, tracking_rows
from bot.slack.listeners.replies import open_dm, post_answer

log = logging.getLogger(__name__)

USAGE = (
    "`/broadcast` compose an update · `/broadcast status` delivery, acknowledgements, "
    "questions · `/broadcast scheduled` list or cancel scheduled updates · "
    "`/broadcast console` a sign-in link for the web console"
)
RECENT = 10  # updates shown by /broadcast status
NO_TIME = dt.datetime.min.replace(tzinfo=dt.UTC)  # "at a date and time" with none picked
# Where each problem with a draft is shown in the modal.
ERROR_BLOCKS = {"title": "title", "body": "body", "audience": "channels", "when": "at"}


def register(app: App, container) -> None:
    role = container.leader_role

    def tell(client, body, text: str) -> None:
        """An ephemeral note where the click happened, or a DM from a modal or App Home."""
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        if channel and not channel.startswith("D"):
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            client.chat_postMessage(channel=open_dm(client, user), text=text)

    def refresh_home(client, body) -> None:
        """After a leader's click on their App Home: show the new figures there."""
        if (body.get("view") or {}).get("type") == "home":
            publish_home(container, client, body["user"]["id"])

    def refuse_unless_leader(body, client) -> bool:
        user = body["user"]["id"]
        if role.allows(user, client):
            return False
        tell(client, body, role.refusal_for(user, client))
        return True

    # -- /broadcast ------------------------------------------------------------------------
    @app.command("/broadcast", middleware=[role.middleware()])
    def handle_broadcast_command(ack, command, client, respond):
        words = (command.get("text") or "").split()
        action = words[0].lower() if words else "new"
        user, channel = command["user_id"], command["channel_id"]
        if action in {"new", "compose"}:
            ack()
            client.views_open(
                trigger_id=command["trigger_id"], view=compose_view(container, client)
            )
            return
        if action == "console":
            ack(text="Sending you a sign-in link for the web console…")
            send_console_link(container, client, user, page="/updates")
            return
        if action not in {"status", "scheduled"}:
            ack(text=f"Try one of: {USAGE}")
            return
        ack()
        tz = container.directory.timezone(user)
        if action == "status":
            rows = tracking_rows(container, limit=RECENT)
            blocks = kit.tracking_blocks(rows, tz=tz)
            text = "Recent updates: delivery, acknowledgements, questions"
        else:
            blocks = kit.scheduled_blocks(container.broadcasts.scheduled(), tz=tz)
            text = "Scheduled updates"
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks[:50])
        except SlackApiError:
            # Typed where the bot is not a member (or in a DM between people): answer
            # through the command's response_url, which works anywhere.
            respond(text=text, blocks=blocks[:50], response_type="ephemeral")

    # -- composing -------------------------------------------------------------------------
    @app.action(kit.NEW)
    def handle_new_from_home(ack, body, client):
        ack()
        if refuse_unless_leader(body, client):
            return
        client.views_open(trigger_id=body["trigger_id"], view=compose_view(container, client))

    @app.action(kit.PREVIEW)
    def handle_preview(ack, body, client):
        ack()
        user = body["user"]["id"]
        if refuse_unless_leader(body, client):
            return
        values = (body.get("view") or {}).get("state", {}).get("values", {})
        draft = read_draft(values, key="preview", author=user, tz="UTC")
        if not draft.title.strip() or not draft.body.strip():
            text = "Write a title and a message first; then Preview shows it to you."
            client.chat_postMessage(channel=open_dm(client, user), text=text)
            return
        preview = container.broadcasts.preview(draft)
        message = kit.message(preview, user, None, False, preview=True)
        client.chat_postMessage(channel=open_dm(client, user), unfurl_links=False, **message)

    @app.view(kit.COMPOSE)
    def handle_compose_submit(ack, body, view, client):
        user = body["user"]["id"]
        if not role.allows(user, client):
            ack(response_action="errors", errors={"title": role.refusal_for(user, client)[:150]})
            return
        tz = leader_timezone(container, client, user)
        draft = read_draft(view["state"]["values"], key=view["id"], author=user, tz=tz)
        wrong = {
            ERROR_BLOCKS[field]: message
            for field, message in problems(draft, now=container.broadcasts.clock()).items()
        }
        if draft.send_at == NO_TIME:
            wrong["at"] = "Pick a date and time, or choose Send now."
        if not wrong:
            wrong = slack_problems(container, client, draft)
        if wrong:
            ack(response_action="errors", errors=wrong)
            return
        ack()
        broadcasts = container.broadcasts
        update, created = broadcasts.create(draft)
        if not created:
            log.info("Compose modal %s submitted again; update %s kept once", view["id"], update.id)
            return
        if draft.send_at is not None:
            when = f"{draft.send_at.astimezone(timeutil.zone(tz)):%a %d %b %Y %H:%M} ({tz})"
            if draft.local_time:
                when += ", in each recipient's own time zone"
            text = (
                f"Scheduled *{escape(update.title)}* for {when}. "
                "`/broadcast scheduled` lists it and can cancel it."
            )
        else:
            outcome = broadcasts.send(update.id)
            detail = outcome.detail
            text = (
                f"Sending *{escape(update.title)}*: {detail.get('dms', 0)} direct messages, "
                f"{detail.get('channels', 0)} channel posts. `/broadcast status` shows "
                "delivery, acknowledgements and questions."
            )
        client.chat_postMessage(channel=open_dm(client, user), text=text)

    # -- on every copy ---------------------------------------------------------------------
    @app.action(kit.ACK)
    def handle_ack(ack, body, action, client):
        ack()
        user = body["user"]["id"]
        broadcast_id = int(action["value"])
        try:
            when, first = container.broadcasts.acknowledge(broadcast_id, user)
        except NotFound:
            tell(client, body, "This update was recalled, so there is nothing to acknowledge.")
            return
        channel, ts, message = _clicked(body)
        if channel.startswith("D") and ts:
            update = container.broadcasts.get(broadcast_id)
            reminder = any(
                b.get("block_id") == kit.REMINDER_BLOCK for b in message.get("blocks") or []
            )
            client.chat_update(channel=channel, ts=ts, **kit.message(update, user, when, reminder))
        else:
            text = (
                "Thanks — noted that you have read it. ✓"
                if first
                else f"You already acknowledged this on {when:%d %b %Y}. ✓"
            )
            tell(client, body, text)

    @app.action(kit.ASK)
    def handle_ask(ack, body, action, client):
        ack()
        try:
            update = container.broadcasts.get(int(action["value"]))
        except NotFound:
            update = None
        if update is None or update.status != "sent":
            tell(client, body, "This update was recalled; ask me in a DM instead.")
            return
        channel, ts, _ = _clicked(body)
        client.views_open(
            trigger_id=body["trigger_id"], view=kit.question_modal(update, channel=channel, ts=ts)
        )

    @app.view(kit.QUESTION_SUBMIT)
    def handle_question_submit(ack, body, view, client):
        meta = json.loads(view.get("private_metadata") or "{}")
        question = (view["state"]["values"].get("question", {}).get(kit.VALUE, {}) or {}).get(
            "value"
        ) or ""
        if not question.strip():
            ack(response_action="errors", errors={"question": "Type your question first."})
            return
        ack()
        user = body["user"]["id"]
        try:
            update = container.broadcasts.get(int(meta.get("id", 0)))
        except NotFound:
            update = None
        channel, ts = meta.get("channel", ""), meta.get("ts", "")
        if not channel.startswith("D") or not ts:
            # A channel post: the answer goes to the person's DMs, not to the channel.
            channel, ts = open_dm(client, user), None
        _, interaction_id = post_answer(
            container,
            client,
            question=question,
            user_id=user,
            channel=channel,
            thread_ts=ts,
            surface="broadcast",
            topic=update.title if update else None,
        )
        if update is not None:
            container.broadcasts.record_question(update.id, user, interaction_id)

    # -- the leader's follow-ups -----------------------------------------------------------
    def follow_up(method):
        """A leader's button on a sent or scheduled update: remind, recall or cancel."""

        def handle(ack, body, action, client):
            ack()
            if refuse_unless_leader(body, client):
                return
            outcome = method(int(action["value"]), body["user"]["id"])
            tell(client, body, escape(outcome.message))
            refresh_home(client, body)

        return handle

    broadcasts = container.broadcasts
    app.action(kit.REMIND)(follow_up(broadcasts.remind))
    app.action(kit.RECALL)(follow_up(broadcasts.recall))
    app.action(kit.CANCEL)(follow_up(broadcasts.cancel))

    @app.action(kit.EDIT)
    def handle_edit_open(ack, body, action, client):
        ack()
        if refuse_unless_leader(body, client):
            return
        try:
            update = container.broadcasts.get(int(action["value"]))
        except NotFound:
            tell(client, body, "That update no longer exists.")
            return
        if not container.broadcasts.may_change(update, body["user"]["id"]):
            tell(client, body, escape(container.broadcasts.authority.refusal(update)))
            return
        if update.status not in {"sent", "scheduled"}:
            tell(client, body, f"This update is {update.status}; it cannot be edited.")
            return
        from_home = (body.get("view") or {}).get("type") == "home"
        client.views_open(
            trigger_id=body["trigger_id"], view=kit.edit_modal(update, from_home=from_home)
        )

    @app.view(kit.EDIT_SUBMIT)
    def handle_edit_submit(ack, body, view, client):
        user = body["user"]["id"]
        if not role.allows(user, client):
            ack(response_action="errors", errors={"title": role.refusal_for(user, client)[:150]})
            return
        meta = json.loads(view.get("private_metadata") or "{}")
        values = view["state"]["values"]
        title, text = _value(values, "title"), _value(values, "body")
        wrong = text_problems(title, text)  # the block ids are the field names
        if wrong:
            ack(response_action="errors", errors=wrong)
            return
        ack()  # updating thousands of copies is queued after Slack has its answer
        outcome = container.broadcasts.edit(int(meta.get("id", 0)), user, title=title, body=text)
        client.chat_postMessage(channel=open_dm(client, user), text=escape(outcome.message))
        if meta.get("from_home"):
            publish_home(container, client, user)


# -- helpers -------------------------------------------------------------------------------
def compose_view(container, client) -> dict:
    groups: list[tuple[str, str]] = []
    try:
        response = client.usergroups_list(include_disabled=False)
        for group in response.get("usergroups") or []:
            label = f"@{group.get('handle') or group['id']}"
            if group.get("name"):
                label += f" — {group['name']}"
            groups.append((group["id"], label))
    except SlackApiError as exc:
        log.warning("Could not list user groups for the compose modal: %s", exc)
    return kit.compose_modal(usergroups=groups, departments=container.directory.departments())


def leader_timezone(container, client, user: str) -> str:
    """The leader's zone: from the directory, else from Slack, else the default."""
    if container.directory.get(user) is not None:
        return container.directory.timezone(user)
    try:
        return client.users_info(user=user)["user"].get("tz") or container.directory.timezone(user)
    except SlackApiError:
        return container.directory.timezone(user)


def _state(values: dict, block: str) -> dict:
    return (values.get(block) or {}).get(kit.VALUE) or {}


def _value(values: dict, block: str) -> str:
    return _state(values, block).get("value") or ""


def _selected(values: dict, block: str) -> list[str]:
    return [o["value"] for o in _state(values, block).get("selected_options") or []]


def read_draft(values: dict, *, key: str, author: str, tz: str) -> Draft:
    """The compose modal's state as a Draft (nothing checked yet)."""
    when = (_state(values, "when").get("selected_option") or {}).get("value", "now")
    at = _state(values, "at").get("selected_date_time")
    send_at = None
    if when == "later":
        # No time picked: the earliest moment there is, which `problems` reports.
        send_at = dt.datetime.fromtimestamp(int(at), dt.UTC) if at else NO_TIME
    return Draft(
        submission_key=key,
        author=author,
        title=_value(values, "title"),
        body=_value(values, "body"),
        audience=Audience(
            channels=tuple(_state(values, "channels").get("selected_conversations") or ()),
            usergroups=tuple(_selected(values, "usergroups")),
            departments=tuple(_selected(values, "departments")),
            everyone="everyone" in _selected(values, "everyone"),
        ),
        ask_ack="ack" in _selected(values, "ack"),
        send_at=send_at,
        local_time="local" in _selected(values, "local"),
        author_tz=tz,
    )


def slack_problems(container, client, draft: Draft) -> dict[str, str]:
    """What only Slack can tell: channels the bot is not in, user groups that are gone,
    and an audience that comes to nobody."""
    errors: dict[str, str] = {}
    outside = []
    for channel in draft.audience.channels:
        try:
            info = client.conversations_info(channel=channel)["channel"]
        except SlackApiError:
            outside.append(f"a private channel ({channel})")  # not in it: Slack hides it
            continue
        if not info.get("is_member"):
            outside.append(f"#{info['name']}" if info.get("name") else channel)
    if outside:
        errors["channels"] = (
            f"I am not in {', '.join(outside)}. Invite me there with /invite @changebot, "
            "then press Send again."
        )[:150]
    gone, members = [], 0
    for group in draft.audience.usergroups:
        try:
            members += len(usergroup_members(client, group))
        except (LookupError, SlackApiError):
            gone.append(group)
    if gone:
        errors["usergroups"] = (
            f"This user group no longer exists: {', '.join(gone)}. Remove it from the list."
        )[:150]
    audience = draft.audience
    if errors or audience.channels or members or not audience.has_people:
        return errors
    # Only the directory is left to ask (the groups' members were counted above).
    if not container.broadcasts.people(
        Audience(departments=audience.departments, everyone=audience.everyone)
    ):
        target = "usergroups" if audience.usergroups else "departments"
        if not audience.usergroups and not audience.departments:
            target = "everyone"
        errors[target] = (
            "Nobody is in this audience yet (is the directory synced? changebot directory sync)."
        )
    return errors


def _clicked(body: dict) -> tuple[str, str, dict]:
    """(channel, message ts, message) of the button that was pressed."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id", "")
    return channel, container.get("message_ts") or message.get("ts", ""), message

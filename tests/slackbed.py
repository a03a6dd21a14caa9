"""Test bed for Slack scenarios: real payloads, request signing, the app over real HTTP."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import uvicorn

from bot.slack.http import SlackHttpApp

# Copies of ../shared/slack-payloads (bolt-python's own fixtures), kept with the tests so a
# clean checkout runs anywhere.
PAYLOADS = Path(__file__).resolve().parent / "payloads"
SIGNING_SECRET = "test-signing-secret"
TEAM_CHANNEL = "CTEAM"
BOT_USER = "UBOT"


def load_payload(name: str) -> dict:
    """A real Slack request body from ../shared/slack-payloads (bolt-python's fixtures)."""
    path = PAYLOADS / f"{name}.json"
    return copy.deepcopy(json.loads(path.read_text(encoding="utf-8"))["payload"])


def sign(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


class BotServer:
    """The app in HTTP mode (uvicorn + SlackHttpApp) on a free port of 127.0.0.1."""

    def __init__(self, app) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        asgi = SlackHttpApp(app, signing_secret=SIGNING_SECRET)
        config = uvicorn.Config(asgi, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()

    def post(self, body: str, *, content_type: str, headers: dict | None = None):
        """POST to /slack/events; returns (status, body text)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body.encode("utf-8"),
            headers={"Content-Type": content_type, **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def send_event(self, payload: dict, *, signed: bool = True, headers: dict | None = None):
        body = json.dumps(payload)
        extra = sign(body) if signed else {}
        return self.post(
            body, content_type="application/json", headers={**extra, **(headers or {})}
        )

    def send_interaction(self, payload: dict):
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, content_type="application/x-www-form-urlencoded", headers=sign(body))

    def send_command(self, fields: dict):
        body = urlencode(fields)
        return self.post(body, content_type="application/x-www-form-urlencoded", headers=sign(body))


_ts = itertools.count(1)


def next_ts() -> str:
    return f"1726133700.{next(_ts):06d}"


def dm_event(text: str, *, event_id: str, user: str = "U1", thread_ts: str | None = None):
    payload = load_payload("event_message_im")
    event = payload["event"]
    event.update({"text": text, "user": user, "ts": next_ts(), "channel": "D111"})
    event.pop("thread_ts", None)
    event.pop("parent_user_id", None)
    if thread_ts:
        event["thread_ts"] = thread_ts
    payload["event_id"] = event_id
    return payload


# -- payload builders for scenario tests (shapes from tests/payloads) ----------------------
def unique_event_id() -> str:
    return f"Ev{next(_ts):08d}"


def mention_event(
    text: str,
    *,
    event_id: str | None = None,
    user: str = "U1",
    channel: str = "C111",
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict:
    """An app_mention callback (event_app_mention.json) in a public channel."""
    payload = load_payload("event_app_mention")
    event = payload["event"]
    ts = ts or next_ts()
    event.update({"text": text, "user": user, "channel": channel, "ts": ts, "event_ts": ts})
    if thread_ts:
        event["thread_ts"] = thread_ts
    payload["event_id"] = event_id or unique_event_id()
    return payload


def message_event(
    text: str | None,
    *,
    event_id: str | None = None,
    user: str | None = "U1",
    channel: str = "C111",
    channel_type: str = "channel",
    ts: str | None = None,
    thread_ts: str | None = None,
    **fields,
) -> dict:
    """A `message` callback (event_message_im.json's shape) in any kind of conversation.

    Extra keyword arguments (subtype, bot_id, files, message, ...) go into the event as is;
    `user=None` leaves the user out, as Slack does for message_changed and friends."""
    payload = load_payload("event_message_im")
    event = payload["event"]
    for key in ("thread_ts", "parent_user_id", "user", "text"):
        event.pop(key, None)
    ts = ts or next_ts()
    event.update({"channel": channel, "channel_type": channel_type, "ts": ts, "event_ts": ts})
    if user is not None:
        event["user"] = user
    if text is not None:
        event["text"] = text
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(fields)
    payload["event_id"] = event_id or unique_event_id()
    return payload


def app_home_opened_event(*, user: str = "U1", event_id: str | None = None) -> dict:
    payload = load_payload("event_app_home_opened_home")
    payload["event"]["user"] = user
    payload["event_id"] = event_id or unique_event_id()
    return payload


def messages_tab_opened_event(*, user: str = "U1", event_id: str | None = None) -> dict:
    """`app_home_opened` for the Messages tab: the agent view's "the DM was opened"."""
    payload = app_home_opened_event(user=user, event_id=event_id)
    payload["event"].update(tab="messages", channel="D111")
    return payload


def app_context_changed_event(
    entities: list[dict], *, user: str = "U1", event_id: str | None = None
) -> dict:
    """`app_context_changed` (agent view): what the person is looking at, as Slack's reference
    shows it (docs.slack.dev/reference/events/app_context_changed)."""
    payload = app_home_opened_event(user=user, event_id=event_id)
    payload["event"] = {
        "type": "app_context_changed",
        "user": user,
        "context": {"entities": entities} if entities else {},
        "event_ts": next_ts(),
    }
    return payload


def assistant_thread_started_event(
    *,
    user: str = "U1",
    channel: str = "D111",
    thread_ts: str = "1726133698.626339",
    event_id: str | None = None,
) -> dict:
    payload = load_payload("event_assistant_thread_started")
    thread = payload["event"]["assistant_thread"]
    thread.update({"user_id": user, "channel_id": channel, "thread_ts": thread_ts})
    payload["event_id"] = event_id or unique_event_id()
    return payload


def assistant_message_event(
    text: str,
    *,
    user: str = "U1",
    channel: str = "D111",
    thread_ts: str = "1726133698.626339",
    event_id: str | None = None,
) -> dict:
    """A user's message inside an assistant thread (event_message_im.json as is, re-addressed)."""
    payload = load_payload("event_message_im")
    event = payload["event"]
    ts = next_ts()
    event.update(
        {
            "text": text,
            "user": user,
            "parent_user_id": user,
            "channel": channel,
            "thread_ts": thread_ts,
            "ts": ts,
            "event_ts": ts,
        }
    )
    payload["event_id"] = event_id or unique_event_id()
    return payload


def command_fields(
    text: str,
    *,
    command: str = "/ask",
    user: str = "U1",
    channel: str = "C111",
    response_url: str | None = None,
) -> dict:
    """Form fields of a slash command (slash_command.json's `parsed`)."""
    fields = dict(load_payload("slash_command")["parsed"])
    fields.update({"command": command, "text": text, "user_id": user, "channel_id": channel})
    fields["trigger_id"] = f"{next_ts()}.xxx"  # Slack gives every invocation its own
    if response_url is not None:
        fields["response_url"] = response_url
    return fields


def block_action(
    action_id: str,
    value: str,
    *,
    user: str = "U1",
    channel: str = "C111",
    message: dict | None = None,
    response_url: str | None = None,
) -> dict:
    """A button click (interactive_block_actions.json).

    With `message` (a message as the emulator stored it) the click is on that message;
    without, it is on an ephemeral message, which Slack sends without a `message` field."""
    payload = load_payload("interactive_block_actions")
    payload["user"].update({"id": user, "username": user.lower(), "name": user.lower()})
    payload["channel"] = {"id": channel, "name": channel.lower()}
    container = {"type": "message", "channel_id": channel}
    if message is not None:
        container.update(message_ts=message["ts"], is_ephemeral=False)
        if message.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"]
        payload["message"] = copy.deepcopy(message)
    else:
        container.update(message_ts=next_ts(), is_ephemeral=True)
    payload["container"] = container
    if response_url is not None:
        payload["response_url"] = response_url
    action = payload["actions"][0]
    action.update({"action_id": action_id, "value": value, "action_ts": next_ts()})
    payload["trigger_id"] = f"{next_ts()}.valid"  # every click gets its own from Slack
    block_id = (message and _block_id_of(message, action_id)) or "b"
    action["block_id"] = block_id
    return payload


def _block_id_of(message: dict, action_id: str) -> str | None:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return block.get("block_id")
    return None


def view_state(view: dict, answers: dict[str, object]) -> dict:
    """`view.state.values` as Slack sends it for `answers` ({block_id: value}) in `view`.

    A radio_buttons / static_select answer is an option's `value` (the whole option is sent,
    as Slack does); checkboxes / multi_static_select take a list of option values,
    multi_conversations_select a list of channel ids, datetimepicker a Unix time; a
    plain_text_input answer is the typed text. Blocks left out are sent
    empty, as Slack sends an input nobody touched."""
    values: dict[str, dict] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind, answer = element["type"], answers.get(block["block_id"])
        if kind in ("radio_buttons", "static_select"):
            chosen = [o for o in element.get("options", []) if o["value"] == str(answer)]
            if answer is not None and not chosen:
                raise ValueError(f"{answer!r} is not an option of block {block['block_id']}")
            state = {"type": kind, "selected_option": copy.deepcopy(chosen[0]) if chosen else None}
        elif kind in ("checkboxes", "multi_static_select"):
            wanted = [str(a) for a in answer or []]
            chosen = [o for o in element.get("options", []) if o["value"] in wanted]
            if len(chosen) != len(set(wanted)):
                raise ValueError(f"{answer!r} are not all options of block {block['block_id']}")
            state = {"type": kind, "selected_options": copy.deepcopy(chosen)}
        elif kind == "multi_conversations_select":
            state = {"type": kind, "selected_conversations": list(answer or [])}
        elif kind == "datetimepicker":
            state = {"type": kind, "selected_date_time": None if answer is None else int(answer)}
        else:
            state = {"type": kind, "value": None if answer is None else str(answer)}
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def view_submission(view: dict, answers: dict[str, object], *, user: str = "U1") -> dict:
    """A modal's submit (interactive_view_submission.json) for `view` as the app opened it.

    `view` is the view as the emulator stored it on views.open (id, hash, blocks,
    private_metadata, callback_id); `answers` is {block_id: value}, see `view_state`."""
    payload = load_payload("interactive_view_submission")
    payload["user"].update({"id": user, "username": user.lower(), "name": user.lower()})
    payload["trigger_id"] = f"{next_ts()}.valid"
    submitted = payload["view"]
    keys = ("id", "hash", "blocks", "private_metadata", "callback_id", "title", "submit", "close")
    submitted.update({key: copy.deepcopy(view[key]) for key in keys if key in view})
    submitted["root_view_id"] = submitted["id"]
    submitted["state"] = {"values": view_state(view, answers)}
    return payload

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

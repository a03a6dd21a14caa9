"""HTTP mode: the ASGI front door checks signatures and bodies before Bolt sees anything."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.slack.http import SlackHttpApp

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
EVENTS = "/slack/events"
EVENT_BODY = json.dumps(
    {
        "type": "event_callback",
        "event_id": "Ev1",
        "event": {"type": "app_mention", "text": "<@UBOT> hi", "user": "U1", "channel": "C1"},
    }
).encode()


class StubBolt:
    """Stands in for slack_bolt.App: records what it is asked to dispatch."""

    def __init__(self, response: BoltResponse | None = None) -> None:
        self.requests = []
        self.response = response or BoltResponse(status=200, body="")

    def dispatch(self, request):
        self.requests.append(request)
        return self.response


def sign(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, *, age: float = 0, content_type="application/json", **extra):
    timestamp = str(int(time.time() - age))
    headers = {
        "content-type": content_type,
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": sign(body, timestamp),
    }
    return headers | extra


class Response:
    def __init__(self, messages: list[dict]) -> None:
        start, *bodies = messages
        assert start["type"] == "http.response.start"
        assert all(m["type"] == "http.response.body" for m in bodies)
        self.status = start["status"]
        self.headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
        self.body = b"".join(m.get("body", b"") for m in bodies)
        assert int(self.headers["content-length"]) == len(self.body)


def call(
    app,
    *,
    method="POST",
    path=EVENTS,
    body=b"",
    headers=None,
    query=b"",
    chunks: int = 1,
) -> Response:
    """Drive the ASGI app once, as uvicorn would, and collect what it sends."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "headers": [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()
        ],
    }
    size = max(1, -(-len(body) // chunks))
    parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    incoming = [
        {"type": "http.request", "body": part, "more_body": n < len(parts) - 1}
        for n, part in enumerate(parts)
    ]
    sent: list[dict] = []

    async def receive():
        if incoming:
            return incoming.pop(0)
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return Response(sent)


@pytest.fixture
def bolt() -> StubBolt:
    return StubBolt()


@pytest.fixture
def app(bolt) -> SlackHttpApp:
    return SlackHttpApp(bolt, signing_secret=SECRET)


def test_our_signature_is_what_slack_sdk_accepts():
    headers = signed_headers(EVENT_BODY)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(
        body=EVENT_BODY,
        timestamp=headers["x-slack-request-timestamp"],
        signature=headers["x-slack-signature"],
    )


# -- rejected before Bolt -------------------------------------------------------------------
def test_bad_signature_is_401_and_never_dispatched(app, bolt):
    headers = signed_headers(EVENT_BODY)
    headers["x-slack-signature"] = sign(EVENT_BODY, headers["x-slack-request-timestamp"], "nope")
    response = call(app, body=EVENT_BODY, headers=headers)
    assert response.status == 401
    assert bolt.requests == []


def test_tampered_body_is_401(app, bolt):
    headers = signed_headers(EVENT_BODY)
    response = call(app, body=EVENT_BODY.replace(b"hi", b"ho"), headers=headers)
    assert response.status == 401
    assert bolt.requests == []


@pytest.mark.parametrize("missing", ["x-slack-signature", "x-slack-request-timestamp"])
def test_missing_signature_headers_are_401(app, bolt, missing):
    headers = signed_headers(EVENT_BODY)
    del headers[missing]
    response = call(app, body=EVENT_BODY, headers=headers)
    assert response.status == 401
    assert bolt.requests == []


@pytest.mark.parametrize("age", [600, -600], ids=["ten-minutes-old", "ten-minutes-ahead"])
def test_correctly_signed_but_stale_request_is_401(app, bolt, age):
    response = call(app, body=EVENT_BODY, headers=signed_headers(EVENT_BODY, age=age))
    assert response.status == 401
    assert bolt.requests == []


@pytest.mark.parametrize("timestamp", ["yesterday", "", "-1", "1.5e9", " ", "12 34"])
def test_non_numeric_timestamp_is_401_not_a_crash(app, bolt, timestamp):
    headers = {
        "content-type": "application/json",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": sign(EVENT_BODY, timestamp),
    }
    response = call(app, body=EVENT_BODY, headers=headers)
    assert response.status == 401
    assert bolt.requests == []


@pytest.mark.parametrize("timestamp", ["\u00b2", "9" * 5000], ids=["superscript", "huge"])
def test_digit_like_timestamp_is_401_not_a_crash(app, bolt, timestamp):
    headers = {
        "content-type": "application/json",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": "v0=" + "0" * 64,
    }
    response = call(app, body=EVENT_BODY, headers=headers)
    assert response.status == 401
    assert bolt.requests == []


# -- signed but malformed -------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [b'{"type": "event_callback", ', b"[1, 2, 3]", b'"just a string"', b"{}}"],
    ids=["truncated", "array", "string", "trailing"],
)
def test_signed_malformed_json_is_400(app, bolt, body):
    response = call(app, body=body, headers=signed_headers(body))
    assert response.status == 400
    assert bolt.requests == []


@pytest.mark.parametrize(
    "body",
    [
        urlencode({"payload": "not json"}).encode(),
        urlencode({"payload": "[1, 2]"}).encode(),
        b"",
        b"no-equals-sign",
    ],
    ids=["payload-not-json", "payload-not-object", "empty", "not-a-form"],
)
def test_signed_malformed_form_is_400(app, bolt, body):
    form = "application/x-www-form-urlencoded"
    response = call(app, body=body, headers=signed_headers(body, content_type=form))
    assert response.status == 400
    assert bolt.requests == []


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"a": ' + DEEP + b"}", "application/json"),
        (
            b"payload=%7B%22a%22%3A" + b"%5B" * 99_000 + b"%5D" * 99_000 + b"%7D",
            "application/x-www-form-urlencoded",
        ),
        (b'{"type": "event_callback", "text": "\xff\xfe"}', "application/json"),
        (b"command=%2Fask&text=caf%E9", "application/x-www-form-urlencoded"),
        (b'{"type": "event_callback", "n": ' + b"9" * 5000 + b"}", "application/json"),
    ],
    ids=["nested-json", "nested-payload", "bad-utf8-json", "bad-utf8-form", "huge-int"],
)
def test_signed_body_that_cannot_be_parsed_is_400_never_500(app, bolt, body, content_type):
    response = call(app, body=body, headers=signed_headers(body, content_type=content_type))
    assert response.status == 400
    assert bolt.requests == []


# -- passed to Bolt -------------------------------------------------------------------------
def test_signed_json_event_is_dispatched_once_and_the_response_passed_through():
    reply = BoltResponse(status=200, body={"challenge": "abc"}, headers={"x-extra": "1"})
    bolt = StubBolt(reply)
    app = SlackHttpApp(bolt, signing_secret=SECRET)
    response = call(app, body=EVENT_BODY, headers=signed_headers(EVENT_BODY), chunks=3)
    assert response.status == 200
    assert json.loads(response.body) == {"challenge": "abc"}
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-extra"] == "1"
    (request,) = bolt.requests
    assert request.raw_body == EVENT_BODY.decode()
    assert request.body["event"]["type"] == "app_mention"
    assert request.headers["x-slack-signature"] == [signed_headers(EVENT_BODY)["x-slack-signature"]]


@pytest.mark.parametrize("status", [200, 404, 500])
def test_bolt_status_and_body_are_passed_through(status):
    bolt = StubBolt(BoltResponse(status=status, body="from bolt"))
    app = SlackHttpApp(bolt, signing_secret=SECRET)
    response = call(app, body=EVENT_BODY, headers=signed_headers(EVENT_BODY))
    assert response.status == status
    assert response.body == b"from bolt"
    assert len(bolt.requests) == 1


def test_signed_interactive_form_is_dispatched(app, bolt):
    payload = {"type": "block_actions", "actions": [{"action_id": "escalate", "value": "7"}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    form = "application/x-www-form-urlencoded"
    response = call(app, body=body, headers=signed_headers(body, content_type=form))
    assert response.status == 200
    (request,) = bolt.requests
    assert request.body["actions"][0]["value"] == "7"


def test_signed_slash_command_form_is_dispatched(app, bolt):
    body = urlencode({"command": "/ask", "text": "when is launch?", "user_id": "U1"}).encode()
    form = "application/x-www-form-urlencoded"
    response = call(app, body=body, headers=signed_headers(body, content_type=form))
    assert response.status == 200
    (request,) = bolt.requests
    assert request.body["text"] == "when is launch?"


# -- routing --------------------------------------------------------------------------------
def test_health_check(app, bolt):
    response = call(app, method="GET", path="/health")
    assert response.status == 200
    assert response.body == b"ok"
    assert bolt.requests == []


@pytest.mark.parametrize("path", ["/", "/slack/event", "/slack/events/x", "/admin"])
def test_other_paths_are_404(app, bolt, path):
    response = call(app, path=path, body=EVENT_BODY, headers=signed_headers(EVENT_BODY))
    assert response.status == 404
    assert bolt.requests == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_events_path_only_takes_post(app, bolt, method):
    response = call(app, method=method)
    assert response.status == 405
    assert bolt.requests == []


def test_custom_events_path(bolt):
    app = SlackHttpApp(bolt, signing_secret=SECRET, path="/hooks/slack")
    assert call(app, body=EVENT_BODY, headers=signed_headers(EVENT_BODY)).status == 404
    moved = call(app, path="/hooks/slack", body=EVENT_BODY, headers=signed_headers(EVENT_BODY))
    assert moved.status == 200
    assert len(bolt.requests) == 1


# -- lifespan -------------------------------------------------------------------------------
def test_lifespan_startup_and_shutdown_are_answered(app):
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict] = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    async def run():
        await asyncio.wait_for(
            app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send), 5
        )

    asyncio.run(run())
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert incoming == []


def test_unsigned_body_that_is_not_utf8_is_401_not_a_crash(app, bolt):
    body = b'{"type": "event_callback", "text": "\xff\xfe"}'
    headers = signed_headers(body)
    headers["x-slack-signature"] = "v0=" + "0" * 64
    response = call(app, body=body, headers=headers)
    assert response.status == 401
    assert bolt.requests == []

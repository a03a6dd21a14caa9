"""HTTP mode: Starlette in front of Bolt for deployments behind a load balancer.

Nothing unauthenticated costs memory: the signature headers are checked (present,
plausible, inside Slack's 5-minute window) before a byte of the body is read, a body
larger than `max_body` is refused with 413 (from Content-Length without reading it, or
as soon as a chunked body grows past it), and a body that does not arrive within
`body_timeout` seconds is refused with 408. Only then is the signature verified and the
body parsed; a signed body that does not parse is a 400, never a 500.

Each step is a small function (they were written for a hand-made ASGI wrapper and now
run inside a Starlette endpoint unchanged).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Sequence
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Slack's payloads are a few KiB; 1 MiB is generous
BODY_TIMEOUT = 10.0  # seconds for the whole body to arrive once the headers are in
WINDOW = 300  # Slack's replay window: a timestamp further away is refused
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class Refused(Exception):
    """The request is answered with `status` and `message` without going further."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SlackHttpApp(Starlette):
    """Starlette in front of Bolt: `POST <path>` for Slack, `GET /health`, and any other
    routes handed in (`mounts`, e.g. the web console at /console).

    Bolt's own Starlette adapter converts the request and the response
    (`to_bolt_request`, `to_starlette_response`); its handler is not used as a whole
    because it reads the body before anyone has checked the signature headers, and
    runs Bolt's dispatch on the event loop. Here the checks above run first, and
    `dispatch` runs in a worker thread.
    """

    def __init__(
        self,
        app: App,
        *,
        signing_secret: str,
        path: str = "/slack/events",
        max_body: int = MAX_BODY,
        body_timeout: float = BODY_TIMEOUT,
        mounts: Sequence[BaseRoute] = (),
    ) -> None:
        self.bolt = app
        self.secret = signing_secret.encode("utf-8")
        self.path = path
        self.max_body = max_body
        self.body_timeout = body_timeout
        super().__init__(
            routes=[
                Route("/health", _health, methods=["GET"]),
                Route(path, self.events, methods=["POST"]),
                *mounts,
            ]
        )

    async def events(self, request: Request) -> Response:
        headers = _headers(request.scope)
        try:
            timestamp, signature = signature_headers(headers, now=time.time())
            check_declared_length(headers, self.max_body)
            body = await read_body(request.receive, limit=self.max_body, timeout=self.body_timeout)
            if not signed_by_slack(self.secret, timestamp, body, signature):
                raise Refused(401, "invalid signature")
            parse_body(body, _first(headers, "content-type"))
        except Refused as refused:
            if refused.status != 401:
                log.info("Refused a request to %s: %s", self.path, refused.message)
            # Close the connection: the rest of an unread body is not worth reading.
            return PlainTextResponse(
                refused.message, refused.status, headers={"connection": "close"}
            )
        bolt_response = await run_in_threadpool(self.bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)


async def _health(request: Request) -> Response:
    return PlainTextResponse("ok")


def signature_headers(headers: dict[str, list[str]], *, now: float) -> tuple[str, str]:
    """(timestamp, signature) when both are present, well formed and the time is recent.

    Checked before the body is read: a request without them is refused for free."""
    timestamp = _first(headers, "x-slack-request-timestamp").strip()
    signature = _first(headers, "x-slack-signature").strip()
    plausible = (
        timestamp.isascii()
        and timestamp.isdigit()
        and len(timestamp) <= 12
        and abs(now - int(timestamp)) <= WINDOW
        and _SIGNATURE.fullmatch(signature)
    )
    if not plausible:
        raise Refused(401, "invalid signature")
    return timestamp, signature


def signed_by_slack(secret: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """Slack's v0 signature over the raw bytes (slack_sdk's verifier decodes the body
    first, so a body that is not UTF-8 would crash it before it says "no")."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def check_declared_length(headers: dict[str, list[str]], limit: int) -> None:
    """A Content-Length over the limit is refused before the body is read."""
    declared = _first(headers, "content-length").strip()
    if not declared:
        return  # chunked: read_body counts as it goes
    if not (declared.isascii() and declared.isdigit()):
        raise Refused(400, "bad content-length")
    if int(declared) > limit:
        raise Refused(413, f"request body too large (limit {limit} bytes)")


async def read_body(receive, *, limit: int, timeout: float) -> bytes:
    """The body, or Refused(413) as soon as it grows past `limit`, or Refused(408) when it
    has not all arrived within `timeout` seconds (a client dripping bytes)."""
    chunks: list[bytes] = []
    size = 0
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            message = await asyncio.wait_for(receive(), max(remaining, 0))
        except TimeoutError:
            raise Refused(408, "request body too slow") from None
        if message["type"] == "http.disconnect":
            raise Refused(400, "client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"request body too large (limit {limit} bytes)")
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def parse_body(body: bytes, content_type: str) -> str:
    """The body as text when Bolt can take it: a JSON object, form fields, or form fields
    with a JSON object in `payload`. Anything else (bad UTF-8, nesting too deep for the
    parser, …) is a 400."""
    try:
        text = body.decode("utf-8")
        if content_type.startswith("application/json") or text.lstrip().startswith("{"):
            well_formed = isinstance(json.loads(text), dict)
        else:
            fields = parse_qs(text, strict_parsing=True, errors="strict")
            if "payload" in fields:
                well_formed = isinstance(json.loads(fields["payload"][0]), dict)
            else:
                well_formed = bool(fields)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        well_formed = False
    if not well_formed:
        raise Refused(400, "malformed request body")
    return text


def _first(headers: dict[str, list[str]], name: str) -> str:
    return (headers.get(name) or [""])[0]


def _headers(scope) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers

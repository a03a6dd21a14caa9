"""HTTP mode: an ASGI app in front of Bolt for deployments behind a load balancer.

It checks the signature (and the 5-minute timestamp window) before any work and
turns a malformed body into 400 instead of an exception.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)


class SlackHttpApp:
    def __init__(self, app: App, *, signing_secret: str, path: str = "/slack/events") -> None:
        self.app = app
        self.verifier = SignatureVerifier(signing_secret)
        self.path = path

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/health" and method == "GET":
            await _send(send, 200, b"ok")
            return
        if path != self.path:
            await _send(send, 404, b"not found")
            return
        if method != "POST":
            await _send(send, 405, b"method not allowed")
            return
        body = await _read_body(receive)
        headers = _headers(scope)
        timestamp = headers.get("x-slack-request-timestamp", [""])[0].strip()
        signature = headers.get("x-slack-signature", [""])[0].strip()
        plausible = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12
        if not (plausible and signature) or not self.verifier.is_valid(
            body=body, timestamp=timestamp, signature=signature
        ):
            await _send(send, 401, b"invalid signature")
            return
        text = body.decode("utf-8", errors="replace")
        if not _well_formed(text, headers.get("content-type", [""])[0]):
            await _send(send, 400, b"malformed request body")
            return
        request = BoltRequest(
            body=text, query=scope.get("query_string", b"").decode(), headers=headers
        )
        response = await asyncio.to_thread(self.app.dispatch, request)
        payload = response.body.encode("utf-8") if isinstance(response.body, str) else b""
        extra = [
            (name.encode(), value.encode())
            for name, values in response.headers.items()
            for value in values
            if name.lower() != "content-length"
        ]
        await _send(send, response.status, payload, extra)


def _well_formed(text: str, content_type: str) -> bool:
    """Bolt expects a JSON object, form fields, or form fields with a JSON `payload`."""
    try:
        if content_type.startswith("application/json") or text.lstrip().startswith("{"):
            return isinstance(json.loads(text), dict)
        fields = parse_qs(text, strict_parsing=True)
        if "payload" in fields:
            return isinstance(json.loads(fields["payload"][0]), dict)
        return bool(fields)
    except ValueError:
        return False


async def _read_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _headers(scope) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return headers


async def _send(send, status: int, body: bytes, headers=None) -> None:
    base = [(b"content-length", str(len(body)).encode())]
    if not any(name == b"content-type" for name, _ in headers or []):
        base.append((b"content-type", b"text/plain; charset=utf-8"))
    await send({"type": "http.response.start", "status": status, "headers": base + (headers or [])})
    await send({"type": "http.response.body", "body": body})

"""HTTP mode under attack, through a real uvicorn server on a free port of 127.0.0.1.

What the server reads is counted at the ASGI boundary (between uvicorn and our front
door), so "the app stopped reading" is measured, not assumed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import threading
import time

import pytest
import uvicorn
from conftest import make_settings
from slack_bolt.response import BoltResponse

from bot.slack.runner import http_front_door, uvicorn_config

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MIB = 1024 * 1024
EVENT = json.dumps({"type": "event_callback", "event_id": "Ev1", "event": {"type": "x"}}).encode()


class StubBolt:
    def __init__(self) -> None:
        self.requests = []

    def dispatch(self, request):
        self.requests.append(request)
        return BoltResponse(status=200, body="")


class Counting:
    """ASGI wrapper: how many body bytes the app under it has taken from uvicorn."""

    def __init__(self, app) -> None:
        self.app = app
        self.read = 0
        self.active = 0  # requests inside the app right now

    async def __call__(self, scope, receive, send):
        async def counted():
            message = await receive()
            self.read += len(message.get("body", b""))
            return message

        self.active += 1
        try:
            await self.app(scope, counted, send)
        finally:
            self.active -= 1


@contextlib.contextmanager
def serving(**settings):
    """A stub Bolt behind our front door, served by uvicorn as `run --http` serves it."""
    values = {"slack_signing_secret": SECRET, **settings}
    config_settings = make_settings(**values)
    bolt = StubBolt()
    app = Counting(http_front_door(bolt, config_settings))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn_config(app, config_settings, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield sock.getsockname()[1], app, bolt
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def signed(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + mac.hexdigest()}


def head(port: int, headers: dict[str, str]) -> bytes:
    lines = ["POST /slack/events HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(response: bytes) -> int | None:
    if not response.startswith(b"HTTP/1.1 "):
        return None
    return int(response.split(b" ", 2)[1])


def stream(port: int, headers: dict[str, str], *, total: int, chunked: bool) -> tuple[int, bytes]:
    """Send up to `total` body bytes as fast as the server takes them; stop when it answers
    or stops reading. Returns (body bytes the socket accepted, what the server said)."""
    piece = b"x" * (64 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(head(port, headers))
        client.settimeout(2)  # a server that stops reading shows as a send that blocks
        try:
            while sent < total:
                data = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
                client.sendall(data)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        client.settimeout(5)
        try:
            response = client.recv(65536)
        except (ConnectionResetError, TimeoutError):
            response = b""
    return sent, response


# -- item 11: nothing unauthenticated costs memory ------------------------------------------
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_unsigned_huge_body_is_refused_before_it_is_read(chunked):
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(400 * MIB)}
    with serving() as (port, app, bolt):
        sent, response = stream(
            port, {"Content-Type": "application/json", **framing}, total=400 * MIB, chunked=chunked
        )
    assert status_of(response) == 401
    assert app.read == 0  # not one byte of it was taken in
    assert sent < 64 * MIB  # and the client was cut off long before 400 MiB
    assert bolt.requests == []


def test_signed_looking_huge_content_length_is_413_without_reading_the_body():
    headers = {"Content-Type": "application/json", "Content-Length": str(400 * MIB), **signed(b"")}
    with serving() as (port, app, bolt):
        sent, response = stream(port, headers, total=400 * MIB, chunked=False)
    assert status_of(response) == 413
    assert app.read == 0
    assert sent < 64 * MIB
    assert bolt.requests == []


def test_chunked_body_growing_past_the_cap_is_413_and_reading_stops():
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked", **signed(b"")}
    with serving() as (port, app, bolt):
        sent, response = stream(port, headers, total=400 * MIB, chunked=True)
    assert status_of(response) == 413
    assert app.read <= 2 * MIB  # stopped at the first chunk past the 1 MiB cap
    assert sent < 64 * MIB
    assert bolt.requests == []


def test_body_cap_comes_from_settings():
    body = b'{"type": "event_callback", "pad": "' + b"x" * 5000 + b'"}'
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    with (
        serving(http_max_body_bytes=4096) as (port, _, bolt),
        socket.create_connection(("127.0.0.1", port), timeout=5) as client,
    ):
        client.sendall(head(port, headers | signed(body)) + body)
        assert status_of(client.recv(65536)) == 413

    assert bolt.requests == []


def test_slow_drip_body_is_cut_off_after_the_body_timeout():
    body = EVENT
    headers = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    with (
        serving(http_body_timeout=1.0) as (port, _, bolt),
        socket.create_connection(("127.0.0.1", port), timeout=5) as client,
    ):
        client.sendall(head(port, headers | signed(body)))
        client.settimeout(0.3)
        response, dripped = b"", 0
        started = time.monotonic()
        while not response and dripped < len(body) and time.monotonic() - started < 8:
            client.sendall(body[dripped : dripped + 1])  # one byte every 0.3 s
            dripped += 1
            with contextlib.suppress(TimeoutError):
                response = client.recv(65536)

    assert status_of(response) == 408
    assert dripped < len(body)  # cut off before the client finished
    assert bolt.requests == []


def test_a_complete_signed_request_still_goes_through():
    headers = {"Content-Type": "application/json", "Content-Length": str(len(EVENT))}
    with (
        serving() as (port, _, bolt),
        socket.create_connection(("127.0.0.1", port), timeout=5) as client,
    ):
        client.sendall(head(port, headers | signed(EVENT)) + EVENT)
        assert status_of(client.recv(65536)) == 200

    assert len(bolt.requests) == 1


def test_connections_beyond_the_limit_get_503():
    headers = {"Content-Type": "application/json", "Content-Length": str(len(EVENT))}
    with serving(http_max_connections=3, http_body_timeout=5.0) as (port, app, _):
        holders = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
        try:
            for holder in holders:  # two requests stuck waiting for their bodies
                holder.sendall(head(port, headers | signed(EVENT)))
            deadline = time.monotonic() + 5
            while app.active < 2:  # (uvicorn counts the new connection itself too)
                assert time.monotonic() < deadline
                time.sleep(0.02)
            with socket.create_connection(("127.0.0.1", port), timeout=5) as third:
                third.sendall(head(port, headers | signed(EVENT)) + EVENT)
                assert status_of(third.recv(65536)) == 503
        finally:
            for holder in holders:
                holder.close()


def test_idle_keep_alive_connection_is_closed_after_the_setting():
    headers = {"Content-Type": "application/json", "Content-Length": str(len(EVENT))}
    with (
        serving(http_keepalive_timeout=0.5) as (port, _, _),
        socket.create_connection(("127.0.0.1", port), timeout=5) as client,
    ):
        client.sendall(head(port, headers | signed(EVENT)) + EVENT)
        assert status_of(client.recv(65536)) == 200
        client.settimeout(2.5)  # uvicorn's default (5 s) would still be holding it
        assert client.recv(65536) == b""  # the server hung up

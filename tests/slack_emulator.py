"""A local Slack Web API emulator for tests.

Why a real HTTP server instead of mocking ``WebClient``: the bot's behaviour under Slack's
failure modes (429 + ``Retry-After``, 5xx, slow answers, ``ok: false`` errors) lives in
slack_sdk's HTTP layer and retry handlers. Only a server on a socket exercises that code path,
the form/JSON body encodings slack_sdk picks per method, and files_upload_v2's three-step upload.

Usage::

    with SlackEmulator() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert slack.calls_to("chat.postMessage")[0].params["text"] == "hi"

State is plain attributes (``users``, ``usergroups``, ``channel_members``, ``missing_channels``,
...) that tests set directly. Every request is recorded as a ``Call``, including failed attempts.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

BOT_USER_ID, BOT_ID, TEAM_ID = "UBOT", "BBOT", "T111"
# Fields slack_sdk JSON-encodes into a string when it sends a form body; decoded on arrival so
# tests see the same structure whichever encoding the method used.
JSON_STRING_FIELDS = ("blocks", "attachments", "metadata", "view", "files", "prompts", "chunks")
VALID_TOKEN_PREFIXES = ("xoxb-", "xoxp-")


@dataclass
class Call:
    """One request as the emulator saw it. ``status``/``error`` tell attempts from successes."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    time: float  # time.monotonic() on arrival, so retry back-off gaps can be measured
    status: int = 200
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: int
    remaining: int


@dataclass
class _Chaos:
    p429: float
    p500: float
    retry_after: int
    rng: random.Random


class SlackError(Exception):
    """Raised by a method handler to answer ``{"ok": false, "error": <code>}`` with HTTP 200."""


@dataclass
class SlackState:
    """What the emulator accumulated while serving (``emulator.state``); ``reset()`` replaces it.

    Read it after the calls under test have been answered (or after ``wait_for``).
    """

    calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[dict]] = field(default_factory=dict)  # channel -> in post order
    ephemerals: list[dict] = field(default_factory=list)
    views: dict[str, dict] = field(default_factory=dict)  # view id -> view
    home_tabs: dict[str, dict] = field(default_factory=dict)  # user id -> published view
    files: dict[str, dict] = field(default_factory=dict)  # file id -> metadata
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> uploaded bytes
    failures: dict[str, list[_Failure]] = field(default_factory=dict)  # from fail_next()
    delays: dict[str, float] = field(default_factory=dict)  # from delay()
    chaos: dict[str, _Chaos] = field(default_factory=dict)  # from chaos()


class SlackEmulator:
    """Serves the Slack Web API subset the bot uses on 127.0.0.1:<random port>.

    Fixtures (set before or during a test; ``reset()`` keeps them):
    ``users`` (id -> user dict), ``usergroups`` (id -> {"handle", "users"}),
    ``channel_members`` (channel -> [user ids]), ``channels`` (channel -> extra info fields),
    ``missing_channels`` / ``not_in_channels`` (sets of ids), ``dm_errors`` (user id -> error).
    """

    def __init__(self) -> None:
        self.users: dict[str, dict] = {}
        self.usergroups: dict[str, dict] = {}
        self.channel_members: dict[str, list[str]] = {}
        self.channels: dict[str, dict] = {}
        self.missing_channels: set[str] = set()
        self.not_in_channels: set[str] = set()
        self.dm_errors: dict[str, str] = {}
        # Sign in with Slack: registered apps (client id -> secret), and who is signed in to
        # Slack in the browser that visits the authorize page (None: the page says no).
        self.oidc_clients: dict[str, str] = {}
        self.oidc_user: str | None = None
        self.oidc_team: str = TEAM_ID
        self._oidc_codes: dict[str, dict] = {}
        self._oidc_tokens: dict[str, dict] = {}
        self.state = SlackState()
        self._cond = threading.Condition()
        self._ts_micros = 0
        self._next_id = 1000
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> SlackEmulator:
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What to pass as ``WebClient(base_url=...)``; slack_sdk appends the method name."""
        return f"http://127.0.0.1:{self.port}/api/"

    # ---------------------------------------------------------------- recorded state
    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self.state.calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def successful_calls(self, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.ok and method in (None, c.method)]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Block until ``count`` calls (attempts included) to ``method`` have been answered.

        For code that talks to Slack from another thread (Bolt listeners, schedulers).
        """
        with self._cond:
            done = self._cond.wait_for(
                lambda: sum(c.method == method for c in self.state.calls) >= count, timeout
            )
            calls = [c for c in self.state.calls if c.method == method]
            if not done:
                seen = [c.method for c in self.state.calls]
                raise AssertionError(
                    f"expected {count} call(s) to {method} within {timeout}s, got {len(calls)}; "
                    f"recorded calls: {seen}"
                )
            return calls

    def reset(self) -> None:
        """Forget calls, messages, views, files, pending failures and delays; keep fixtures."""
        with self._cond:
            self.state = SlackState()

    # ---------------------------------------------------------------- failure injection
    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int = 1,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail.

        Default is HTTP 429 ``ratelimited`` with ``Retry-After``. ``status=500`` gives a server
        error; ``error="..."`` alone gives HTTP 200 with ``{"ok": false, "error": ...}``.
        """
        if status is None:
            status = 200 if error else 429
        if error is None:
            error = {429: "ratelimited", 200: "fatal_error"}.get(status, "internal_error")
        with self._cond:
            self.state.failures.setdefault(method, []).append(
                _Failure(status, error, retry_after, times)
            )

    def delay(self, method: str, seconds: float) -> None:
        """Sleep ``seconds`` before answering every call to ``method`` (0 clears it)."""
        with self._cond:
            self.state.delays[method] = seconds

    def chaos(
        self,
        method: str,
        *,
        p429: float = 0.0,
        p500: float = 0.0,
        retry_after: int = 1,
        seed: int | None = None,
    ) -> None:
        """Fail a random share of the calls to ``method`` until cleared (or ``reset()``).

        Each call fails with probability ``p429`` as HTTP 429 ``ratelimited`` with
        ``Retry-After: retry_after``, or with probability ``p500`` as HTTP 500 ``internal_error``
        (nothing is stored either way). Rolled after any ``fail_next`` queue, so the two combine;
        ``seed`` makes the sequence repeatable for one sequential client. ``p429=p500=0`` clears
        it. Injected failures are recorded in ``calls`` like any other (``status`` 429 / 500).
        """
        if p429 < 0 or p500 < 0 or p429 + p500 > 1:
            raise ValueError("p429 and p500 must be >= 0 and add up to at most 1")
        with self._cond:
            if p429 == 0 and p500 == 0:
                self.state.chaos.pop(method, None)
            else:
                rng = random.Random(seed)
                self.state.chaos[method] = _Chaos(p429, p500, retry_after, rng)

    # ---------------------------------------------------------------- request handling
    def _handle(self, method: str, params: dict, headers: dict) -> tuple[int, dict, dict]:
        """Return (HTTP status, JSON body, extra headers) and record the call."""
        arrived = time.monotonic()
        with self._cond:
            pause = self.state.delays.get(method, 0)
        if pause:
            time.sleep(pause)
        with self._cond:
            status, body, extra = self._answer(method, params, headers)
            error = None if body.get("ok") else body.get("error")
            self.state.calls.append(Call(method, params, headers, arrived, status, error))
            self._cond.notify_all()
        return status, body, extra

    def _answer(self, method: str, params: dict, headers: dict) -> tuple[int, dict, dict]:
        queue = self.state.failures.get(method)
        if queue:
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.pop(0)
            extra = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
            return failure.status, {"ok": False, "error": failure.error}, extra
        chaos = self.state.chaos.get(method)
        if chaos is not None:
            roll = chaos.rng.random()
            if roll < chaos.p429:
                extra = {"Retry-After": str(chaos.retry_after)}
                return 429, {"ok": False, "error": "ratelimited"}, extra
            if roll < chaos.p429 + chaos.p500:
                return 500, {"ok": False, "error": "internal_error"}, {}
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        if not _authed(method, params, headers):
            return 200, {"ok": False, "error": "not_authed"}, {}
        if method.startswith("openid."):
            params = {**params, "_headers": headers}
        try:
            return 200, {"ok": True, **handler(params)}, {}
        except SlackError as exc:
            return 200, {"ok": False, "error": str(exc)}, {}
        except (KeyError, ValueError, TypeError):  # missing or malformed argument, as Slack says
            return 200, {"ok": False, "error": "invalid_arguments"}, {}

    def _new_ts(self) -> str:
        self._ts_micros += 100
        return f"{1_700_000_000 + self._ts_micros // 1_000_000}.{self._ts_micros % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        self._next_id += 1
        return f"{prefix}{self._next_id}"

    def _channel(self, params: dict, key: str = "channel", *, posting: bool = False) -> str:
        channel = params.get(key)
        if not channel or channel in self.missing_channels:
            raise SlackError("channel_not_found")
        if posting and channel in self.not_in_channels:
            raise SlackError("not_in_channel")
        return channel

    def _find(self, channel: str, ts: str | None) -> dict:
        for message in self.state.messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    def _store_message(self, channel: str, params: dict, **extra: Any) -> dict:
        message = {"type": "message", "ts": self._new_ts(), "user": BOT_USER_ID, "bot_id": BOT_ID}
        message["team"] = TEAM_ID
        message["text"] = params.get("text", "")
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if params.get(key):
                message[key] = params[key]
        message.update(extra)
        if thread_ts := message.get("thread_ts"):
            message["reply_broadcast"] = _truthy(params.get("reply_broadcast"))
            parent = next(
                (m for m in self.state.messages.get(channel, []) if m["ts"] == thread_ts), None
            )
            if parent is not None:
                parent.update(thread_ts=thread_ts, latest_reply=message["ts"])
                parent["reply_count"] = parent.get("reply_count", 0) + 1
        self.state.messages.setdefault(channel, []).append(message)
        return message

    # ---------------------------------------------------------------- Web API methods
    # Each ``_m_<method_with_underscores>`` takes the params and returns the fields that go next
    # to ``"ok": true``, or raises SlackError.

    def _m_auth_test(self, params: dict) -> dict:
        info = {"url": "https://test.slack.com/", "team": "Test", "user": "bot", "team_id": TEAM_ID}
        return info | {"user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _m_apps_connections_open(self, params: dict) -> dict:
        return {"url": "ws://127.0.0.1:1/"}

    def _m_chat_postMessage(self, params: dict) -> dict:
        channel = self._channel(params, posting=True)
        if channel[:1] in {"U", "W"}:  # a user id: Slack posts to the bot's DM with them
            if channel in self.dm_errors:
                raise SlackError(self.dm_errors[channel])
            channel = "D" + channel
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")
        message = self._store_message(channel, params)
        return {"channel": channel, "ts": message["ts"], "message": dict(message)}

    def _m_chat_postEphemeral(self, params: dict) -> dict:
        channel = self._channel(params, posting=True)
        ts = self._new_ts()
        self.state.ephemerals.append({**params, "channel": channel, "message_ts": ts})
        return {"message_ts": ts}

    def _m_chat_update(self, params: dict) -> dict:
        channel = self._channel(params)
        message = self._find(channel, params.get("ts"))
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in params:
                message[key] = params[key]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._new_ts()}
        return {"channel": channel, "ts": message["ts"], "message": dict(message)}

    def _m_chat_delete(self, params: dict) -> dict:
        channel = self._channel(params)
        self.state.messages[channel].remove(self._find(channel, params.get("ts")))
        return {"channel": channel, "ts": params["ts"]}

    def _m_chat_getPermalink(self, params: dict) -> dict:
        channel = self._channel(params)
        ts = str(params.get("message_ts", "")).replace(".", "")
        return {"channel": channel, "permalink": f"https://test.slack.com/archives/{channel}/p{ts}"}

    def _m_conversations_open(self, params: dict) -> dict:
        if params.get("channel"):
            return {"channel": {"id": params["channel"]}, "no_op": True, "already_open": True}
        users = params.get("users") or ""
        user_ids = users if isinstance(users, list) else [u for u in users.split(",") if u]
        if not user_ids:
            raise SlackError("users_list_not_supplied")
        for user_id in user_ids:
            if user_id in self.dm_errors:
                raise SlackError(self.dm_errors[user_id])
        channel = "D" + user_ids[0] if len(user_ids) == 1 else "G" + "".join(user_ids)
        return {"channel": {"id": channel}, "no_op": False, "already_open": False}

    def _m_conversations_history(self, params: dict) -> dict:
        """Top-level messages newest first. Like Slack, ``metadata`` only with
        ``include_all_metadata`` so a missing flag in the bot fails here too."""
        channel = self._channel(params)
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or 9e12)
        limit = int(params.get("limit") or 100)
        with_metadata = _truthy(params.get("include_all_metadata"))
        found = []
        for message in reversed(self.state.messages.get(channel, [])):
            is_reply = message.get("thread_ts", message["ts"]) != message["ts"]
            if oldest < float(message["ts"]) < latest and (
                not is_reply or message.get("reply_broadcast")
            ):
                shown = dict(message)
                if not with_metadata:
                    shown.pop("metadata", None)
                found.append(shown)
        return {"messages": found[:limit], "has_more": len(found) > limit}

    def _m_conversations_replies(self, params: dict) -> dict:
        channel = self._channel(params)
        ts = params.get("ts")
        thread = [
            dict(m)
            for m in self.state.messages.get(channel, [])
            if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        if not thread:
            raise SlackError("thread_not_found")
        return {"messages": thread, "has_more": False}

    def _m_conversations_info(self, params: dict) -> dict:
        channel = self._channel(params)
        info = {"id": channel, "name": channel.lower(), "is_channel": channel[0] in "CG"}
        info |= {"is_im": channel.startswith("D"), "is_private": channel[0] in "GD"}
        info["is_member"] = channel not in self.not_in_channels
        if channel.startswith("D"):
            info["user"] = channel[1:]
        return {"channel": info | self.channels.get(channel, {})}

    def _m_conversations_members(self, params: dict) -> dict:
        channel = self._channel(params)
        page, cursor = _paginate(self.channel_members.get(channel, []), params)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _user(self, user_id: str) -> dict:
        user = {"id": user_id, "team_id": TEAM_ID, "name": user_id.lower(), "deleted": False}
        user |= {"is_bot": False, "is_restricted": False, "is_ultra_restricted": False}
        user |= {"tz": "UTC", "tz_offset": 0, "profile": {}}
        return user | self.users[user_id]

    def _m_users_info(self, params: dict) -> dict:
        if params.get("user") not in self.users:
            raise SlackError("user_not_found")
        return {"user": self._user(params["user"])}

    def _m_users_list(self, params: dict) -> dict:
        page, cursor = _paginate([self._user(u) for u in self.users], params)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _m_usergroups_list(self, params: dict) -> dict:
        groups = []
        for group_id, group in self.usergroups.items():
            shown = {"id": group_id, "team_id": TEAM_ID, "name": group.get("handle", group_id)}
            shown |= {k: v for k, v in group.items() if k != "users"}
            shown["user_count"] = len(group.get("users", []))
            if _truthy(params.get("include_users")):
                shown["users"] = list(group.get("users", []))
            groups.append(shown)
        return {"usergroups": groups}

    def _m_usergroups_users_list(self, params: dict) -> dict:
        if params.get("usergroup") not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[params["usergroup"]].get("users", []))}

    def _view(self, params: dict, view_id: str | None = None) -> dict:
        view = params.get("view")
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments")
        view_id = view_id or self._new_id("V")
        stored = {**view, "id": view_id, "team_id": TEAM_ID, "hash": self._new_ts()}
        self.state.views[view_id] = stored
        return {"view": stored}

    def _m_views_open(self, params: dict) -> dict:
        return self._view(params)

    def _m_views_update(self, params: dict) -> dict:
        return self._view(params, params.get("view_id"))

    def _m_views_publish(self, params: dict) -> dict:
        result = self._view(params)
        self.state.home_tabs[params.get("user_id", "")] = result["view"]
        return result

    def _m_reactions_add(self, params: dict) -> dict:
        message = self._find(self._channel(params), params.get("timestamp"))
        message.setdefault("reactions", []).append(
            {"name": params.get("name"), "users": [BOT_USER_ID], "count": 1}
        )
        return {}

    def _m_files_getUploadURLExternal(self, params: dict) -> dict:
        file_id = self._new_id("F")
        self.state.files[file_id] = {"id": file_id, "name": params["filename"]}
        return {"upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, params: dict) -> dict:
        """Like Slack: files must have been uploaded; sharing to a channel posts a message."""
        done = []
        for item in params.get("files") or []:
            if item.get("id") not in self.state.uploads:
                raise SlackError("file_not_found")
            info = self.state.files[item["id"]]
            info.update(
                title=item.get("title") or info["name"], size=len(self.state.uploads[item["id"]])
            )
            info["permalink"] = f"https://test.slack.com/files/{BOT_USER_ID}/{item['id']}"
            done.append(dict(info))
        targets = [params["channel_id"]] if params.get("channel_id") else []
        targets += [c for c in str(params.get("channels") or "").split(",") if c]
        for target in targets:
            channel = self._channel({"channel": target}, posting=True)
            text = params.get("initial_comment", "")
            self._store_message(channel, {**params, "text": text}, files=done, upload=True)
        return {"files": done}

    _m_views_push = _m_views_open

    # ---------------------------------------------------------------- Sign in with Slack
    def authorize(self, query: dict) -> tuple[int, dict[str, str], str]:
        """GET /openid/connect/authorize: (status, headers, body) for the browser.

        As if `oidc_user` is signed in to Slack and approves at once: a redirect back to
        `redirect_uri` with a single-use code and the caller's `state`."""
        client_id = query.get("client_id", "")
        if client_id not in self.oidc_clients or "openid" not in query.get("scope", ""):
            return 400, {"Content-Type": "text/plain"}, "invalid_client_id"
        if self.oidc_user is None:
            return 200, {"Content-Type": "text/plain"}, "Not signed in to Slack"
        with self._cond:
            code = self._new_id("code-")
            self._oidc_codes[code] = {
                "client_id": client_id,
                "redirect_uri": query.get("redirect_uri", ""),
                "nonce": query.get("nonce", ""),
                "user": self.oidc_user,
            }
        separator = "&" if "?" in query.get("redirect_uri", "") else "?"
        target = f"{query.get('redirect_uri', '')}{separator}" + urlencode(
            {"code": code, "state": query.get("state", "")}
        )
        return 302, {"Location": target}, ""

    def _m_openid_connect_token(self, params: dict) -> dict:
        client_id, secret = _basic_auth(params["_headers"])
        client_id = client_id or params.get("client_id", "")
        secret = secret or params.get("client_secret", "")
        if self.oidc_clients.get(client_id) != secret or not secret:
            raise SlackError("invalid_client_id")
        grant = self._oidc_codes.pop(params.get("code", ""), None)
        if grant is None or grant["client_id"] != client_id:
            raise SlackError("invalid_code")
        if grant["redirect_uri"] != params.get("redirect_uri", ""):
            raise SlackError("bad_redirect_uri")
        user = grant["user"]
        claims = {
            "iss": "https://slack.com",
            "sub": user,
            "aud": client_id,
            "exp": int(time.time()) + 3600,
            "iat": int(time.time()),
            "nonce": grant["nonce"],
            "https://slack.com/user_id": user,
            "https://slack.com/team_id": self.oidc_team,
            "name": self.users.get(user, {}).get("real_name", user),
        }
        access = f"xoxp-oidc-{self._new_id('')}"
        self._oidc_tokens[access] = claims
        id_token = (
            ".".join(_b64url(json.dumps(part).encode()) for part in ({"alg": "RS256"}, claims))
            + "."
            + _b64url(b"signature")
        )
        return {"access_token": access, "token_type": "Bearer", "id_token": id_token}

    def _m_openid_connect_userInfo(self, params: dict) -> dict:
        auth = next((v for k, v in params["_headers"].items() if k.lower() == "authorization"), "")
        token = auth.removeprefix("Bearer ").strip() or str(params.get("token") or "")
        claims = self._oidc_tokens.get(token)
        if claims is None:
            raise SlackError("invalid_auth")
        keep = ("sub", "name", "https://slack.com/user_id", "https://slack.com/team_id")
        return {key: claims[key] for key in keep} | {"email_verified": False}

    def _m_assistant_threads_setStatus(self, params: dict) -> dict:
        """Assistant calls have no state worth keeping; tests check them through ``calls``."""
        if "loading_messages" in params and not isinstance(params["loading_messages"], list):
            raise SlackError("invalid_arguments")
        return {}

    # Streaming (chat.startStream / appendStream / stopStream): a message whose text grows;
    # Slack refuses appends to a stream that was stopped, and a stream needs a thread.
    def _m_chat_startStream(self, params: dict) -> dict:
        channel = self._channel(params, posting=True)
        if not params.get("thread_ts"):
            raise SlackError("invalid_arguments")
        text = _stream_text(params)
        message = self._store_message(channel, {"thread_ts": params["thread_ts"]}, text=text)
        message["streaming"] = True
        return {"channel": channel, "ts": message["ts"]}

    def _m_chat_appendStream(self, params: dict) -> dict:
        channel = self._channel(params)
        message = self._find(channel, params.get("ts"))
        if not message.get("streaming"):
            raise SlackError("message_not_in_streaming_state")
        message["text"] += _stream_text(params)
        return {"channel": channel, "ts": message["ts"]}

    def _m_chat_stopStream(self, params: dict) -> dict:
        channel = self._channel(params)
        message = self._find(channel, params.get("ts"))
        if not message.get("streaming"):
            raise SlackError("message_not_in_streaming_state")
        message["text"] += _stream_text(params)
        if params.get("blocks"):
            message["blocks"] = params["blocks"]
        message["streaming"] = False
        return {"channel": channel, "ts": message["ts"], "message": dict(message)}

    _m_assistant_threads_setSuggestedPrompts = _m_assistant_threads_setStatus
    _m_assistant_threads_setTitle = _m_assistant_threads_setStatus


# -------------------------------------------------------------------- helpers


def _stream_text(params: dict) -> str:
    """The text a stream call adds: `markdown_text` and any `markdown_text` chunks."""
    text = params.get("markdown_text") or ""
    for chunk in params.get("chunks") or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            text += chunk.get("text") or ""
    return text


def _truthy(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _basic_auth(headers: dict) -> tuple[str, str]:
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if not auth.startswith("Basic "):
        return "", ""
    try:
        user, _, secret = base64.b64decode(auth[6:]).decode("utf-8").partition(":")
    except ValueError:
        return "", ""
    return user, secret


def _authed(method: str, params: dict, headers: dict) -> bool:
    if method == "openid.connect.token":
        return True  # the app's client id and secret, checked by the method itself
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
    token = token or str(params.get("token") or "")
    prefixes = (*VALID_TOKEN_PREFIXES, "xapp-") if method == "apps.connections.open" else None
    return token.startswith(prefixes or VALID_TOKEN_PREFIXES)


def _paginate(items: list, params: dict) -> tuple[list, str]:
    """Slack-style cursor pagination; the cursor is an opaque offset string."""
    cursor = params.get("cursor") or "0"
    if not str(cursor).isdigit():
        raise SlackError("invalid_cursor")
    start, limit = int(cursor), int(params.get("limit") or 100)
    end = start + limit
    return items[start:end], str(end) if end < len(items) else ""


def parse_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Merge query-string and body params into one dict.

    slack_sdk sends JSON for some methods, urlencoded forms or query strings for others. Form
    values that hold JSON (``blocks``, ``view``...) are decoded so tests see one shape either way.
    """
    is_json = content_type.startswith("application/json")
    form = query if is_json else f"{query}&{body.decode('utf-8')}"
    pairs = parse_qs(form, keep_blank_values=True)
    params: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in pairs.items()}
    if is_json and body:
        params |= json.loads(body)
    for key in JSON_STRING_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with suppress(json.JSONDecodeError):  # else leave it as sent; the test will notice
                params[key] = json.loads(value)
    return params


def _make_handler(emulator: SlackEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """Routes ``/api/<method>`` to the emulator and ``/upload/<file id>`` to the store."""

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/openid/connect/authorize":
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                status, headers, text = emulator.authorize(query)
                return self._send(status, text.encode(), headers)
            return self.do_POST()

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if url.path.startswith("/upload/"):
                return self._upload(url.path.removeprefix("/upload/"), body)
            if not url.path.startswith("/api/"):
                return self._send(404, b"not found", {"Content-Type": "text/plain"})
            try:
                params = parse_params(url.query, self.headers.get("Content-Type", ""), body)
            except (ValueError, TypeError):  # bad JSON/UTF-8, or a JSON body that isn't an object
                return self._json(200, {"ok": False, "error": "invalid_json"}, {})
            method = url.path.removeprefix("/api/")
            status, payload, extra = emulator._handle(method, params, dict(self.headers.items()))
            self._json(status, payload, extra)

        def _upload(self, file_id: str, body: bytes) -> None:
            with emulator._cond:
                known = file_id in emulator.state.files
                if known:
                    emulator.state.uploads[file_id] = body
            text = f"OK - {len(body)}" if known else "file not found"
            self._send(200 if known else 404, text.encode(), {"Content-Type": "text/plain"})

        def _json(self, status: int, payload: dict, extra: dict) -> None:
            headers = {"Content-Type": "application/json; charset=utf-8", **extra}
            self._send(status, json.dumps(payload).encode("utf-8"), headers)

        def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(data))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the per-request stderr line; ``emulator.calls`` is the log."""

    return Handler

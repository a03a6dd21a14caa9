"""Bolt middleware for cross-cutting concerns: who counts as HR, who as a leader."""

from __future__ import annotations

import threading
import time

from slack_bolt import BoltResponse
from slack_sdk.errors import SlackApiError

REFUSAL = (
    "Sorry — pulse results are only for the HR and change team. "
    "If you need access, ask them to add you."
)
LEADER_REFUSAL = (
    "Sorry — only the programme's leaders can send updates with /broadcast. "
    "If you should be one, ask the change team to add you."
)


class HrRole:
    """HR = configured user ids, or members of a Slack user group (looked up, cached 5 min).

    The same rule, with its own refusal, decides who is a leader (`LeaderRole`).
    """

    refusal = REFUSAL

    def __init__(self, *, user_ids: str, usergroup: str | None, ttl: float = 300.0) -> None:
        self.user_ids = {u.strip() for u in user_ids.split(",") if u.strip()}
        self.usergroup = usergroup
        self.ttl = ttl
        self._members: set[str] = set()
        self._fetched = 0.0
        self._lock = threading.Lock()

    def allows(self, user_id: str, client) -> bool:
        if user_id in self.user_ids:
            return True
        if not self.usergroup:
            return False
        with self._lock:
            if time.monotonic() - self._fetched > self.ttl:
                try:
                    response = client.usergroups_users_list(usergroup=self.usergroup)
                    self._members = set(response.get("users") or [])
                    self._fetched = time.monotonic()
                except SlackApiError:
                    self._members = set()
            return user_id in self._members

    def middleware(self):
        """Listener middleware: refuse politely (ephemeral ack) when the user is not HR."""

        def require_hr(body, client, next_):
            user = body.get("user_id") or (body.get("user") or {}).get("id", "")
            if self.allows(user, client):
                return next_()
            # Returning a response ends the request here; Slack shows it to the user only.
            return BoltResponse(status=200, body=self.refusal)

        return require_hr


class LeaderRole(HrRole):
    refusal = LEADER_REFUSAL

"""Who may write the playbook's answers from Slack: the members of the change-team channel
(conversations.members) and of CHANGEBOT_CHANGE_TEAM_USERGROUP.

The channel's members are read when a button or a modal asks, and kept for `ttl` seconds
(a click and its modal's submit a minute later make one call). A failed look-up refuses:
writing to the playbook is never allowed on a guess.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.slack.middleware import GroupMembership

log = logging.getLogger(__name__)

REFUSAL = (
    "Thanks for wanting to help! Only the change team (the members of its channel) can write "
    "the playbook's answers. Tell them what you know in the change-team channel instead."
)
NOT_KNOWN = "I could not check your access with Slack just now. Please try again in a minute."


class AnswerWriters:
    def __init__(
        self,
        *,
        channel: str | None,
        usergroup: str | None,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.channel = channel
        self.group = GroupMembership(usergroup, clock=clock) if usergroup else None
        self.ttl = ttl
        self.clock = clock
        self._members: frozenset[str] | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def decide(self, user_id: str, client) -> bool | None:
        """True / False; None when Slack could not be asked (refuse, and say so)."""
        if not user_id:
            return False
        group = self.group.members(client) if self.group is not None else frozenset()
        if group and user_id in group:
            return True
        members = self._channel_members(client) if self.channel else frozenset()
        if members and user_id in members:
            return True
        # Not found; but a list Slack has not given us yet may hold them.
        return None if group is None or members is None else False

    def refusal_for(self, user_id: str, client) -> str | None:
        """None when `user_id` may write answers, else what to tell them."""
        decision = self.decide(user_id, client)
        if decision:
            return None
        return NOT_KNOWN if decision is None else REFUSAL

    def _channel_members(self, client) -> frozenset[str] | None:
        with self._lock:
            if self._members is not None and self.clock() - self._read_at < self.ttl:
                return self._members
        members: set[str] = set()
        cursor = None
        try:
            while True:
                response = client.conversations_members(
                    channel=self.channel, cursor=cursor, limit=1000
                )
                members.update(response.get("members") or [])
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except Exception as exc:
            log.warning("Could not read the change-team channel's members: %s", exc)
            return None
        with self._lock:
            self._members, self._read_at = frozenset(members), self.clock()
        return self._members

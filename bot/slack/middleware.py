"""Bolt middleware for cross-cutting concerns: who counts as HR, who as a leader.

The user-group membership behind a role is never looked up on the request path: Slack
must have its ack within 3 seconds, and `usergroups.users.list` can be rate limited for
much longer. Membership is cached; when it is older than the TTL the last known members
still count while a background thread asks Slack again, and a failed look-up (rate limit,
timeout, Slack down) keeps the last known members and is logged. No lock is held over a
network call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from slack_bolt import BoltResponse
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

REFUSAL = (
    "Sorry — pulse results are only for the HR and change team. "
    "If you need access, ask them to add you."
)
LEADER_REFUSAL = (
    "Sorry — only the programme's leaders can send updates with /broadcast. "
    "If you should be one, ask the change team to add you."
)
NOT_YET_KNOWN = "I could not check your access with Slack just now. Please try again in a minute."
GONE = {"no_such_subteam", "subteam_not_found"}  # the group itself no longer exists


class GroupMembership:
    """The members of one Slack user group: cached, refreshed in the background.

    `members(client)` never waits for Slack: it returns the last known set (None before the
    first successful look-up) and, when that is older than `ttl` seconds, starts one
    background refresh. After a failure the next try waits `retry_after_failure` seconds.
    """

    def __init__(
        self,
        usergroup: str,
        *,
        ttl: float = 300.0,
        retry_after_failure: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.usergroup = usergroup
        self.ttl = ttl
        self.retry_after_failure = retry_after_failure
        self.clock = clock
        self._members: frozenset[str] | None = None
        self._next_refresh = 0.0  # clock time after which a refresh is due
        self._refreshing = False
        self._lock = threading.Lock()  # guards the fields above; never held over a call
        self.settled = threading.Event()  # set after each look-up, successful or not

    def members(self, client) -> frozenset[str] | None:
        with self._lock:
            due = not self._refreshing and self.clock() >= self._next_refresh
            if due:
                self._refreshing = True
            members = self._members
        if due:
            self.settled.clear()
            threading.Thread(
                target=self.refresh, args=(client,), name="usergroup-refresh", daemon=True
            ).start()
        return members

    def refresh(self, client) -> None:
        """Ask Slack now (blocking; run off the request path). Failures keep the last set."""
        try:
            response = client.usergroups_users_list(usergroup=self.usergroup)
            fresh: frozenset[str] | None = frozenset(response.get("users") or [])
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error in GONE:
                log.warning(
                    "User group %s no longer exists; nobody counts as its member", self.usergroup
                )
                fresh = frozenset()
            else:
                fresh = None
                log.warning(
                    "Could not refresh user group %s (%s); using the last known members",
                    self.usergroup,
                    error or exc,
                )
        except Exception as exc:  # timeouts, lost connections: keep what we knew
            fresh = None
            log.warning(
                "Could not refresh user group %s (%s: %s); using the last known members",
                self.usergroup,
                type(exc).__name__,
                exc,
            )
        with self._lock:
            self._refreshing = False
            if fresh is not None:
                self._members = fresh
                self._next_refresh = self.clock() + self.ttl
            else:
                self._next_refresh = self.clock() + self.retry_after_failure
        self.settled.set()


class HrRole:
    """HR = configured user ids, or members of a Slack user group (see GroupMembership).

    The same rule, with its own refusal, decides who is a leader (`LeaderRole`).
    """

    refusal = REFUSAL

    def __init__(
        self,
        *,
        user_ids: str,
        usergroup: str | None,
        ttl: float = 300.0,
        retry_after_failure: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.user_ids = {u.strip() for u in user_ids.split(",") if u.strip()}
        self.usergroup = usergroup
        self.group = (
            GroupMembership(
                usergroup, ttl=ttl, retry_after_failure=retry_after_failure, clock=clock
            )
            if usergroup
            else None
        )

    def decide(self, user_id: str, client) -> bool | None:
        """True / False from what is known now; None when the group was never read yet."""
        if user_id in self.user_ids:
            return True
        if self.group is None:
            return False
        members = self.group.members(client)
        return None if members is None else user_id in members

    def allows(self, user_id: str, client) -> bool:
        return self.decide(user_id, client) is True

    def refusal_for(self, user_id: str, client) -> str:
        """What to tell someone who is not let in: not a member, or not known yet."""
        return NOT_YET_KNOWN if self.decide(user_id, client) is None else self.refusal

    def warm_up(self, client) -> None:
        """Start reading the group in the background (at start-up), so the first request
        finds it known."""
        if self.group is not None:
            self.group.members(client)

    def middleware(self):
        """Listener middleware: refuse politely (in the ack, only the user sees it) when the
        user is not in the role. Decided from the cache: it never waits for Slack."""

        def require_role(body, client, next_):
            user = body.get("user_id") or (body.get("user") or {}).get("id", "")
            decision = self.decide(user, client)
            if decision:
                return next_()
            # Returning a response ends the request here; Slack shows it to the user only.
            text = NOT_YET_KNOWN if decision is None else self.refusal
            return BoltResponse(status=200, body=text)

        return require_role


class LeaderRole(HrRole):
    refusal = LEADER_REFUSAL

"""What the console needs, handed in explicitly (container.py builds it; tests build their own).

The console never reaches for the container: each page talks to one of these domain
services and renders what it returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.console.auth import SignIn
from bot.console.oidc import SlackOpenId
from bot.timeutil import utcnow

HR, LEADER, CHANGE_TEAM = "hr", "leader", "change team"
ROLE_NAMES = {HR: "HR", LEADER: "leaders", CHANGE_TEAM: "the change team"}


class Role(Protocol):
    """The Slack role rule (configured user ids or a user group), as the Slack listeners use it."""

    def allows(self, user_id: str, client) -> bool: ...


class RoleChecks:
    """Which console roles a Slack user has, asked afresh on every request.

    The same role objects decide in Slack (HR for /pulse, leaders for /broadcast), so the
    console and Slack always agree. `client` gives the Web API client the user-group
    look-ups use.
    """

    def __init__(
        self,
        *,
        hr: Role,
        leader: Role,
        change_team: Role,
        client: Callable[[], object],
    ) -> None:
        self._roles = {HR: hr, LEADER: leader, CHANGE_TEAM: change_team}
        self._client = client

    def roles_of(self, user_id: str) -> frozenset[str]:
        if not user_id:
            return frozenset()
        client = self._client()
        return frozenset(
            name for name, role in self._roles.items() if _allows(role, user_id, client)
        )


FIRST_LOOKUP_WAIT = 3.0  # seconds a page waits for a user group never read since start


def _allows(role: Role, user_id: str, client) -> bool:
    """The role's answer. Slack must be acked at once, so there a group never read yet
    counts as "no"; a page can wait a moment for that first look-up instead."""
    decide = getattr(role, "decide", None)
    if decide is None:
        return role.allows(user_id, client)
    decision = decide(user_id, client)
    group = getattr(role, "group", None)
    if decision is None and group is not None:
        group.settled.wait(FIRST_LOOKUP_WAIT)
        decision = decide(user_id, client)
    return decision is True


@dataclass(frozen=True)
class ConsoleDeps:
    """Collaborators of the console app.

    pulse: bot.surveys.overview.PulseOverview; broadcasts: bot.broadcasts.service.Broadcasts;
    questions: bot.questions.insights.QuestionInsights; ingest_log: bot.knowledge.ingest_log.
    IngestLog; documents_indexed: how many playbook documents the index holds;
    directory: bot.directory.service.Directory (names, and whether it was ever synced).
    """

    sign_in: SignIn
    roles: RoleChecks
    pulse: object
    broadcasts: object
    questions: object
    ingest_log: object
    documents_indexed: Callable[[], int]
    directory: object
    base_url: str  # the console's public URL, no trailing slash
    openid: SlackOpenId | None = None
    clock: Callable[[], dt.datetime] = utcnow

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

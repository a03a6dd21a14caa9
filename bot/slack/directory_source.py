"""Read who is in the workspace from Slack: the member list and user-group members.

Needs the bot scopes users:read, users:read.email (without it Slack leaves out emails and
the HR CSV matches nobody) and usergroups:read.
"""

from __future__ import annotations

from collections.abc import Iterator

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

PAGE_SIZE = 200  # Slack's recommended page size for users.list


def fetch_users(client: WebClient, *, limit: int = PAGE_SIZE) -> Iterator[dict]:
    """Every member dict of `users.list`, page by page (cursor pagination).

    Slack errors propagate as SlackApiError; Directory.sync reads the whole list before
    writing, so a failure on a later page changes nothing.
    """
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        response = client.users_list(limit=limit, cursor=cursor)
        yield from response.get("members") or []
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return
        if cursor in seen:  # a server that hands out the same cursor again would loop forever
            raise RuntimeError(f"users.list returned cursor {cursor!r} twice; stopping")
        seen.add(cursor)


def usergroup_members(client: WebClient, usergroup_id: str) -> list[str]:
    """User ids in a Slack user group (S…), via usergroups.users.list.

    Raises LookupError naming the group when Slack does not know it.
    """
    try:
        response = client.usergroups_users_list(usergroup=usergroup_id)
    except SlackApiError as exc:
        if exc.response.get("error") == "no_such_subteam":
            raise LookupError(
                f"Slack has no user group {usergroup_id!r} (no_such_subteam). Use the group's "
                "id (S…, from the group's page in Slack), not its @handle."
            ) from exc
        raise
    return list(response.get("users") or [])

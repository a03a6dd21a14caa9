"""The HR / leader role: user-group membership is cached and never looked up on the
request path; a failed look-up keeps the last known members."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.slack.middleware import HrRole


class GroupApi:
    """Stands in for WebClient.usergroups_users_list: answers, fails, or blocks on a gate."""

    def __init__(self, members: list[str]) -> None:
        self.members = members
        self.calls = 0
        self.fail_with: str | None = None
        self.gate: threading.Event | None = None

    def usergroups_users_list(self, *, usergroup: str):
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail_with:
            response = SlackResponse(
                client=None,
                http_verb="POST",
                api_url="usergroups.users.list",
                req_args={},
                data={"ok": False, "error": self.fail_with},
                headers={},
                status_code=429 if self.fail_with == "ratelimited" else 200,
            )
            raise SlackApiError(self.fail_with, response)
        return {"ok": True, "users": list(self.members)}


def eventually(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def known_role(api: GroupApi, **kwargs) -> HrRole:
    """A role whose group has been read once (at start-up, as build_app warms it up)."""
    role = HrRole(user_ids="", usergroup="SHR", ttl=0.0, **kwargs)
    role.allows("UHR", api)
    eventually(lambda: role.allows("UHR", api))
    return role


def test_a_failed_lookup_keeps_the_last_known_members_and_logs(caplog):
    api = GroupApi(["UHR"])
    role = known_role(api)
    api.fail_with = "ratelimited"
    calls = api.calls
    with caplog.at_level(logging.WARNING):
        assert role.allows("UHR", api)  # the cache is stale: last known members count
        eventually(lambda: api.calls > calls)  # the refresh was tried …
        time.sleep(0.05)
        assert role.allows("UHR", api)  # … failed, and HR is still HR
    assert "using the last known members" in caplog.text
    assert not role.allows("USOMEONE", api)


def test_the_role_check_never_waits_for_slack():
    api = GroupApi(["UHR"])
    role = known_role(api)
    api.gate = threading.Event()  # Slack stops answering usergroups.users.list
    answers = []
    checks = [
        threading.Thread(target=lambda: answers.append(role.allows("UHR", api))) for _ in range(3)
    ]
    try:
        for check in checks:
            check.start()
        for check in checks:
            check.join(1.0)
        # all three answered while the look-up is still hanging: no lock held over it
        assert answers == [True, True, True]
        assert not api.gate.is_set()
    finally:
        api.gate.set()


def test_only_one_lookup_runs_at_a_time():
    api = GroupApi(["UHR"])
    role = known_role(api)
    api.gate = threading.Event()
    calls = api.calls
    try:
        for _ in range(20):
            role.allows("UHR", api)
        time.sleep(0.1)
        assert api.calls == calls + 1
    finally:
        api.gate.set()


def test_membership_changes_are_picked_up_after_the_ttl():
    api = GroupApi(["UHR"])
    role = known_role(api)
    api.members = ["UNEW"]
    role.allows("UNEW", api)  # stale: starts the refresh
    eventually(lambda: role.allows("UNEW", api))
    assert not role.allows("UHR", api)


def test_a_deleted_group_counts_nobody():
    api = GroupApi(["UHR"])
    role = known_role(api)
    api.fail_with = "no_such_subteam"
    role.allows("UHR", api)
    eventually(lambda: not role.allows("UHR", api))


def test_before_the_first_lookup_answers_the_user_is_asked_to_try_again():
    api = GroupApi(["UHR"])
    api.gate = threading.Event()
    role = HrRole(user_ids="UCONF", usergroup="SHR")
    try:
        assert role.decide("UHR", api) is None  # unknown yet, and said so
        assert "try again" in role.refusal_for("UHR", api)
        assert role.allows("UCONF", api)  # configured ids never need Slack
    finally:
        api.gate.set()

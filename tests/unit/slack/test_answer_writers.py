"""Who may write the playbook's answers: the change-team channel's members (all pages) or
the change team's user group; Slack unreachable refuses; members are read once a minute."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from bot.slack.answer_writers import NOT_KNOWN, REFUSAL, AnswerWriters


class Client:
    def __init__(self, pages, group=()):
        self.pages = pages
        self.group = list(group)
        self.calls = 0
        self.fail = False

    def conversations_members(self, *, channel, cursor=None, limit=1000):
        self.calls += 1
        if self.fail:
            raise SlackApiError("boom", {"ok": False, "error": "internal_error"})
        index = int(cursor or 0)
        following = str(index + 1) if index + 1 < len(self.pages) else ""
        return {"members": self.pages[index], "response_metadata": {"next_cursor": following}}

    def usergroups_users_list(self, *, usergroup):
        return {"users": self.group}


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_every_page_of_the_channel_counts_and_is_read_once_a_minute():
    clock = Clock()
    client = Client([["U1"], ["U2"]])
    writers = AnswerWriters(channel="CTEAM", usergroup=None, clock=clock)
    assert writers.refusal_for("U2", client) is None
    assert writers.refusal_for("U3", client) == REFUSAL
    assert client.calls == 2  # two pages, once
    clock.now = 61
    client.pages = [["U3"]]
    assert writers.refusal_for("U3", client) is None


def test_slack_unreachable_refuses_and_says_to_try_again():
    client = Client([["U1"]])
    client.fail = True
    writers = AnswerWriters(channel="CTEAM", usergroup=None)
    assert writers.refusal_for("U1", client) == NOT_KNOWN


def test_the_user_group_counts_too_and_nobody_without_either():
    client = Client([[]], group=["UG"])
    writers = AnswerWriters(channel="CTEAM", usergroup="S1")
    writers.group.refresh(client)  # the background look-up, done here
    assert writers.refusal_for("UG", client) is None
    assert writers.refusal_for("U9", client) == REFUSAL
    assert AnswerWriters(channel=None, usergroup=None).refusal_for("U1", client) == REFUSAL
    assert writers.refusal_for("", client) == REFUSAL

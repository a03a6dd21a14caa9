"""The knowledge-gap loop through Slack: the weekly digest in the change-team channel,
Write the answer → the modal → an approved FAQ entry the next asker gets, Save as playbook
answer under a relayed reply, Edit / Retire in the thread, and who may do any of it."""

from __future__ import annotations

import json

from scenario import blocks_of, everything_said, rows, settle, stored_message
from slackbed import TEAM_CHANNEL, block_action, dm_event, message_event, view_submission

from bot.slack import gap_blocks as kit
from bot.slack.answer_writers import REFUSAL
from bot.slack.listeners.gaps import MODAL_REFUSAL, post_digest
from bot.store.models import CapturedAnswer

PARKING = "Is the parking garage open on Sundays?"
ANSWER = "Yes, from 8:00 to 18:00. Badge in at the *north gate*."
TEAM = "UTEAM"


def accessories(blocks: list[dict]) -> list[dict]:
    return [b["accessory"] for b in blocks if b.get("type") == "section" and b.get("accessory")]


def _gaps(bot):
    service = bot.container.question_service
    for _ in range(3):
        assert service.ask(PARKING, user_id="U1", surface="dm").answer.kind == "abstain"
    service.ask("is the parking garage open on sundays", user_id="U2", surface="dm")
    service.ask("Can I bring my dog to the office?", user_id="U2", surface="dm")


def _digest(bot, slack) -> dict:
    ts = post_digest(bot.container)
    [call] = slack.wait_for("chat.postMessage")
    assert call.params["channel"] == TEAM_CHANNEL
    settle(0.1)
    return stored_message(slack, TEAM_CHANNEL, ts)


def _click(bot, action_id, value, message, *, user=TEAM, channel=TEAM_CHANNEL):
    status, _ = bot.send_interaction(
        block_action(action_id, value, user=user, channel=channel, message=message)
    )
    assert status == 200


def _opened_view(slack, count: int = 1) -> dict:
    slack.wait_for("views.open", count)
    return list(slack.state.views.values())[-1]


def _submit(bot, view, answers, *, user=TEAM):
    return bot.send_interaction(view_submission(view, answers, user=user))


def test_digest_groups_write_the_answer_and_the_next_askers_get_it(bot, slack):
    slack.channel_members[TEAM_CHANNEL] = [TEAM, "U9"]
    _gaps(bot)
    digest = _digest(bot, slack)
    said = everything_said(digest)
    assert "Questions the playbook could not answer" in said
    assert f"*{PARKING}* — asked 4 times (no answer ×4)" in said
    assert "Can I bring my dog to the office?" in said and "asked once" in said
    [first, second] = accessories(digest["blocks"])
    assert (first["action_id"], first["value"]) == (kit.WRITE_ANSWER, PARKING)  # largest first
    assert second["value"] == "Can I bring my dog to the office?"

    _click(bot, kit.WRITE_ANSWER, PARKING, digest)
    view = _opened_view(slack)
    assert view["callback_id"] == kit.ANSWER_MODAL
    question_input = view["blocks"][0]["element"]
    assert question_input["initial_value"] == PARKING

    answers = {"question": PARKING, "answer": ANSWER, "source": "https://intranet.example/p"}
    assert _submit(bot, view, answers) == (200, "")
    saved = slack.wait_for("chat.postMessage", 2)[1]
    assert saved.params["channel"] == TEAM_CHANNEL
    assert saved.params["thread_ts"] == digest["ts"]  # in the digest's thread
    assert "north gate" in everything_said(saved)
    [entry] = rows(bot.container, CapturedAnswer)
    assert (entry.question, entry.author, entry.status) == (PARKING, TEAM, "approved")

    # The identical question, and the same one worded differently, get the captured answer.
    for n, question in enumerate([PARKING, "is the parking garage open on sundays??"]):
        bot.send_event(dm_event(question, event_id=f"EvParking{n}"))
        answer = slack.wait_for("chat.postMessage", 3 + n)[-1]
        shown = everything_said(answer)
        assert "north gate" in shown, shown
        assert "Answered by the change team, " in shown
        assert "https://intranet.example/p" in json.dumps(blocks_of(answer))

    # Next week's digest no longer lists the answered group.
    post_digest(bot.container)
    last = slack.wait_for("chat.postMessage", 5)[-1]
    assert PARKING not in everything_said(last)
    assert "Can I bring my dog" in everything_said(last)


def test_a_double_submitted_modal_creates_one_entry(bot, slack):
    slack.channel_members[TEAM_CHANNEL] = [TEAM]
    _gaps(bot)
    digest = _digest(bot, slack)
    _click(bot, kit.WRITE_ANSWER, PARKING, digest)
    view = _opened_view(slack)
    answers = {"question": PARKING, "answer": ANSWER}
    assert _submit(bot, view, answers) == (200, "")
    assert _submit(bot, view, answers) == (200, "")  # a new trigger_id: not a replay
    settle()
    assert len(rows(bot.container, CapturedAnswer)) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2  # the digest and one confirmation


def test_a_non_member_is_refused_politely_and_a_crafted_submit_stores_nothing(bot, slack):
    slack.channel_members[TEAM_CHANNEL] = [TEAM]
    _gaps(bot)
    digest = _digest(bot, slack)
    _click(bot, kit.WRITE_ANSWER, PARKING, digest, user="U2")
    [refusal] = slack.wait_for("chat.postEphemeral")
    assert (refusal.params["user"], refusal.params["text"]) == ("U2", REFUSAL)
    settle()
    assert slack.calls_to("views.open") == []

    # The modal a member opened, submitted by someone else (or built by hand).
    _click(bot, kit.WRITE_ANSWER, PARKING, digest)
    view = _opened_view(slack)
    status, body = _submit(
        bot, view, {"question": PARKING, "answer": "<!channel> free beer"}, user="U2"
    )
    assert status == 200
    assert json.loads(body) == {"response_action": "errors", "errors": {"question": MODAL_REFUSAL}}
    forged = dict(view, private_metadata=json.dumps({"id": 0, "channel": "C111", "ts": ""}))
    _submit(bot, forged, {"question": PARKING, "answer": "x"}, user="U3")
    settle()
    assert rows(bot.container, CapturedAnswer) == []
    assert len(slack.calls_to("chat.postMessage")) == 1  # the digest only


def test_slack_unreachable_refuses_rather_than_guesses(bot, slack):
    slack.channel_members[TEAM_CHANNEL] = [TEAM]
    _gaps(bot)
    digest = _digest(bot, slack)
    slack.fail_next("conversations.members", error="internal_error", times=5)
    _click(bot, kit.WRITE_ANSWER, PARKING, digest)
    [told] = slack.wait_for("chat.postEphemeral")
    assert "try again" in told.params["text"]
    assert slack.calls_to("views.open") == []


def test_modal_problems_are_shown_at_the_field(bot, slack):
    slack.channel_members[TEAM_CHANNEL] = [TEAM]
    _gaps(bot)
    digest = _digest(bot, slack)
    _click(bot, kit.WRITE_ANSWER, PARKING, digest)
    view = _opened_view(slack)
    status, body = _submit(bot, view, {"question": PARKING, "answer": "x", "source": "ftp://x"})
    assert status == 200
    assert json.loads(body)["errors"].keys() == {"source"}
    assert rows(bot.container, CapturedAnswer) == []


def test_edit_and_retire_from_the_thread(bot, slack):
    slack.channel_members[TEAM_CHANNEL] = [TEAM]
    _gaps(bot)
    digest = _digest(bot, slack)
    _click(bot, kit.WRITE_ANSWER, PARKING, digest)
    _submit(bot, _opened_view(slack), {"question": PARKING, "answer": ANSWER})
    slack.wait_for("chat.postMessage", 2)
    settle(0.1)
    saved = slack.state.messages[TEAM_CHANNEL][-1]
    [entry] = rows(bot.container, CapturedAnswer)

    _click(bot, kit.EDIT_CAPTURED, str(entry.id), saved)
    view = _opened_view(slack, 2)
    assert view["blocks"][1]["element"]["initial_value"] == ANSWER
    _submit(bot, view, {"question": PARKING, "answer": "Closed on Sundays since December."})
    slack.wait_for("chat.postMessage", 3)
    bot.send_event(dm_event(PARKING, event_id="EvParkingEdited"))
    answer = slack.wait_for("chat.postMessage", 4)[-1]
    assert "Closed on Sundays since December." in everything_said(answer)

    _click(bot, kit.RETIRE_CAPTURED, str(entry.id), saved, user="U2")  # not a member
    slack.wait_for("chat.postEphemeral")
    assert rows(bot.container, CapturedAnswer)[0].status == "approved"
    _click(bot, kit.RETIRE_CAPTURED, str(entry.id), saved)
    [update] = slack.wait_for("chat.update")
    assert "Retired" in everything_said(update)
    assert rows(bot.container, CapturedAnswer)[0].status == "retired"
    bot.send_event(dm_event(PARKING, event_id="EvParkingRetired"))
    answer = slack.wait_for("chat.postMessage", 5)[-1]
    assert "Closed on Sundays" not in everything_said(answer)


def test_a_relayed_team_reply_can_be_saved_as_the_playbook_answer(bot, slack):
    slack.channel_members[TEAM_CHANNEL] = [TEAM]
    bot.send_event(dm_event(PARKING, event_id="EvAskParking"))
    [answer_call] = slack.wait_for("chat.postMessage")
    settle(0.1)
    message = dict(slack.state.messages["D111"][-1])
    value = next(
        e["value"]
        for b in blocks_of(answer_call)
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["action_id"] == "escalate"
    )
    _click(bot, "escalate", value, message, user="U1", channel="D111")
    slack.wait_for("chat.postMessage", 2)
    slack.wait_for("chat.postEphemeral")
    settle(0.1)
    team_post = slack.state.messages[TEAM_CHANNEL][0]
    reply = message_event(
        "Yes — 8:00 to 18:00, north gate. <!channel>",
        event_id="EvTeamParking",
        user=TEAM,
        channel=TEAM_CHANNEL,
        thread_ts=team_post["ts"],
    )
    reply_ts = reply["event"]["ts"]
    slack.state.messages[TEAM_CHANNEL].append(dict(reply["event"]))  # what Slack would hold
    bot.send_event(reply)
    note = slack.wait_for("chat.postEphemeral", 2)[-1]
    assert (note.params["user"], note.params["thread_ts"]) == (TEAM, team_post["ts"])
    [button] = accessories(blocks_of(note))
    assert (button["action_id"], button["value"]) == (
        kit.SAVE_REPLY,
        f"{team_post['ts']}:{reply_ts}",
    )
    assert len(slack.wait_for("chat.postMessage", 3)) == 3  # answer, team post, relay

    _click(bot, kit.SAVE_REPLY, button["value"], None)  # on an ephemeral: no message
    view = _opened_view(slack)
    assert view["blocks"][0]["element"]["initial_value"] == PARKING
    assert (
        view["blocks"][1]["element"]["initial_value"]
        == "Yes — 8:00 to 18:00, north gate. <!channel>"
    )
    _submit(bot, view, {"question": PARKING, "answer": "Yes — 8:00 to 18:00, north gate."})
    saved = slack.wait_for("chat.postMessage", 4)[-1]
    assert (saved.params["channel"], saved.params["thread_ts"]) == (TEAM_CHANNEL, team_post["ts"])
    [entry] = rows(bot.container, CapturedAnswer)
    assert entry.answer == "Yes — 8:00 to 18:00, north gate."


def test_no_digest_without_a_change_team_channel(make_container, slack):
    container = make_container(slack_bot_token="xoxb-test", slack_api_url=slack.base_url)
    assert post_digest(container) is None
    assert slack.calls_to("chat.postMessage") == []


def test_a_members_question_with_slack_markup_is_shown_as_text(bot, slack):
    slack.channel_members[TEAM_CHANNEL] = [TEAM]
    _gaps(bot)
    digest = _digest(bot, slack)
    _click(bot, kit.WRITE_ANSWER, PARKING, digest)
    question = "Parking <!channel> <https://evil.example|click> on Sundays?"
    _submit(bot, _opened_view(slack), {"question": question, "answer": "Open <!here>."})
    saved = slack.wait_for("chat.postMessage", 2)[1]
    sent = json.dumps(saved.params)
    assert "<!channel>" not in sent and "<!here>" not in sent and "<https://evil" not in sent

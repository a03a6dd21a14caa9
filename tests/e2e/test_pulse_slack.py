"""Pulse surveys in Slack, end to end: HR's `/pulse send-now` puts one invitation in every
person's DM through the outbox, the button opens the modal, the submit is stored without
the person's id and thanked in place (with training when confidence, knowledge or ability
is low), a closed run refuses politely, and `/pulse` shows HR results, status, a preview
and a CSV export while refusing everyone else."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import textwrap
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from conftest import as_utc
from scenario import action_ids, blocks_of, button_value, everything_said, rows, settle
from slackbed import SIGNING_SECRET, BotServer, block_action, command_fields, view_submission
from sqlalchemy import text, update

from bot.slack.app import build_app
from bot.slack.middleware import REFUSAL
from bot.store.models import OutboxMessage, SurveyInvitation, SurveyResponse, SurveyRun
from bot.surveys.stored_scores import SCORE_COLUMNS, SENTIMENT_COLUMNS

REPO_ROOT = Path(__file__).resolve().parents[2]
SURVEY = "change-pulse"
TITLE = "Lighthouse change pulse"
STARTED = f"Started {TITLE}: the invitations are on their way."
HR = "UHR"
PEOPLE = [
    ("U1", "Ana Alves", "Finance"),
    ("U2", "Ben Bakker", "Finance"),
    ("U3", "Cas de Vries", "Finance"),
    ("U4", "Dina Evers", "Operations"),
    ("U5", "Eli Faber", "Operations"),
    ("U6", "Fay Groot", "Operations"),
]
USERS = [user for user, _, _ in PEOPLE]
NAMES = [name for _, name, _ in PEOPLE]
EMAILS = [f"{user.lower()}@northwind.example" for user in USERS]
LIKERT = [
    "resistance-extra-work",
    "resistance-willing",
    "confidence-cope",
    "confidence-left-behind",
    "awareness-why",
    "desire-want",
    "knowledge-how",
    "ability-practice",
    "reinforcement-stick",
]
REVERSED = {"resistance-willing", "confidence-left-behind"}
# Resistance: extra-work 2, willing 5 (reversed: 1) -> mean 1.5 -> index 12.5.
# Confidence: cope 4, left-behind 2 (reversed: 4) -> mean 4.0 -> index 75.0.
STEADY = {
    "resistance-extra-work": 2,
    "resistance-willing": 5,
    "confidence-cope": 4,
    "confidence-left-behind": 2,
    "awareness-why": 4,
    "desire-want": 4,
    "knowledge-how": 4,
    "ability-practice": 4,
    "reinforcement-stick": 4,
}
# Low on every dimension once the reversed items are turned round (1 on the scale).
STRUGGLING = {q: 5 if q in REVERSED else 1 for q in LIKERT}
TRAINING_DOCS = {
    "training/getting-started-with-orion.md": """
        ---
        title: Getting started with the Orion tools
        type: training
        url: https://intranet.example/orion/training/getting-started
        updated: 2026-02-01
        ---

        # Getting started with the Orion tools

        A training course for everyone new to the new tools: how the new way of working
        works, what changes in your day and where to find help when you get stuck.
        """,
    "training/orion-hands-on-guide.md": """
        ---
        title: Orion hands-on step-by-step guide
        type: training
        updated: 2026-02-10
        ---

        # Orion hands-on step-by-step guide

        A hands-on, step-by-step guide: register your first model, run it on the platform
        and check its dashboard. Practice the new way of working with a buddy.
        """,
}


def _answers(likert: dict[str, int], comment: str | None = None) -> dict[str, object]:
    answers: dict[str, object] = {f"q:{q}": value for q, value in likert.items()}
    if comment is not None:
        answers["q:comment"] = comment
    return answers


# -- set-up ------------------------------------------------------------------------------
@pytest.fixture
def start_bot(make_container, kb, slack, tmp_path):
    """Start the app over HTTP on a container with a copy of change-pulse, HR = UHR and six
    people (Europe/Amsterdam; Finance and Operations). Keyword arguments override settings."""
    stack = ExitStack()
    surveys_dir = tmp_path / "surveys"
    surveys_dir.mkdir()
    shutil.copy(REPO_ROOT / "knowledge" / "surveys" / f"{SURVEY}.yaml", surveys_dir)
    for relative, body in TRAINING_DOCS.items():
        path = kb / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body).lstrip("\n"), encoding="utf-8")

    def start(**overrides):
        container = make_container(
            slack_bot_token="xoxb-test",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.base_url,
            workers=4,
            slack_retries=2,
            surveys_dir=surveys_dir,
            hr_users=HR,
            survey_secret="test-secret",
            delivery_rate=50,
            **overrides,
        )
        container.indexer.ingest(kb)
        container.directory.sync(
            [
                {
                    "id": user,
                    "real_name": name,
                    "tz": "Europe/Amsterdam",
                    "profile": {"email": email},
                }
                for (user, name, _), email in zip(PEOPLE, EMAILS, strict=True)
            ]
        )
        report = container.directory.import_csv(
            "email,department\n"
            + "".join(
                f"{email},{department}\n"
                for (_, _, department), email in zip(PEOPLE, EMAILS, strict=True)
            )
        )
        assert report.updated == len(PEOPLE) and not report.unmatched_emails
        server = stack.enter_context(BotServer(build_app(container)))
        server.container = container
        server.slack = slack
        return server

    yield start
    stack.close()


@pytest.fixture
def pulse(start_bot):
    return start_bot()


def pulse_command(bot, words: str, *, user: str = HR, channel: str = "C111"):
    return bot.send_command(command_fields(words, command="/pulse", user=user, channel=channel))


def ephemerals(slack) -> list:
    return slack.calls_to("chat.postEphemeral")


def run_pulse_command(bot, words: str, *, user: str = HR) -> str:
    """A /pulse command that answers with an ephemeral: returns that ephemeral's text."""
    seen = len(ephemerals(bot.slack))
    status, _ = pulse_command(bot, words, user=user)
    assert status == 200
    told = bot.slack.wait_for("chat.postEphemeral", seen + 1)[seen]
    assert (told.params["channel"], told.params["user"]) == ("C111", user)
    return told.params["text"]


def send_now(bot) -> SurveyRun:
    """HR's `/pulse send-now change-pulse`, then the outbox drained; returns the run."""
    assert run_pulse_command(bot, f"send-now {SURVEY}") == STARTED
    bot.container.delivery_worker.drain(timeout=10)
    [run] = rows(bot.container, SurveyRun)
    return run


def invitation(slack, user: str) -> dict:
    """The invitation DM as the emulator keeps it (what a click on it carries)."""
    [message] = [
        m
        for m in slack.state.messages.get(f"D{user}", [])
        if "pulse_open" in action_ids(m.get("blocks") or [])
    ]
    return dict(message)


def open_modal(bot, run_id: int, user: str = "U1") -> dict:
    """Click "Take the 1-minute pulse" in the user's DM; returns the modal as opened."""
    seen = len(bot.slack.calls_to("views.open"))
    message = invitation(bot.slack, user)
    status, _ = bot.send_interaction(
        block_action("pulse_open", str(run_id), user=user, channel=f"D{user}", message=message)
    )
    assert status == 200
    opened = bot.slack.wait_for("views.open", seen + 1)[seen]
    assert opened.ok
    return list(bot.slack.state.views.values())[-1]


def submit(bot, view: dict, answers: dict[str, object], user: str = "U1") -> tuple[int, str]:
    return bot.send_interaction(view_submission(view, answers, user=user))


def answer(bot, run_id: int, user: str, answers: dict[str, object]) -> dict:
    """Open the modal and submit it; waits for the thank-you update and returns its params."""
    seen = len(bot.slack.calls_to("chat.update"))
    view = open_modal(bot, run_id, user)
    status, body = submit(bot, view, answers, user)
    assert (status, body) == (200, "")
    return bot.slack.wait_for("chat.update", seen + 1)[seen].params


def response_rows(container) -> list[dict]:
    """Every survey_responses row, every column, straight from the table."""
    with container.engine.connect() as connection:
        result = connection.execute(text("SELECT * FROM survey_responses"))
        return [dict(row._mapping) for row in result]


def set_closes_at(container, run_id: int, closes_at: dt.datetime) -> None:
    with container.session_factory.begin() as session:
        session.execute(update(SurveyRun).where(SurveyRun.id == run_id).values(closes_at=closes_at))


# -- 1. send-now -------------------------------------------------------------------------
def test_send_now_dms_every_person_once_with_the_button_and_never_twice_a_day(pulse, slack):
    status, body = pulse_command(pulse, f"send-now {SURVEY}")
    assert (status, body) == (200, "")
    [started] = slack.wait_for("chat.postEphemeral")
    assert (started.params["user"], started.params["text"]) == (HR, STARTED)
    pulse.container.delivery_worker.drain(timeout=10)
    [run] = rows(pulse.container, SurveyRun)
    assert (run.survey_id, run.status) == (SURVEY, "open")

    posts = slack.successful_calls("chat.postMessage")
    assert sorted(c.params["channel"] for c in posts) == [f"D{u}" for u in USERS]
    assert sorted(c.params["users"] for c in slack.calls_to("conversations.open")) == USERS
    for call in posts:
        user = call.params["channel"][1:]
        blocks = blocks_of(call)
        assert action_ids(blocks) == ["pulse_open"]
        assert button_value(blocks, "pulse_open") == str(run.id)
        [button] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
        assert button["text"]["text"] == "Take the 1-minute pulse"
        assert call.params["text"] == f"{TITLE} — take the 1-minute pulse"
        assert call.params["metadata"] == {
            "event_type": "changebot_delivery",
            "event_payload": {"delivery": f"pulse-{run.id}:{user}"},
        }
    assert pulse.container.outbox.counts(f"pulse-{run.id}") == {"sent": len(USERS)}
    assert pulse.container.survey_runs.status(run.id) == {
        "invited": len(USERS),
        "delivered": len(USERS),
        "answered": 0,
    }

    # The same day again: refused, nothing new queued or sent.
    said = run_pulse_command(pulse, f"send-now {SURVEY}")
    assert said == f"{TITLE} already has a run for today (due {run.due_date}); not sent twice."
    pulse.container.delivery_worker.drain(timeout=10)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == len(USERS)
    assert len(rows(pulse.container, SurveyRun)) == 1
    assert len(rows(pulse.container, OutboxMessage)) == len(USERS)


# -- 2. the button opens the modal -------------------------------------------------------
def test_the_button_opens_a_modal_with_one_input_per_question(pulse, slack):
    run = send_now(pulse)
    message = invitation(slack, "U1")
    click = block_action("pulse_open", str(run.id), user="U1", channel="DU1", message=message)
    status, _ = pulse.send_interaction(click)
    assert status == 200
    [opened] = slack.wait_for("views.open")
    assert opened.ok
    assert opened.params["trigger_id"] == click["trigger_id"]
    view = opened.params["view"]
    assert (view["type"], view["callback_id"]) == ("modal", "pulse_submit")
    assert json.loads(view["private_metadata"]) == {
        "run": run.id,
        "channel": "DU1",
        "ts": message["ts"],
    }
    survey = pulse.container.surveys().surveys[SURVEY]
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [f"q:{q.id}" for q in survey.questions]
    assert len(inputs) == len(survey.questions) == 10
    for block in inputs[:-1]:
        assert block["element"]["type"] == "radio_buttons"
        assert [o["value"] for o in block["element"]["options"]] == ["1", "2", "3", "4", "5"]
        assert block["optional"] is False
    assert inputs[-1]["element"]["type"] == "plain_text_input"
    assert inputs[-1]["optional"] is True
    settle()
    assert [c.params["text"] for c in ephemerals(slack)] == [STARTED]  # no apology


# -- 3. the submit -----------------------------------------------------------------------
def test_a_submit_closes_the_modal_stores_one_anonymous_row_and_thanks_in_place(pulse, slack):
    run = send_now(pulse)
    message = invitation(slack, "U1")
    view = open_modal(pulse, run.id, "U1")
    status, body = submit(pulse, view, _answers(STEADY, "More office hours, please."), "U1")
    assert (status, body) == (200, "")  # an empty 200 closes the modal

    [thanks] = slack.wait_for("chat.update")
    assert thanks.ok
    assert (thanks.params["channel"], thanks.params["ts"]) == ("DU1", message["ts"])
    assert thanks.params["text"] == "✓ Thanks — answered"
    said = everything_said(thanks)
    assert TITLE in said and "replaced" not in said
    assert "You might find these useful" not in said  # answers are not low: no training
    assert not action_ids(blocks_of(thanks))  # the button is gone from the DM

    [row] = response_rows(pulse.container)
    computed = {"scored", "comments", *SCORE_COLUMNS.values(), *SENTIMENT_COLUMNS.values()}
    assert set(row) == {"id", "run_id", "respondent_key", "answers", "attributes", *computed}
    stored = json.dumps({k: str(v) for k, v in row.items()})
    for secret in (*USERS, *NAMES, *EMAILS):
        assert secret not in stored
    [response] = rows(pulse.container, SurveyResponse)
    expected = {**STEADY, "comment": "More office hours, please."}
    assert response.answers == expected
    assert response.attributes == {"department": "Finance"}
    assert response.respondent_key == pulse.container.survey_runs.respondent_key(run.id, "U1")

    # The invitations do not say who answered: U1's row looks like everyone else's.
    invited = [
        {k: v for k, v in vars(i).items() if k not in {"id", "user_id", "_sa_instance_state"}}
        for i in rows(pulse.container, SurveyInvitation)
    ]
    assert len(invited) == len(USERS) and all(row == invited[0] for row in invited)
    assert pulse.container.survey_runs.status(run.id)["answered"] == 1
    settle()
    assert len(slack.calls_to("chat.update")) == 1
    assert [c.params["text"] for c in ephemerals(slack)] == [STARTED]


def test_low_confidence_knowledge_and_ability_suggest_two_training_documents(pulse, slack):
    run = send_now(pulse)
    thanks = answer(pulse, run.id, "U1", _answers(STRUGGLING))
    said = everything_said(thanks)
    assert thanks["text"] == "✓ Thanks — answered"
    assert "You might find these useful from the playbook:" in said
    assert (
        "<https://intranet.example/orion/training/getting-started|"
        "Getting started with the Orion tools>" in said
    )
    assert "*Orion hands-on step-by-step guide*" in said
    assert "orion-hands-on-guide.md" in said
    # Only training documents are suggested, never the FAQ or the roadmap.
    assert "FAQ" not in said and "Roadmap" not in said


def test_a_repeated_submit_keeps_one_row_and_a_change_replaces_it(pulse, slack):
    """The thank-you replaces the button, so a second modal is one opened before the first
    submit: the same DM clicked on a laptop and on a phone."""
    run = send_now(pulse)
    laptop = open_modal(pulse, run.id, "U1")
    phone = open_modal(pulse, run.id, "U1")
    first = _answers(STEADY, "More office hours, please.")
    for n in (1, 2):  # a double submit: the same answers twice
        assert submit(pulse, laptop, first, "U1") == (200, "")
        slack.wait_for("chat.update", n)
    [response] = rows(pulse.container, SurveyResponse)
    assert response.answers["comment"] == "More office hours, please."
    assert [c.params["text"] for c in slack.calls_to("chat.update")] == ["✓ Thanks — answered"] * 2

    changed = _answers({**STEADY, "desire-want": 2}, "Fewer meetings.")
    assert submit(pulse, phone, changed, "U1") == (200, "")
    replaced = slack.wait_for("chat.update", 3)[2]
    assert replaced.params["text"] == "✓ Thanks — answered (your earlier answers were replaced)"
    [response] = rows(pulse.container, SurveyResponse)
    assert response.answers == {**STEADY, "desire-want": 2, "comment": "Fewer meetings."}
    assert len(response_rows(pulse.container)) == 1
    assert pulse.container.survey_runs.status(run.id)["answered"] == 1


def test_a_submit_by_someone_not_invited_is_refused_in_the_modal(pulse, slack):
    """A modal submitted by someone the run did not invite (joined after the send)."""
    run = send_now(pulse)
    view = open_modal(pulse, run.id, "U1")
    status, body = submit(pulse, view, _answers(STEADY), "U7")
    assert status == 200
    reply = json.loads(body)
    assert reply["response_action"] == "errors"
    assert list(reply["errors"].values()) == [
        "You were not invited to this run, so it cannot count."
    ]
    settle()
    assert not rows(pulse.container, SurveyResponse)
    assert not slack.calls_to("chat.update")


def test_the_database_does_not_tell_who_gave_which_response(pulse, slack):
    """Once the run closed: no invitation, no key, and rows not in the order of answering."""
    run = send_now(pulse)
    answered_in = ["U4", "U2", "U6", "U1", "U5", "U3"]  # not the order they were invited in
    wrote = {user: f"Note {n}" for n, user in enumerate(answered_in)}
    for user in answered_in:
        answer(pulse, run.id, user, _answers(STEADY, wrote[user]))
    pulse.container.pulse_planner.runs.close_due(as_utc(run.closes_at))
    with pulse.container.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT answers, respondent_key FROM survey_responses ORDER BY rowid")
        ).all()
        invitations = connection.execute(text("SELECT count(*) FROM survey_invitations")).scalar()
    notes = [(json.loads(a) if isinstance(a, str) else a)["comment"] for a, _ in stored]
    assert sorted(notes) == sorted(wrote.values())
    assert notes != [wrote[user] for user in answered_in]
    assert invitations == 0 and {key for _, key in stored} == {None}


# -- 4 and 5. after the run closed -------------------------------------------------------
def test_a_submit_after_the_run_closed_is_refused_in_the_modal_and_not_stored(pulse, slack):
    run = send_now(pulse)
    view = open_modal(pulse, run.id, "U1")
    closed_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    set_closes_at(pulse.container, run.id, closed_at)

    status, body = submit(pulse, view, _answers(STEADY), "U1")
    assert status == 200
    reply = json.loads(body)
    assert reply["response_action"] == "errors"
    [(block_id, error)] = reply["errors"].items()
    assert block_id in {b["block_id"] for b in view["blocks"] if b["type"] == "input"}
    assert f"closed on {closed_at:%A %d %B %Y}" in error
    settle()
    assert not rows(pulse.container, SurveyResponse)
    assert pulse.container.survey_runs.status(run.id)["answered"] == 0
    assert not slack.calls_to("chat.update")


def test_a_submit_is_refused_once_the_survey_clock_passes_the_close(pulse, slack, monkeypatch):
    run = send_now(pulse)
    view = open_modal(pulse, run.id, "U1")
    closes_at = as_utc(run.closes_at)
    runs = pulse.container.survey_runs
    monkeypatch.setattr(runs, "clock", lambda: closes_at + dt.timedelta(minutes=1))

    status, body = submit(pulse, view, _answers(STEADY), "U1")
    assert status == 200
    [error] = json.loads(body)["errors"].values()
    assert f"closed on {closes_at:%A %d %B %Y}" in error
    assert not rows(pulse.container, SurveyResponse)


@pytest.mark.parametrize("how", ["clock", "scheduler"])
def test_the_button_after_the_close_says_when_it_closed_and_opens_nothing(pulse, slack, how):
    run = send_now(pulse)
    closes_at = as_utc(run.closes_at)
    later = closes_at + dt.timedelta(minutes=1)
    runs = pulse.container.survey_runs
    if how == "clock":
        runs.clock = lambda: later
    else:
        assert [r.id for r in runs.close_due(later)] == [run.id]

    message = invitation(slack, "U2")
    status, _ = pulse.send_interaction(
        block_action("pulse_open", str(run.id), user="U2", channel="DU2", message=message)
    )
    assert status == 200
    told = slack.wait_for("chat.postEphemeral", 2)[1]
    assert (told.params["channel"], told.params["user"]) == ("DU2", "U2")
    assert f"closed on {closes_at:%A %d %B %Y}" in told.params["text"]
    settle()
    assert not slack.calls_to("views.open")


# -- 6. /pulse for HR and for everyone else ----------------------------------------------
NOT_HR_WORDS = ["results", f"results {SURVEY}", "status", "export", f"send-now {SURVEY}"]


@pytest.mark.parametrize("words", NOT_HR_WORDS)
def test_pulse_for_someone_not_in_hr_is_refused_politely_without_calling_slack(pulse, slack, words):
    before = len(slack.calls)
    assert pulse_command(pulse, words, user="U1") == (200, REFUSAL)
    settle()
    assert len(slack.calls) == before
    assert not rows(pulse.container, SurveyRun)
    assert not rows(pulse.container, OutboxMessage)


def test_pulse_without_a_known_subcommand_or_survey_says_what_to_type(pulse, slack):
    status, body = pulse_command(pulse, "")
    assert status == 200 and body.startswith("Try one of: `/pulse results")
    assert run_pulse_command(pulse, "preview nosuch-survey") == f"Which survey? {SURVEY}"
    settle()
    assert not slack.calls_to("chat.postMessage")
    assert not rows(pulse.container, SurveyRun)


def test_pulse_status_shows_sent_and_answered_counts(pulse, slack):
    assert run_pulse_command(pulse, "status") == "No pulse survey is open right now."
    run = send_now(pulse)
    answer(pulse, run.id, "U1", _answers(STEADY))
    said = run_pulse_command(pulse, "status")
    assert said.startswith(f"*{TITLE}* (due {run.due_date}")
    assert f"{len(USERS)} sent, 0 failed, 0 waiting" in said
    assert f"1 answered of {len(USERS)} invited" in said


def _five_answers(bot, run_id: int) -> None:
    for user in USERS[:5]:
        answer(bot, run_id, user, _answers(STEADY, f"Comment from {user}"))


def _close(bot, run) -> None:
    assert bot.container.survey_runs.close_due(as_utc(run.closes_at))


def _results(bot, words: str) -> str:
    """`/pulse <words>`: the report DMed to HR."""
    seen = len(bot.slack.calls_to("chat.postMessage"))
    told = len(ephemerals(bot.slack))  # counted before the command: its ephemeral may come first
    assert pulse_command(bot, words) == (200, "Working on it…")
    bot.slack.wait_for("chat.postEphemeral", told + 1)
    return bot.slack.wait_for("chat.postMessage", seen + 1)[seen].params["text"]


def _export(bot, words: str) -> str:
    seen = len(bot.slack.calls_to("files.completeUploadExternal"))
    told = len(ephemerals(bot.slack))
    assert pulse_command(bot, words) == (200, "Working on it…")
    complete = bot.slack.wait_for("files.completeUploadExternal", seen + 1)[seen]
    bot.slack.wait_for("chat.postEphemeral", told + 1)  # the export is finished, not in flight
    [file_id] = [f["id"] for f in complete.params["files"]]
    return bot.slack.state.uploads[file_id].decode("utf-8")


def test_open_run_results_do_not_move_per_respondent(pulse, slack):
    """Ask, let one more person answer, ask again: only the count of answers moved."""
    run = send_now(pulse)
    for user in USERS[:4]:
        answer(pulse, run.id, user, _answers(STEADY))
    before = (_results(pulse, f"results {SURVEY}"), _export(pulse, f"export {SURVEY}"))
    answer(pulse, run.id, USERS[4], _answers(STRUGGLING, "Only I would write this"))
    after = (_results(pulse, f"results {SURVEY}"), _export(pulse, f"export {SURVEY}"))

    assert after != before
    assert [re.sub(r"\d+", "#", a) for a in after] == [re.sub(r"\d+", "#", b) for b in before]
    said = after[0]
    assert f"Participation so far: 5 of {len(USERS)} invited" in said
    assert "Full results when the run closes on" in said
    assert "index" not in said and "Only I would" not in said
    assert after[1].startswith("status,invited,answered,closes_at\nopen,6,5,")


def test_pulse_results_dms_hr_the_report_and_a_trend_chart(pulse, slack):
    run = send_now(pulse)
    _five_answers(pulse, run.id)
    _close(pulse, run)
    posts_before = len(slack.calls_to("chat.postMessage"))

    status, body = pulse_command(pulse, f"results {SURVEY}")
    assert status == 200
    assert body == "Working on it…"
    slack.wait_for("files.completeUploadExternal")
    told = slack.wait_for("chat.postEphemeral", 2)[1]
    assert told.params["text"] == "I sent the results to you in a direct message."

    [report] = slack.calls_to("chat.postMessage")[posts_before:]
    assert report.params["channel"] == f"D{HR}"
    said = report.params["text"]
    assert f"{TITLE} ({SURVEY})" in said
    assert f"Participation: 5 of {len(USERS)} invited (83%)" in said
    assert "Resistance index: 12.5 / 100" in said
    assert "Confidence index: 75.0 / 100" in said
    for secret in (*USERS, *NAMES):
        assert secret not in said
    assert "Comment from" not in said  # comments need ten answers in the run

    [get_url] = slack.calls_to("files.getUploadURLExternal")
    assert get_url.params["filename"] == f"{SURVEY}-trend.png"
    [complete] = slack.calls_to("files.completeUploadExternal")
    assert complete.ok and complete.params["channel_id"] == f"D{HR}"
    [file_id] = [f["id"] for f in complete.params["files"]]
    assert slack.state.uploads[file_id].startswith(b"\x89PNG\r\n\x1a\n")
    assert {c.params["users"] for c in slack.calls_to("conversations.open")} - set(USERS) == {HR}


def test_pulse_export_uploads_aggregates_without_ids_or_per_person_rows(pulse, slack):
    run = send_now(pulse)
    _five_answers(pulse, run.id)
    keys = [r.respondent_key for r in rows(pulse.container, SurveyResponse)]
    _close(pulse, run)

    assert pulse_command(pulse, f"export {SURVEY}") == (200, "Working on it…")
    [complete] = slack.wait_for("files.completeUploadExternal")
    told = slack.wait_for("chat.postEphemeral", 2)[1]
    assert told.params["text"] == "I sent the CSV (aggregates only) to you in a direct message."
    assert complete.params["channel_id"] == f"D{HR}"
    [get_url] = slack.calls_to("files.getUploadURLExternal")
    assert get_url.params["filename"] == f"{SURVEY}-{run.due_date}-by-department.csv"

    [file_id] = [f["id"] for f in complete.params["files"]]
    csv_text = slack.state.uploads[file_id].decode("utf-8")
    lines = csv_text.strip().splitlines()
    assert lines[0] == "department,respondents,resistance_index,confidence_index"
    assert lines[1] == "(everyone),5,12.5,75.0"
    # 3 and 2: one block of 5, so both hidden; the sealed run no longer knows their sizes.
    assert sorted(lines[2:]) == ["Finance,hidden,,", "Operations,hidden,,"]
    for secret in (*USERS, *NAMES, *EMAILS, *keys, "Comment from"):
        assert secret not in csv_text


def test_pulse_preview_is_dmed_to_hr_only(pulse, slack):
    said = run_pulse_command(pulse, f"preview {SURVEY}")
    assert said == "I sent you a preview in a direct message (nothing was sent to anyone else)."
    [opened] = slack.calls_to("conversations.open")
    assert opened.params["users"] == HR
    [preview] = slack.calls_to("chat.postMessage")
    assert preview.params["channel"] == f"D{HR}"
    shown = everything_said(preview)
    assert f"Preview: {TITLE}" in shown
    survey = pulse.container.surveys().surveys[SURVEY]
    assert all(q.text in shown for q in survey.questions)
    assert not rows(pulse.container, SurveyRun) and not rows(pulse.container, OutboxMessage)


def test_members_of_the_hr_user_group_count_as_hr(start_bot, slack):
    slack.usergroups = {"SHR": {"handle": "hr", "users": ["UHR2"]}}
    bot = start_bot(hr_usergroup="SHR")
    [looked_up] = slack.wait_for("usergroups.users.list")  # read at start-up
    closed = "No pulse survey is open right now."
    assert run_pulse_command(bot, "status", user="UHR2") == closed
    assert looked_up.params["usergroup"] == "SHR"

    assert pulse_command(bot, "status", user="U1") == (200, REFUSAL)  # not a member
    assert run_pulse_command(bot, "status", user=HR) == closed  # the id list still counts
    settle()
    assert [c.params["user"] for c in ephemerals(slack)] == ["UHR2", HR]


# -- 7. a deactivated account ------------------------------------------------------------
def test_an_inactive_account_fails_its_row_only_and_status_counts_it(pulse, slack):
    slack.fail_next("chat.postMessage", error="account_inactive")
    run = send_now(pulse)

    posts = slack.calls_to("chat.postMessage")
    [failed] = [c for c in posts if c.error == "account_inactive"]
    lost = failed.params["channel"][1:]
    assert sorted(c.params["channel"] for c in posts if c.ok) == [
        f"D{u}" for u in USERS if u != lost
    ]
    campaign = f"pulse-{run.id}"
    assert pulse.container.outbox.counts(campaign) == {"sent": len(USERS) - 1, "failed": 1}
    [row] = rows(pulse.container, OutboxMessage, status="failed")
    assert (row.recipient, row.last_error, row.attempts) == (lost, "account_inactive", 1)
    delivered = {i.user_id: i.delivered for i in rows(pulse.container, SurveyInvitation)}
    assert delivered == {u: u != lost for u in USERS}

    said = run_pulse_command(pulse, "status")
    assert f"{len(USERS) - 1} sent, 1 failed, 0 waiting" in said
    assert f"0 answered of {len(USERS)} invited" in said
    pulse.container.delivery_worker.drain(timeout=10)
    settle()
    assert len(slack.calls_to("chat.postMessage")) == len(USERS)  # never retried


# -- 8. the HR user group under rate limiting ----------------------------------------------
def test_acks_do_not_wait_for_a_rate_limited_group_lookup_and_hr_is_not_refused(start_bot, slack):
    slack.usergroups = {"SHR": {"handle": "hr", "users": ["UHR2"]}}
    bot = start_bot(hr_usergroup="SHR", usergroup_cache_seconds=0.2)
    slack.wait_for("usergroups.users.list")  # read once at start-up, off the request path
    closed = "No pulse survey is open right now."
    assert run_pulse_command(bot, "status", user="UHR2") == closed

    time.sleep(0.3)  # the membership is now stale …
    slack.delay("usergroups.users.list", 2.0)  # … and Slack is slow and rate limiting
    slack.fail_next("usergroups.users.list", retry_after=1, times=5)
    looked_up = len(slack.calls_to("usergroups.users.list"))
    assert run_pulse_command(bot, "status", user="UHR2") == closed  # last known: still HR
    # Slack had its ack (and the answer came) while the look-up was still on its way.
    assert len(slack.calls_to("usergroups.users.list")) == looked_up
    slack.wait_for("usergroups.users.list", looked_up + 1, timeout=10)
    assert slack.calls_to("usergroups.users.list")[-1].status == 429
    assert run_pulse_command(bot, "status", user="UHR2") == closed
    assert pulse_command(bot, "status", user="U1") == (200, REFUSAL)  # never a member

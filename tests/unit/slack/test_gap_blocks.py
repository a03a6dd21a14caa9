"""The gap loop's Block Kit: digest, modal, saved entry. Content is escaped; no mocks."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from conftest import make_settings

from bot.questions.captured import Entry
from bot.questions.gaps import GapGroup
from bot.slack import gap_blocks as kit
from bot.slack.runner import digest_schedule

AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _group(question="Is <!channel> parking & free?", count=3) -> GapGroup:
    return GapGroup(
        question=question,
        count=count,
        phrasings=[question, "parking <@U1> free?", "is parking free"],
        kinds=Counter({"abstained": 2, "escalated": 1}),
        last_asked=AT,
    )


def test_digest_escapes_questions_and_shows_count_kinds_and_two_other_phrasings():
    blocks = kit.digest_blocks([_group(), _group("Dogs?", 1)], days=7)
    shown = json.dumps([b.get("text") or b.get("elements") for b in blocks])  # not values
    assert "<!channel>" not in shown and "<@U1>" not in shown
    section = blocks[2]["text"]["text"]
    assert section.startswith("*Is &lt;!channel&gt; parking &amp; free?* — asked 3 times")
    assert "(no answer ×2, escalated ×1)" in section
    assert "Also asked: “parking &lt;@U1&gt; free?” · “is parking free”" in section
    assert "asked once" in blocks[3]["text"]["text"]
    button = blocks[2]["accessory"]
    assert (button["action_id"], button["value"]) == (kit.WRITE_ANSWER, _group().question)


def test_a_long_question_fits_in_the_button_value():
    blocks = kit.digest_blocks([_group("x" * 5000)], days=7)
    assert len(blocks[2]["accessory"]["value"]) <= 2000
    assert len(blocks[2]["text"]["text"]) <= 3000


def test_modal_prefills_plain_text_and_reads_back():
    view = kit.answer_modal(question="Q?", answer="A <b>", channel="CTEAM", thread_ts="1.2")
    assert view["callback_id"] == kit.ANSWER_MODAL
    assert json.loads(view["private_metadata"]) == {"id": 0, "channel": "CTEAM", "ts": "1.2"}
    assert [b["element"].get("initial_value") for b in view["blocks"]] == ["Q?", "A <b>", None]
    assert view["blocks"][2]["optional"] is True
    state = {
        "values": {"question": {"value": {"value": "Q2"}}, "answer": {"value": {"value": "A"}}}
    }
    assert kit.modal_values({"state": state}) == {"question": "Q2", "answer": "A", "source": ""}


def test_saved_entry_escapes_and_offers_edit_and_retire_until_retired():
    entry = Entry(
        id=4,
        question="<!here> parking?",
        answer="Open *8–18* <!channel>",
        source_url="javascript:alert(1)",
        author="UTEAM",
        author_name="Tess <Team>",
        created_at=AT,
        updated_at=AT,
        status="approved",
    )
    blocks = kit.captured_blocks(entry)
    text = json.dumps(blocks)
    assert "<!here>" not in text and "<!channel>" not in text
    assert "<javascript:" not in text  # an unsafe link is shown as words, never a link
    assert "Tess &lt;Team&gt;" in text
    assert [e["action_id"] for e in blocks[-1]["elements"]] == [
        kit.EDIT_CAPTURED,
        kit.RETIRE_CAPTURED,
    ]
    retired = kit.captured_blocks(Entry(**{**entry.__dict__, "status": "retired"}))
    assert all(b["type"] != "actions" for b in retired)


def test_digest_schedule_is_off_without_a_team_channel_or_when_switched_off():
    assert digest_schedule(make_settings()) is None
    assert digest_schedule(make_settings(change_team_channel="C1", gaps_digest_day="off")) is None
    assert digest_schedule(
        make_settings(change_team_channel="C1", gaps_digest_day="fri", gaps_digest_time="16:30")
    ) == {"day_of_week": "fri", "hour": 16, "minute": 30}


class _Scheduler:
    """The leader-lease scheduler's surface: jobs are added when this replica leads."""

    def __init__(self):
        self.jobs = {}
        self.on_lead = []

    def add_job(self, func, trigger, **kwargs):
        self.jobs[kwargs["id"]] = (func, trigger, kwargs)

    def get_job(self, job_id):
        return self.jobs.get(job_id)

    def remove_job(self, job_id):
        del self.jobs[job_id]

    def start(self):
        for gained_the_lease in self.on_lead:
            gained_the_lease()


def _housekeeping(monkeypatch, settings):
    from types import SimpleNamespace

    from bot.slack import runner

    monkeypatch.setattr(runner, "_CONTAINER", None)
    container = SimpleNamespace(
        settings=settings,
        scheduler=_Scheduler(),
        retention=SimpleNamespace(purge=lambda: None),
        delivery_worker=SimpleNamespace(start=lambda: None),
    )
    runner.start_housekeeping(container)
    return container.scheduler.jobs


def test_the_weekly_digest_is_scheduled_like_the_other_jobs(monkeypatch):
    jobs = _housekeeping(
        monkeypatch,
        make_settings(change_team_channel="C1", gaps_digest_day="tue", gaps_digest_time="08:15"),
    )
    func, trigger, kwargs = jobs["gaps-digest"]
    assert (func, trigger) == ("bot.slack.runner:gaps_digest", "cron")
    assert (kwargs["day_of_week"], kwargs["hour"], kwargs["minute"]) == ("tue", 8, 15)
    assert kwargs["timezone"] == "UTC" and kwargs["replace_existing"] is True
    assert "gaps-digest" not in _housekeeping(monkeypatch, make_settings())

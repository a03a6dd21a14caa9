"""No content that is not ours becomes live Slack markup, in any builder.

Every builder gets hostile content (a channel ping, @here, a user mention, a disguised
link, an already-escaped entity) in every field that comes from content — playbook text,
titles, sections, URLs and paths, questions, comments, change-team replies, leaders'
titles, department names — and no control sequence from it may survive into a mrkdwn text
or a message's fallback text.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import pytest

from bot.broadcasts.service import Audience, Stats, Update
from bot.knowledge.answer import Answer, Source
from bot.slack import blocks, broadcast_blocks, survey_blocks
from bot.slack.escaping import code_block, escape, from_slack, link, safe_url
from bot.surveys.definitions import Survey

EVIL = "Hi <!channel> and <!here> and <@U123>, <https://evil.example|click> &amp; more"
LIVE = ("<!channel>", "<!here>", "<@U123>", "<https://evil.example", "<!everyone>")


def source(**values) -> Source:
    fields = {
        "number": 1,
        "title": f"Roadmap {EVIL}",
        "path": f"roadmap/{EVIL}.md",
        "section": f"Phase {EVIL}",
        "type": "roadmap",
        "score": 0.8,
        "text": EVIL,
        "url": "",
        "updated": "2026-02-01",
    }
    return Source(**(fields | values))


def answer(**values) -> Answer:
    fields = {
        "question": f"When? {EVIL}",
        "text": f"Phase 1 runs. {EVIL} [1]",
        "confident": True,
        "sources": [source(), source(number=2, url=f"https://ok.example/a?b=1&c=<x>|{EVIL}")],
        "kind": "extractive",
    }
    return Answer(**(fields | values))


def update(**values) -> Update:
    at = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
    fields = {
        "id": 7,
        "author": "ULEAD",
        "title": f"Go-live {EVIL}"[:150],
        "body": "The go-live moves.",
        "audience": Audience(channels=("C1",), departments=(f"Finance {EVIL}",)),
        "ask_ack": True,
        "status": "sent",
        "send_at": at,
        "local_time": False,
        "author_tz": "UTC",
        "version": 1,
        "dm_count": 3,
        "channel_count": 1,
        "created_at": at,
        "sent_at": at,
        "edited_at": None,
        "recalled_at": None,
    }
    return Update(**(fields | values))


def survey() -> Survey:
    return Survey.model_validate(
        {
            "id": "pulse",
            "title": f"Pulse {EVIL}"[:150],
            "intro": f"Intro {EVIL}",
            "cadence": {"weekly": {"day": "mon"}},
            "questions": [{"id": "q", "text": "Q?", "type": "likert5", "dimension": "resistance"}],
        }
    )


RUN = SimpleNamespace(id=3, closes_at=dt.datetime(2026, 3, 15, tzinfo=dt.UTC))
TRAINING = [
    {"title": f"Course {EVIL}", "path": f"training/{EVIL}.md", "url": None},
    {"title": f"Guide {EVIL}", "path": "t.md", "url": f"https://ok.example/|{EVIL}"},
]
REPORT = f"Comments:\n- fine\n- ```\n{EVIL}\n```\n- more"

FROM_SLACK = {"relay_fallback_text"}  # builders fed message text exactly as Slack sent it
BUILDERS = {
    "answer_blocks": lambda: blocks.answer_blocks(answer(), 1, shareable=True, asked_by="U9"),
    "answer_fallback_text": lambda: blocks.answer_fallback_text(answer()),
    "shared_answer_blocks": lambda: blocks.shared_answer_blocks(
        answer().text, [s.to_json() for s in answer().sources], "U9", answer().question
    ),
    "shared_answer_text": lambda: blocks.shared_answer_text("U9", answer().question),
    "escalation_blocks": lambda: blocks.escalation_blocks(
        escalation_id=1, asker="U9", question=EVIL, answer_text=EVIL, confident=True
    ),
    "relay_blocks": lambda: blocks.relay_blocks(EVIL, "U8", EVIL),
    "relay_fallback_text": lambda: blocks.relay_fallback_text(EVIL),
    "home_view": lambda: blocks.home_view(
        examples=[EVIL],
        announcements=[
            {"title": EVIL, "url": f"https://ok.example/|{EVIL}", "updated": EVIL},
            {"title": EVIL, "url": "", "updated": ""},
        ],
        help_channel="#change-team",
    ),
    "invitation": lambda: survey_blocks.invitation(survey(), RUN),
    "pulse_modal": lambda: survey_blocks.pulse_modal(survey(), 3, channel="D1", ts="1.1"),
    "thanks": lambda: survey_blocks.thanks(survey(), TRAINING),
    "report_message": lambda: survey_blocks.report_message(REPORT),
    "preview_blocks": lambda: survey_blocks.preview_blocks(survey()),
    "question_modal": lambda: broadcast_blocks.question_modal(update(), channel="D1", ts="1.1"),
    "message": lambda: broadcast_blocks.message(update(), "U1", None, True),
    "tracking_blocks": lambda: broadcast_blocks.tracking_blocks([(update(), Stats())]),
    "scheduled_blocks": lambda: broadcast_blocks.scheduled_blocks([update(status="scheduled")]),
}


def shown(built) -> list[str]:
    """Every string Slack would parse as mrkdwn: mrkdwn texts and fallback `text` fields."""
    if isinstance(built, str):
        return [built]
    found: list[str] = []

    def walk(node, key=None):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            elif isinstance(node.get("text"), str) and node.get("type") != "plain_text":
                found.append(node["text"])  # a message's fallback text
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(built)
    return found


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_content_never_becomes_live_markup(name):
    texts = shown(BUILDERS[name]())
    assert texts, "the builder showed nothing"
    joined = "\n".join(texts)
    for live in LIVE:
        assert live not in joined, f"{name} let {live} through"
    if name in FROM_SLACK:  # Slack's own wire text: its &amp; is a typed "&"
        assert "&amp; more" in joined
    else:
        assert "&amp;amp;" in joined  # the entity in the content is shown as typed


def test_a_comment_cannot_break_out_of_the_results_code_block():
    text = survey_blocks.report_message(REPORT)["text"]
    assert text.startswith("```") and text.endswith("```")
    assert text.count("```") == 2  # the comment's fences are defused


def test_our_own_quote_line_and_mentions_stay_live():
    built = blocks.escalation_blocks(
        escalation_id=1, asker="U9", question="> is it <b>?", answer_text="x", confident=True
    )
    text = built[1]["text"]["text"]
    assert text == "*From* <@U9>\n>&gt; is it &lt;b&gt;?"


def test_playbook_markdown_links_still_become_safe_links():
    text = blocks.answer_blocks(
        answer(text="See [the roadmap](https://ok.example/r?a=1&b=2) now."), 1
    )[0]["text"]["text"]
    assert "<https://ok.example/r?a=1&amp;b=2|the roadmap>" in text


def test_helpers():
    assert escape("a & <b>") == "a &amp; &lt;b&gt;"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://x.example/a|<!here>") == "https://x.example/a%7C%3C!here%3E"
    assert link("ftp://x", "<!here>") == "&lt;!here&gt;"
    assert code_block("a ``` b") == "```a `\u200b`\u200b` b```"
    assert from_slack("hi <!here> <@U1|ana> <https://x.example|see> a &lt;b&gt;") == (
        "hi @here @ana see (https://x.example) a &lt;b&gt;"
    )


def test_json_of_every_builder_has_no_live_sequence_anywhere_in_mrkdwn():
    for name, build in BUILDERS.items():
        assert "<!channel>" not in "\n".join(shown(build())), name
        json.dumps(build())  # and it is still JSON

"""Block Kit builders: pure functions from answers and escalations to Slack JSON."""

from __future__ import annotations

import json
import re

import pytest

from bot.knowledge.answer import Answer, Source
from bot.slack import blocks as kit

SLACK_TEXT_LIMIT = 3000
BLOCK_TYPES = {
    "section",
    "context_actions",
    "context",
    "actions",
    "header",
    "divider",
    "image",
    "input",
    "rich_text",
    "file",
    "video",
}
ROADMAP_URL = "https://intranet.example/orion/roadmap"


def source(number=1, **values) -> Source:
    fields = {
        "number": number,
        "title": "Orion Roadmap",
        "path": "roadmap/orion-roadmap.md",
        "section": "Phase 1",
        "type": "roadmap",
        "score": 0.8,
        "text": "Phase 1 runs from 3 March to 30 June 2026.",
        "url": "",
        "updated": "2026-02-01",
    }
    return Source(**(fields | values))


def answer(text="Phase 1 runs from 3 March to 30 June 2026. [1]", **values) -> Answer:
    fields = {
        "question": "When does phase 1 run?",
        "text": text,
        "confident": True,
        "sources": [source()],
        "kind": "extractive",
    }
    return Answer(**(fields | values))


def texts(blocks: list[dict]) -> list[str]:
    """Every mrkdwn / plain text string shown by the blocks, in order."""
    found = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            if element.get("type") in {"mrkdwn", "plain_text"}:
                found.append(element["text"])
            elif "text" in element:
                found.append(element["text"]["text"])
    return found


def of_type(blocks: list[dict], kind: str) -> list[dict]:
    return [block for block in blocks if block["type"] == kind]


def actions(blocks: list[dict]) -> dict:
    (block,) = of_type(blocks, "actions")
    return block


def check_blocks(blocks: list[dict]) -> None:
    """What Slack rejects with invalid_blocks: unknown types, over-long texts, bad buttons."""
    assert json.loads(json.dumps(blocks)) == blocks
    assert 0 < len(blocks) <= 50
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids))
    for block in blocks:
        assert block["type"] in BLOCK_TYPES, block
        if block["type"] == "section":
            assert block["text"]["type"] in {"mrkdwn", "plain_text"}
            assert 0 < len(block["text"]["text"]) <= SLACK_TEXT_LIMIT
        elif block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= 150
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            for element in block["elements"]:
                assert element["type"] in {"mrkdwn", "plain_text", "image"}
                assert 0 < len(element["text"]) <= SLACK_TEXT_LIMIT
        elif block["type"] == "context_actions":
            assert 0 < len(block["elements"]) <= 5
            for element in block["elements"]:
                assert element["type"] == "feedback_buttons"
                for side in ("positive_button", "negative_button"):
                    assert element[side]["text"]["type"] == "plain_text"
                    assert 0 < len(element[side]["value"]) <= 2000
                    assert len(element[side].get("accessibility_label", "")) <= 75
        elif block["type"] == "actions":
            assert 0 < len(block["elements"]) <= 25
            action_ids = [element["action_id"] for element in block["elements"]]
            assert len(action_ids) == len(set(action_ids))
            for element in block["elements"]:
                assert element["type"] == "button"
                assert element["text"]["type"] == "plain_text"
                assert 0 < len(element["text"]["text"]) <= 75
                assert 0 < len(element["value"]) <= 2000
                assert element.get("style") in {None, "primary", "danger"}


# -- answer_blocks --------------------------------------------------------------------------
def test_markdown_bold_and_links_become_slack_mrkdwn():
    text = "**Phase 1** runs until June; see [the roadmap](https://intranet.example/r) [1]"
    section = of_type(kit.answer_blocks(answer(text), 7), "section")[0]
    shown = section["text"]["text"]
    assert shown == "*Phase 1* runs until June; see <https://intranet.example/r|the roadmap> [1]"
    assert section["text"]["type"] == "mrkdwn"


def test_markdown_headings_become_bold_lines():
    shown = kit.slack_mrkdwn("## Dates\nPhase 1 runs from 3 March.")
    assert shown == "*Dates*\nPhase 1 runs from 3 March."


def test_sources_are_numbered_with_title_and_section_and_a_link_when_there_is_a_url():
    sources = [
        source(1, url=ROADMAP_URL),
        source(2, title="Orion FAQ", section="", path="orion-faq.md"),
        source(3, title="Notes", section="Getting help", path="notes.txt"),
    ]
    blocks = kit.answer_blocks(answer(sources=sources), 7)
    (context,) = of_type(blocks, "context")
    lines = context["elements"][0]["text"].splitlines()
    assert lines[0] == "*Sources*"
    assert lines[1] == f"[1] <{ROADMAP_URL}|Orion Roadmap — Phase 1>"
    assert lines[2] == "[2] Orion FAQ (`orion-faq.md`)"
    assert lines[3] == "[3] Notes — Getting help (`notes.txt`)"
    assert len(lines) == 4


@pytest.mark.parametrize("url", [ROADMAP_URL, ""])
def test_slack_control_characters_in_titles_cannot_break_the_source_line(url):
    risky = source(1, title="Q&A <draft> | v2", section="Dates > Phase|1 <b>", url=url)
    line = kit.source_line(risky)
    if url:
        match = re.fullmatch(r"\[1\] <" + re.escape(url) + r"\|([^<>|]*)>", line)
    else:
        match = re.fullmatch(r"\[1\] ([^<>|]*) \(`roadmap/orion-roadmap\.md`\)", line)
    assert match, line
    label = match.group(1)
    for word in ("Q&amp;A", "draft", "v2", "Dates", "Phase", "1", "b"):  # & as Slack's &amp;
        assert word in label


def test_answer_text_over_the_slack_limit_is_clipped():
    long_text = "The pilot teams get access a week before launch. " * 200  # ~10,000 chars
    many_sources = [
        source(n, title="A very long playbook title " * 10, url=f"{ROADMAP_URL}/{n}")
        for n in range(1, 21)
    ]
    blocks = kit.answer_blocks(
        answer(long_text, question="why? " * 400, sources=many_sources), 7, asked_by="U1"
    )
    check_blocks(blocks)
    assert all(len(text) <= SLACK_TEXT_LIMIT for text in texts(blocks))
    section = of_type(blocks, "section")[0]["text"]["text"]
    assert section.startswith("The pilot teams get access")
    assert section.endswith("…")
    assert len(section) > 2000  # clipped, not dropped


def test_short_answer_is_not_clipped():
    text = "Fill in the voucher form on the intranet. [1]"
    section = of_type(kit.answer_blocks(answer(text), 1), "section")[0]
    assert section["text"]["text"] == text


def feedback_buttons(blocks: list[dict]) -> dict:
    (block,) = of_type(blocks, "context_actions")
    (element,) = block["elements"]
    return element


def test_confident_answer_has_native_feedback_buttons_and_lists_sources():
    blocks = kit.answer_blocks(answer(confident=True), 42)
    check_blocks(blocks)
    buttons = [b["action_id"] for b in actions(blocks)["elements"]]
    assert buttons == [kit.ESCALATE]
    assert actions(blocks)["elements"][0].get("style") is None  # feedback comes first
    feedback = feedback_buttons(blocks)
    assert feedback["action_id"] == kit.FEEDBACK
    assert kit.feedback_value(feedback["positive_button"]["value"]) == (42, True)
    assert kit.feedback_value(feedback["negative_button"]["value"]) == (42, False)
    assert blocks[-1]["type"] == "context_actions"
    context = of_type(blocks, "context")[0]["elements"][0]["text"]
    assert context.startswith("*Sources*")
    assert "Closest passages" not in context


def test_unconfident_answer_offers_the_change_team_first_and_says_closest_passages():
    text = "I couldn't find this in the playbook. Ask in #change-team."
    blocks = kit.answer_blocks(answer(text, confident=False, kind="abstain"), 42)
    check_blocks(blocks)
    elements = actions(blocks)["elements"]
    assert elements[0]["action_id"] == kit.ESCALATE
    assert elements[0]["text"]["text"] == "Ask the change team"
    assert elements[0]["style"] == "primary"
    assert {e["action_id"] for e in elements} == {kit.ESCALATE}
    assert feedback_buttons(blocks)["action_id"] == kit.FEEDBACK
    context = of_type(blocks, "context")[0]["elements"][0]["text"]
    assert "Closest passages" in context
    assert "Sources" not in context


@pytest.mark.parametrize("confident", [True, False])
def test_shareable_answer_has_a_share_button(confident):
    shared = actions(kit.answer_blocks(answer(confident=confident), 3, shareable=True))
    private = actions(kit.answer_blocks(answer(confident=confident), 3))
    assert shared["elements"][-1]["action_id"] == kit.SHARE
    assert kit.SHARE not in {e["action_id"] for e in private["elements"]}


@pytest.mark.parametrize("confident", [True, False])
def test_every_button_carries_the_interaction_id(confident):
    blocks = kit.answer_blocks(answer(confident=confident), 12345, shareable=True)
    block = actions(blocks)
    assert len(block["elements"]) == 2
    assert {element["value"] for element in block["elements"]} == {"12345"}
    assert "12345" in block["block_id"]
    feedback = feedback_buttons(blocks)
    sides = (feedback["positive_button"], feedback["negative_button"])
    assert {kit.feedback_value(side["value"])[0] for side in sides} == {12345}


def test_answers_to_different_interactions_have_different_action_blocks():
    first = actions(kit.answer_blocks(answer(), 1))
    second = actions(kit.answer_blocks(answer(), 2))
    assert first["block_id"] != second["block_id"]


def test_empty_index_answer_shows_no_sources_block():
    empty = answer(
        "The playbook is empty. Run `changebot ingest` first.",
        confident=False,
        kind="empty",
        sources=[source()],
    )
    blocks = kit.answer_blocks(empty, 5)
    check_blocks(blocks)
    assert of_type(blocks, "context") == []
    assert not any("Sources" in t or "Closest passages" in t for t in texts(blocks))


def test_answer_without_sources_has_no_sources_block():
    blocks = kit.answer_blocks(answer(sources=[], confident=False, kind="abstain"), 5)
    assert of_type(blocks, "context") == []


def test_asked_by_names_the_asker_and_the_question_first():
    blocks = kit.answer_blocks(answer(), 5, asked_by="U123")
    first = blocks[0]
    assert first["type"] == "context"
    assert first["elements"][0]["text"] == "<@U123> asked: When does phase 1 run?"


def test_fallback_text_is_short_plain_text():
    assert kit.answer_fallback_text(answer("word " * 1000)).endswith("…")
    assert len(kit.answer_fallback_text(answer("word " * 1000))) <= 300
    assert kit.answer_fallback_text(answer("Yes. [1]")) == "Yes. [1]"


# -- escalation -----------------------------------------------------------------------------
def escalation(confident=True, **values):
    fields = {
        "escalation_id": 77,
        "asker": "U1",
        "question": "When does phase 1 run?",
        "answer_text": "**Phase 1** runs from 3 March. [1]",
        "confident": confident,
    }
    return kit.escalation_blocks(**(fields | values))


@pytest.mark.parametrize("confident", [True, False])
def test_escalation_has_a_mark_answered_button_with_the_escalation_id(confident):
    blocks = escalation(confident)
    check_blocks(blocks)
    block = actions(blocks)
    assert [e["action_id"] for e in block["elements"]] == [kit.MARK_ANSWERED]
    assert block["elements"][0]["value"] == "77"
    shown = "\n".join(texts(blocks))
    assert "<@U1>" in shown
    assert "When does phase 1 run?" in shown


def test_escalation_shows_the_bots_answer_when_it_was_confident():
    shown = "\n".join(texts(escalation(confident=True)))
    assert "The bot answered:" in shown
    assert "*Phase 1* runs from 3 March. [1]" in shown  # converted to mrkdwn


def test_escalation_hides_the_bots_non_answer_when_it_was_not_confident():
    blocks = escalation(confident=False, answer_text="I couldn't find this in the playbook.")
    shown = "\n".join(texts(blocks))
    assert "I couldn't find this" not in shown
    assert "no answer" in shown


def test_escalation_of_a_huge_question_stays_within_slack_limits():
    check_blocks(escalation(question="why " * 2000, answer_text="because " * 2000))


def test_closed_escalation_drops_the_button_and_names_who_closed_it():
    original = escalation()
    closed = kit.escalation_closed_blocks(original, "U9")
    check_blocks(closed)
    assert of_type(closed, "actions") == []
    assert closed[-1]["type"] == "context"
    assert "<@U9>" in closed[-1]["elements"][0]["text"]
    assert "answered" in closed[-1]["elements"][0]["text"].lower()
    # everything else the team saw is still there
    assert closed[:-1] == [b for b in original if b["type"] != "actions"]
    assert len(of_type(original, "actions")) == 1  # the input is not modified


# -- home -----------------------------------------------------------------------------------
def test_home_view_with_examples_and_announcements():
    view = kit.home_view(
        examples=["When does phase 1 run?", "How do I request a training voucher?"],
        announcements=[
            {"title": "Pilot launch update", "url": "https://x.example/p", "updated": "2026-01-15"},
            {"title": "Wave 2 schedule", "updated": ""},
        ],
        help_channel="#orion-help",
    )
    assert view["type"] == "home"
    check_blocks(view["blocks"])
    shown = "\n".join(texts(view["blocks"]))
    assert "#orion-help" in shown
    assert "*Try asking*\n• When does phase 1 run?\n• How do I request a training voucher?" in (
        shown
    )
    assert "• <https://x.example/p|Pilot launch update> — 2026-01-15" in shown
    assert "• *Wave 2 schedule*\n" in shown + "\n"
    assert "None in the playbook yet" not in shown


def test_home_view_without_examples_or_announcements():
    view = kit.home_view(examples=[], announcements=[], help_channel="#change-team")
    assert view["type"] == "home"
    check_blocks(view["blocks"])
    shown = "\n".join(texts(view["blocks"]))
    assert "Try asking" not in shown
    assert "*Latest announcements*\nNone in the playbook yet." in shown
    assert "#change-team" in shown
    assert "/ask" in shown


def test_home_view_with_many_announcements_stays_within_slack_limits():
    announcements = [
        {"title": f"Announcement {n} " + "x" * 200, "url": f"https://x.example/{n}"}
        for n in range(40)
    ]
    view = kit.home_view(examples=[], announcements=announcements, help_channel="#c")
    check_blocks(view["blocks"])


def test_announcement_titles_cannot_break_their_link():
    view = kit.home_view(
        examples=[],
        announcements=[{"title": "Phase 1 -> Phase 2 | handover", "url": "https://x.example/h"}],
        help_channel="#c",
    )
    shown = "\n".join(texts(view["blocks"]))
    assert re.search(r"<https://x\.example/h\|[^<>|]*Phase 2[^<>|]*>", shown), shown


# -- every builder ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "built",
    [
        pytest.param(lambda: kit.answer_blocks(answer(), 1), id="answer"),
        pytest.param(
            lambda: kit.answer_blocks(
                answer(confident=False, kind="abstain"), 2, shareable=True, asked_by="U1"
            ),
            id="answer-unconfident-shareable",
        ),
        pytest.param(lambda: kit.answer_blocks(answer(kind="empty"), 3), id="answer-empty"),
        pytest.param(lambda: escalation(True), id="escalation"),
        pytest.param(lambda: escalation(False), id="escalation-unconfident"),
        pytest.param(lambda: kit.escalation_closed_blocks(escalation(), "U2"), id="closed"),
        pytest.param(
            lambda: kit.shared_answer_blocks(
                "**Yes** [1]", [{"title": "Orion FAQ", "section": "Vouchers"}], "U1", "Q?"
            ),
            id="shared",
        ),
        pytest.param(lambda: kit.relay_blocks("On 3 March.", "U2", "When?"), id="relay"),
        pytest.param(lambda: kit.notice_blocks("Something went wrong."), id="notice"),
        pytest.param(
            lambda: kit.home_view(examples=["Q?"], announcements=[], help_channel="#c")["blocks"],
            id="home",
        ),
    ],
)
def test_every_block_list_is_valid_block_kit_json(built):
    check_blocks(built())


@pytest.mark.parametrize("value", ["", "7", "7:maybe", "x:helpful", "7:helpful:extra", ":helpful"])
def test_a_feedback_value_that_is_not_ours_is_refused(value):
    assert kit.feedback_value(value) is None

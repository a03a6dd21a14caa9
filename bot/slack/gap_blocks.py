"""Pure builders for the knowledge-gap loop: the weekly digest, the "Write the answer" modal,
a captured answer as the change team sees it (with Edit / Retire). No Slack calls."""

from __future__ import annotations

import json

from bot.broadcasts.service import plain_markdown
from bot.questions.captured import MAX_ANSWER, MAX_QUESTION, Entry
from bot.questions.gaps import KIND_LABELS, GapGroup
from bot.slack.blocks import _button, _clip, _context, slack_mrkdwn
from bot.slack.escaping import escape, link

WRITE_ANSWER = "gap_write_answer"
SAVE_REPLY = "save_team_reply"
EDIT_CAPTURED = "captured_edit"
RETIRE_CAPTURED = "captured_retire"
ANSWER_MODAL = "captured_answer_submit"
VALUE = "value"  # the action_id of every input in the modal
BUTTON_VALUE_LIMIT = 1900  # Slack allows 2000 characters in a button's value


def digest_blocks(groups: list[GapGroup], *, days: int) -> list[dict]:
    """The weekly digest: one section per group, largest first, each with its button."""
    blocks: list[dict] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": "Questions the playbook could not answer"},
        },
        _context(
            f"The last {days} days: questions I had no answer for, answers marked 👎 and "
            "questions escalated to you, grouped by meaning. *Write the answer* once and "
            "I give it to everyone who asks this again."
        ),
    ]
    for number, group in enumerate(groups, start=1):
        blocks.append(
            {
                "type": "section",
                "block_id": f"gap:{number}",
                "text": {"type": "mrkdwn", "text": group_text(group)},
                "accessory": _button(
                    "Write the answer", WRITE_ANSWER, group.question[:BUTTON_VALUE_LIMIT]
                ),
            }
        )
    blocks.append(_context("Reply in this thread to discuss; saved answers show up here."))
    return blocks


def group_text(group: GapGroup) -> str:
    asked = "once" if group.count == 1 else f"{group.count} times"
    why = ", ".join(
        f"{KIND_LABELS[kind]} ×{group.kinds[kind]}" for kind in KIND_LABELS if group.kinds[kind]
    )
    lines = [f"*{escape(_clip(group.question, 300))}* — asked {asked} ({why})"]
    others = [p for p in group.phrasings if p != group.question][:2]
    if others:
        lines.append("Also asked: " + " · ".join(f"“{escape(_clip(p, 200))}”" for p in others))
    return _clip("\n".join(lines))


def digest_fallback_text(groups: list[GapGroup]) -> str:
    return f"{len(groups)} questions the playbook could not answer this week"


def answer_modal(
    *,
    question: str,
    answer: str = "",
    source_url: str = "",
    entry_id: int = 0,
    channel: str = "",
    thread_ts: str = "",
) -> dict:
    """Write (or edit) the playbook's answer to a question; plain-text inputs, so nothing the
    prefill holds is rendered as markup here."""
    return {
        "type": "modal",
        "callback_id": ANSWER_MODAL,
        "private_metadata": json.dumps({"id": entry_id, "channel": channel, "ts": thread_ts}),
        "title": {
            "type": "plain_text",
            "text": "Edit the answer" if entry_id else "Write the answer",
        },
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _input(
                "question",
                "Question",
                {"max_length": MAX_QUESTION},
                initial=question[:MAX_QUESTION],
                hint="As people ask it. Questions worded differently but meaning the same get "
                "this answer too.",
            ),
            _input(
                "answer",
                "Answer",
                {"multiline": True, "max_length": MAX_ANSWER},
                initial=answer[:MAX_ANSWER],
                hint="Slack formatting works: *bold*, _italic_, <https://example.com|links>.",
            ),
            _input(
                "source",
                "Source link (optional)",
                {"max_length": 2000},
                initial=source_url,
                optional=True,
                hint="A page that says more, shown under the answer.",
            ),
        ],
    }


def modal_values(view: dict) -> dict[str, str]:
    """{question, answer, source} typed in the modal ('' for an empty input)."""
    values = (view.get("state") or {}).get("values") or {}
    return {
        name: ((values.get(name) or {}).get(VALUE) or {}).get("value") or ""
        for name in ("question", "answer", "source")
    }


def captured_blocks(entry: Entry) -> list[dict]:
    """A saved answer as the change team sees it in the thread, with Edit and Retire."""
    source = f"\nSource: {link(entry.source_url, entry.source_url)}" if entry.source_url else ""
    text = (
        f"*Saved to the playbook:* {escape(_clip(entry.question, 300))}\n"
        f"{slack_mrkdwn(plain_markdown(entry.answer))}{source}"
    )
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}},
        _context(f"{escape(entry.byline)} · by <@{entry.author}>"),
    ]
    if entry.status == "approved":
        blocks.append(
            {
                "type": "actions",
                "block_id": f"captured:{entry.id}",
                "elements": [
                    _button("Edit", EDIT_CAPTURED, str(entry.id)),
                    _button("Retire", RETIRE_CAPTURED, str(entry.id), style="danger"),
                ],
            }
        )
    else:
        blocks.append(_context("Retired: no longer given as an answer."))
    return blocks


def reply_saved_note(thread_ts: str, reply_ts: str, asker: str) -> list[dict]:
    """For the replier, in the change-team thread, after their reply was passed on: offer
    to keep it as the playbook's answer."""
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"Passed on to <@{asker}>. Worth keeping for everyone who asks this?",
            },
            "accessory": _button("Save as playbook answer", SAVE_REPLY, f"{thread_ts}:{reply_ts}"),
        }
    ]


def _input(
    block_id: str,
    label_text: str,
    extra: dict,
    *,
    initial: str = "",
    optional: bool = False,
    hint: str = "",
) -> dict:
    element = {"type": "plain_text_input", "action_id": VALUE, **extra}
    if initial:
        element["initial_value"] = initial
    block = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label_text},
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block

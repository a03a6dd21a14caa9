"""Block Kit for pulse surveys: the invitation DM, the modal, the thank-you. Pure functions."""

from __future__ import annotations

import json

from bot.slack.escaping import code, code_block, escape, label, link
from bot.surveys.definitions import Question, Survey

OPEN = "pulse_open"
SUBMIT = "pulse_submit"
LIKERT_LABELS = ("Strongly disagree", "Disagree", "Neither", "Agree", "Strongly agree")
ENPS_HINT = "0 = not at all likely, 10 = extremely likely"


def invitation(survey: Survey, run, *, reminder: bool = False) -> dict:
    """Outbox payload of the DM that invites someone to a run."""
    lead = "Reminder: " if reminder else ""
    closes = run.closes_at.strftime("%A %d %B")
    return {
        "text": f"{lead}{escape(survey.title)} — take the 1-minute pulse",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": survey.title[:150]}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": (
                        f"{lead}{escape(survey.intro)}\n\n"
                        f"_Anonymous: results are only shown for groups of "
                        f"{survey.anonymity.scores} or more. Open until {closes}._"
                    ),
                },
            },
            {
                "type": "actions",
                "block_id": f"pulse:{run.id}",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Take the 1-minute pulse"},
                        "style": "primary",
                        "action_id": OPEN,
                        "value": str(run.id),
                    }
                ],
            },
        ],
    }


def pulse_modal(survey: Survey, run_id: int, *, channel: str, ts: str) -> dict:
    """Every question in one modal; submit once."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": escape(survey.intro)}}]
    for question in survey.questions:
        blocks.append(_question_block(question))
    return {
        "type": "modal",
        "callback_id": SUBMIT,
        "private_metadata": json.dumps({"run": run_id, "channel": channel, "ts": ts}),
        "title": {"type": "plain_text", "text": "Pulse"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _question_block(question: Question) -> dict:
    block_id = f"q:{question.id}"
    label = {"type": "plain_text", "text": question.text[:2000]}
    if question.type == "text":
        element = {
            "type": "plain_text_input",
            "action_id": "answer",
            "multiline": True,
            "max_length": 2000,
        }
    else:
        if question.type == "likert5":
            options = [(str(i + 1), text) for i, text in enumerate(LIKERT_LABELS)]
        elif question.type in ("scale0_10", "enps"):
            options = [(str(i), str(i)) for i in range(11)]
        else:
            options = [(text, text) for text in question.options]
        element = {
            "type": "radio_buttons" if len(options) <= 10 else "static_select",
            "action_id": "answer",
            "options": [
                {"text": {"type": "plain_text", "text": text[:75]}, "value": value[:150]}
                for value, text in options
            ],
        }
        if element["type"] == "static_select":
            hint = ENPS_HINT if question.type == "enps" else "0 = not at all, 10 = fully"
            element["placeholder"] = {"type": "plain_text", "text": hint}
    return {
        "type": "input",
        "block_id": block_id,
        "label": label,
        "element": element,
        "optional": not question.required,
    }


def answers_from_state(survey: Survey, values: dict) -> dict[str, int | str]:
    """The submitted modal's state -> {question id: value}; unanswered optional items left out."""
    answers: dict[str, int | str] = {}
    for question in survey.questions:
        state = (values.get(f"q:{question.id}") or {}).get("answer") or {}
        if question.type == "text":
            text = (state.get("value") or "").strip()
            if text:
                answers[question.id] = text
            continue
        option = state.get("selected_option")
        if not option:
            continue
        value = option.get("value", "")
        answers[question.id] = value if question.type == "choice" else int(value)
    return answers


def thanks(survey: Survey, trainings: list[dict], *, replaced: bool = False) -> dict:
    """The DM after answering: "✓ Thanks — answered", plus training when it may help."""
    text = "✓ Thanks — answered" + (" (your earlier answers were replaced)" if replaced else "")
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(survey.title)}*\n{text}"}}
    ]
    if trainings:
        lines = [
            f"• {link(t['url'], t['title'])}"
            if t.get("url")
            else f"• *{label(t['title'])}* ({code(t['path'])})"
            for t in trainings
        ]
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "You might find these useful from the playbook:\n" + "\n".join(lines),
                },
            }
        )
    return {"text": text, "blocks": blocks}


def closed_notice(closed_on) -> str:
    return f"This pulse survey closed on {closed_on:%A %d %B %Y}, so it no longer takes answers."


def report_message(report_text: str) -> dict:
    """A pulse report for HR as one code block. Comments in it are people's words: they
    are escaped, and a ``` in a comment cannot end the block early."""
    return {"text": code_block(report_text)}


def preview_blocks(survey: Survey) -> list[dict]:
    """HR's preview of a survey: its intro and every question, as written in the file."""
    questions = "\n".join(
        f"{n}. {escape(q.text)} _({q.type})_" for n, q in enumerate(survey.questions, start=1)
    )
    return [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"Preview: {survey.title}"[:150]},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(survey.intro)[:2900]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": questions[:2900]}},
    ]

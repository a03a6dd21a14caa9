"""Pure functions: domain objects -> Block Kit JSON. No Slack calls, no I/O."""

from __future__ import annotations

import re

from bot.broadcasts.service import SOURCE_PREFIX  # a leader's update, indexed from Slack
from bot.knowledge.answer import Answer, Source
from bot.questions.captured import SOURCE_PREFIX as CAPTURED_PREFIX  # the change team's answer
from bot.slack.escaping import code, escape, from_slack, label, link, safe_url

__all__ = ["escape"]  # listeners import the one escaping helper from here too

SECTION_LIMIT = 2900  # Slack's section text limit is 3000 characters

HELPFUL = "feedback_helpful"  # the 👍/👎 buttons of answers posted before feedback_buttons
NOT_HELPFUL = "feedback_not_helpful"
FEEDBACK = "answer_feedback"  # Slack's native feedback_buttons element on every answer
ESCALATE = "escalate"
SHARE = "share_to_channel"
MARK_ANSWERED = "mark_answered"
CONSOLE_LINK = "console_link"


def slack_mrkdwn(text: str) -> str:
    """Markdown from the playbook (or an LLM) -> Slack mrkdwn: bold, links, headings.

    The text is escaped first, so Slack markup in it (`<!channel>`, `<https://…|…>`) is
    shown, never live; only Markdown links `[label](https://…)` become links, built by us,
    and a `>` that starts a line stays a quote (formatting, not a control sequence).
    """
    text = escape(text)
    text = re.sub(r"^&gt;", ">", text, flags=re.M)  # a quote line stays a quote (no link)
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    text = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", _markdown_link, text)
    text = re.sub(r"^#{1,6}\s+(.+)$", r"*\1*", text, flags=re.M)
    return text


def _markdown_link(match: re.Match) -> str:
    """An escaped Markdown link as a Slack link (both parts are escaped already)."""
    url = match.group(2).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    safe = safe_url(url)
    shown = match.group(1).replace("|", "¦")
    return f"<{safe}|{shown}>" if safe else shown


def _clip(text: str, limit: int = SECTION_LIMIT) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]  # never leave half a link
    return cut.rstrip() + "…"


def source_line(source: Source) -> str:
    if source.path.startswith(CAPTURED_PREFIX):
        # Its title says who answered and when: "Answered by the change team, <date> (<name>)"
        shown = link(source.url, source.title) if source.url else label(source.title)
        return f"[{source.number}] {shown}"
    title = source.title + (f" — {source.section}" if source.section else "")
    if source.url:
        return f"[{source.number}] {link(source.url, title)}"
    if source.path.startswith(SOURCE_PREFIX):
        when = escape(source.updated or "undated")
        return f"[{source.number}] {label(title)} (update in Slack, {when})"
    return f"[{source.number}] {label(title)} ({code(source.path)})"


def answer_fallback_text(answer: Answer) -> str:
    """Plain text for notifications and clients that cannot show blocks."""
    return _clip(escape(answer.text), 300)


def answer_blocks(
    answer: Answer, interaction_id: int, *, shareable: bool = False, asked_by: str | None = None
) -> list[dict]:
    """The answer, its numbered sources and the feedback / escalation buttons."""
    blocks: list[dict] = []
    if asked_by:
        blocks.append(_context(f"<@{asked_by}> asked: {_clip(escape(answer.question), 500)}"))
    blocks.append(
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(slack_mrkdwn(answer.text))}}
    )
    return blocks + answer_tail_blocks(answer, interaction_id, shareable=shareable)


def answer_tail_blocks(answer: Answer, interaction_id: int, *, shareable: bool = False) -> list:
    """What goes under an answer's text: its sources, the buttons and the 👍/👎 (also under
    an answer whose text was streamed)."""
    blocks: list[dict] = []
    if answer.sources and answer.kind != "empty":
        label = "Sources" if answer.confident else "Closest passages I found"
        lines = "\n".join(source_line(s) for s in answer.sources)
        blocks.append(_context(_clip(f"*{label}*\n{lines}", 2900)))
    value = str(interaction_id)
    # When the bot has no answer, asking a person is the first thing offered.
    style = "primary" if not answer.confident else None
    buttons = [_button("Ask the change team", ESCALATE, value, style=style)]
    if shareable:
        buttons.append(_button("Share to channel", SHARE, value))
    blocks.append({"type": "actions", "block_id": f"answer:{interaction_id}", "elements": buttons})
    blocks.append(feedback_block(interaction_id))
    return blocks


def feedback_block(interaction_id: int) -> dict:
    """👍/👎 as Slack's `feedback_buttons` in a `context_actions` block; each value carries
    the answer's id and the verdict (`feedback_value` reads it back)."""
    return {
        "type": "context_actions",
        "block_id": f"feedback:{interaction_id}",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK,
                "positive_button": {
                    "text": {"type": "plain_text", "text": "👍"},
                    "accessibility_label": "This answer helped",
                    "value": f"{interaction_id}:helpful",
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "👎"},
                    "accessibility_label": "This answer did not help",
                    "value": f"{interaction_id}:not_helpful",
                },
            }
        ],
    }


def feedback_value(value: str) -> tuple[int, bool] | None:
    """(answer id, helpful) from a feedback button's value; None for anything else."""
    number, _, verdict = (value or "").partition(":")
    if not number.isdigit() or verdict not in {"helpful", "not_helpful"}:
        return None
    return int(number), verdict == "helpful"


def shared_answer_blocks(answer_text: str, sources: list[dict], asked_by: str, question: str):
    """An answer re-posted publicly from /ask (sources as stored with the interaction)."""
    lines = "\n".join(
        f"[{n}] " + label(s.get("title", "") + (f" — {s['section']}" if s.get("section") else ""))
        for n, s in enumerate(sources, start=1)
    )
    blocks = [
        _context(f"<@{asked_by}> asked: {_clip(escape(question), 500)}"),
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(slack_mrkdwn(answer_text))}},
    ]
    if lines:
        blocks.append(_context(_clip(f"*Sources*\n{lines}")))
    return blocks


def shared_answer_text(asked_by: str, question: str) -> str:
    """The fallback text of an answer shared to a channel."""
    return f"<@{asked_by}> asked: {_clip(escape(question), 500)}"


def escalation_blocks(
    *, escalation_id: int, asker: str, question: str, answer_text: str, confident: bool
) -> list[dict]:
    """What the change team sees in its channel."""
    verdict = "The bot answered:" if confident else "The bot found no answer in the playbook."
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Question for the change team"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _clip(f"*From* <@{asker}>\n>{escape(question)}")},
        },
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _clip(
                    f"*{verdict}*\n{slack_mrkdwn(answer_text)}" if confident else f"*{verdict}*"
                ),
            },
        },
        _context("Reply in this thread and the bot passes your answer on to the asker."),
        {
            "type": "actions",
            "block_id": f"escalation:{escalation_id}",
            "elements": [
                _button("Mark answered", MARK_ANSWERED, str(escalation_id), style="primary")
            ],
        },
    ]


def escalation_closed_blocks(blocks: list[dict], answered_by: str) -> list[dict]:
    """The same message with the button replaced by who closed it."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept, _context(f"✅ Marked answered by <@{answered_by}>")]


def relay_blocks(reply_text: str, responder: str, question: str) -> list[dict]:
    """The change team's reply (Slack message text) passed on to the asker: its mentions
    and links are shown as words, so a reply cannot ping the asker's channel."""
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": _clip(
                    f"<@{responder}> from the change team answered your question "
                    f"“{_clip(escape(question), 200)}”:\n\n{from_slack(reply_text)}"
                ),
            },
        }
    ]


def relay_fallback_text(reply_text: str) -> str:
    return f"The change team answered your question: {_clip(from_slack(reply_text), 200)}"


def home_view(*, examples: list[str], announcements: list[dict], help_channel: str) -> dict:
    """The App Home tab: what the bot does, example questions, latest announcements."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Your change-programme guide"}},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": (
                    "I answer questions from the change playbook — roadmaps, FAQs, training and "
                    "policies — and always show where the answer comes from.\n"
                    "• Send me a direct message\n"
                    "• Mention me in a channel: I answer in the thread and follow it\n"
                    "• Type `/ask your question` anywhere (only you see the answer)\n"
                    f"• No answer? Press *Ask the change team*, or ask in {help_channel}"
                ),
            },
        },
    ]
    if examples:
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": _clip("*Try asking*\n" + "\n".join(f"• {escape(q)}" for q in examples)),
                },
            }
        )
    blocks.append({"type": "divider"})
    if announcements:
        lines = []
        for doc in announcements:
            title = doc["title"]
            shown = link(doc["url"], title) if doc.get("url") else f"*{label(title)}*"
            date = f" — {escape(doc['updated'])}" if doc.get("updated") else ""
            lines.append(f"• {shown}{date}")
        text = "*Latest announcements*\n" + "\n".join(lines)
    else:
        text = "*Latest announcements*\nNone in the playbook yet."
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}})
    return {"type": "home", "blocks": blocks}


def console_home_blocks() -> list[dict]:
    """App Home, for people with a role (HR, leader, change team): a sign-in link on request."""
    return [
        {"type": "divider"},
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Web console*\nPulse results, your updates and the playbook's questions "
                "in the browser. The button sends you a sign-in link in a DM.",
            },
            "accessory": _button("Open the web console", CONSOLE_LINK, "open"),
        },
    ]


def notice_blocks(text: str) -> list[dict]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": _clip(text)}}]


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button

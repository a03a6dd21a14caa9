"""Content that is not ours, made safe for Slack mrkdwn.

Slack's "Escaping text" rule: `&`, `<` and `>` are the only characters that start control
sequences (`<!channel>`, `<@U123>`, `<https://…|label>`), and they are sent as `&amp;`,
`&lt;` and `&gt;`. Every builder in bot/slack/ runs playbook text, titles, sections,
questions, comments, names, LLM output and relayed replies through `escape` (or one of
the helpers below built on it) before it goes into a mrkdwn text. What we add ourselves
— a `>` that starts a quote line, a link to a source, a mention by user id — is added
after escaping, so it stays live.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

FENCE = "```"
_CONTROL = re.compile(r"<([^<>]*)>")


def escape(text: str) -> str:
    """`&`, `<`, `>` as Slack's entities: no pings, no links, no broken markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def label(text: str) -> str:
    """Text for the label part of a link we build (`<url|label>`): escaped, and `|` made
    harmless so it cannot end the label early."""
    return escape(text).replace("|", "¦")


def safe_url(url: str) -> str | None:
    """An http(s) URL we can put inside `<…|…>`, or None. Characters that would end or
    split the link are percent-encoded; `&` is sent as `&amp;` as Slack asks."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    cleaned = quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")  # <, >, |, spaces … encoded
    return cleaned.replace("&", "&amp;")


def link(url: str, text: str) -> str:
    """A link we build to content's URL: `<url|label>`, or just the label when the URL
    is not a plain http(s) address."""
    safe = safe_url(url)
    return f"<{safe}|{label(text)}>" if safe else label(text)


def code(text: str) -> str:
    """Inline code (`…`) from content: escaped, and backticks cannot close it early."""
    return "`" + escape(text).replace("`", "'") + "`"


def code_block(text: str) -> str:
    """A ``` block from content: escaped, and a ``` inside cannot close the block early."""
    return FENCE + escape(text).replace(FENCE, "`\u200b`\u200b`") + FENCE


def from_slack(text: str) -> str:
    """Text as Slack sent it to us (already escaped, with live control sequences), to be
    posted again elsewhere: mentions and links become plain words, nothing stays live.

    `<@U1|ana>` -> `@ana`, `<!here>` -> `@here`, `<#C1|general>` -> `#general`,
    `<https://x|label>` -> `label (https://x)`.
    """

    def readable(match: re.Match) -> str:
        target, _, shown = match.group(1).partition("|")
        if target[:1] in {"@", "#"}:
            return target[0] + (shown or target[1:])
        if target.startswith("!"):
            return "@" + (shown or target[1:].split("^")[0])
        return f"{shown} ({target})" if shown and shown != target else target

    plain = _CONTROL.sub(readable, text)
    return escape(plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))

"""Units smaller than a section that retrieval and answers can use on their own.

- Question-then-answer, in any of the shapes playbooks use: a numbered `1. Question?`
  line with the answer below it, `Q:` / `A:` lines, a line that is only a question,
  and transcript turns (`Q (chat, Coastal): …`, `DANA (COO): …?`) followed by the
  replies. The question is kept for matching; the answer is what gets quoted.
- Table rows, each with its column headers: "Severity 2 — response time: within 1 hour".
- List items, each on its own (the section trail comes with the chunk).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBERED_Q = re.compile(
    r"^\s*(?:\d{1,3}[.)]|Q\d{0,3}[:.)]|Question\s*\d{0,3}[:.)])\s*(\S.*\?)\s*$", re.I
)
_BARE_Q = re.compile(r"^\s*([A-Z0-9\"'(][^\n]{8,200}\?)\s*$")
_TURN = re.compile(r"^\s*([A-Z][\w .'&-]{0,40}?)\s*\(([^()\n]{1,80})\)\s*:\s*(\S.*)$")
_CAPS_TURN = re.compile(r"^\s*([A-Z][A-Z .'-]{1,30}):\s+(\S.*)$")
_Q_LABEL = re.compile(r"^\s*(?:Q|Question)\s*(?:\([^()\n]*\))?\s*[:.]\s*(\S.*)$", re.I)
_A_LABEL = re.compile(r"^\s*(?:A|Answer)\s*(?:\([^()\n]*\))?\s*[:.]\s*", re.I)
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
MIN_ITEM_CHARS = 20


@dataclass
class QA:
    question: str  # without numbering, Q: label or speaker
    question_line: str  # as written (kept in the chunk, never quoted)
    answer: str


def question_of(line: str) -> str | None:
    """The question a line asks, when the line is only a question; else None."""
    line = line.strip()
    if not line or len(line) > 300:
        return None
    label = _Q_LABEL.match(line)
    if label:
        return label.group(1).strip()
    turn = _TURN.match(line)
    if turn:
        text = turn.group(3).strip()
        return text if text.endswith("?") else None
    caps = _CAPS_TURN.match(line)
    if caps and caps.group(2).rstrip().endswith("?"):
        return caps.group(2).strip()
    numbered = _NUMBERED_Q.match(line)
    if numbered:
        return numbered.group(1).strip()
    bare = _BARE_Q.match(line)
    if bare and not line.startswith(("|", "-", "*", "#", ">")):
        return bare.group(1).strip()
    return None


def qa_segments(body: str) -> tuple[str, list[QA]]:
    """(text before the first question, the question-answer units) of a section body.

    Returns ("", []) — meaning "no units here" — unless at least one question line is
    followed by an answer. An answer runs until the next question line.
    """
    lines = body.split("\n")
    preamble: list[str] = []
    units: list[QA] = []
    current: tuple[str, str] | None = None
    answer: list[str] = []
    in_fence = False

    def close() -> None:
        if current is not None:
            text = "\n".join(answer).strip()
            if text:
                units.append(QA(current[0], current[1], text))

    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        question = None if in_fence else question_of(line)
        if question is not None and current is not None and not "".join(answer).strip():
            # Two question lines in a row ask one question.
            current = (f"{current[0]} {question}", f"{current[1]} {_shown(line, question)}")
        elif question is not None:
            close()
            current, answer = (question, _shown(line, question)), []
        elif current is None:
            preamble.append(line)
        else:
            answer.append(_A_LABEL.sub("", line, count=1) if not "".join(answer).strip() else line)
    close()
    if not units:
        return "", []
    return "\n".join(preamble).strip(), units


def _shown(line: str, question: str) -> str:
    """How the question line stays in the chunk: a speaker's turn as written (who asked
    is context), a numbered or `Q:` line as the bare question."""
    spoken = _TURN.match(line) or _CAPS_TURN.match(line) or re.match(r"^\s*Q\w*\s*\(", line)
    return line.strip() if spoken else question


def table_rows(block: str) -> list[str]:
    """One sentence per data row of a Markdown table, with its column headers."""
    lines = [line for line in block.split("\n") if line.strip().startswith("|")]
    rows = [_cells(line) for line in lines if not _SEPARATOR.match(line) and line.strip() != "|"]
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return []
    headers, data = rows[0], rows[1:]
    out = []
    for row in data:
        if not any(row):
            continue
        first = row[0]
        head = headers[0] if headers else ""
        lead = first if re.search(r"[A-Za-z]", first) or not head else f"{head} {first}"
        parts = [
            f"{header[:1].lower() + header[1:] if header else 'column ' + str(i + 2)}: {cell}"
            for i, (header, cell) in enumerate(zip(headers[1:], row[1:], strict=False))
            if cell and cell != header
        ]
        text = f"{lead} — {'; '.join(parts)}" if parts and lead else lead or "; ".join(parts)
        if re.search(r"[A-Za-z0-9]", text):
            out.append(text.rstrip(".") + ".")
    return out


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", inner)]


def list_items(block: str) -> list[str]:
    """The top-level items of a list block (with their continuation lines), when the
    list has two or more and the item says something on its own."""
    items: list[list[str]] = []
    indent = None
    for line in block.split("\n"):
        match = _LIST_ITEM.match(line)
        if match and (indent is None or len(match.group(1)) <= indent):
            indent = len(match.group(1)) if indent is None else indent
            items.append([match.group(3).strip()])
        elif items and line.strip():
            items[-1].append(line.strip().lstrip("-*+ ").strip())
    if len(items) < 2:
        return []
    texts = [" ".join(part for part in item if part) for item in items]
    return [text for text in texts if len(text) >= MIN_ITEM_CHARS]

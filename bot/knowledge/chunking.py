"""Structure-aware splitting: headings first, one chunk per FAQ entry, then by size.

Blocks (paragraphs, whole lists, tables, code fences) are packed into chunks up to
the size limit; only a block that is larger than the limit on its own is cut by
LangChain's recursive splitter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from bot.knowledge.loaders import LoadedDocument
from bot.knowledge.units import list_items, qa_segments, question_of, table_rows

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d+[.)])\s+")
_QA_PREFIX = re.compile(r"^\s*(?:Q|Question)\s*[:.]\s*", re.I)
CONTEXT_SEPARATOR = " › "


@dataclass
class Section:
    trail: list[str]
    body: str
    definition: bool = False  # a glossary "Term: definition" entry


def chunk_document(doc: LoadedDocument, *, chunk_size: int, chunk_overlap: int) -> list[Document]:
    """Split one loaded document into LangChain Documents with full metadata."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(chunk_overlap, chunk_size // 4),
        separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
    )
    sections = _sections(doc) if doc.markup else _plain_sections(doc.text, chunk_size)
    pieces: list[tuple[list[str], str, str | None, str]] = []  # trail, body, faq question, unit
    for section in sections:
        body = section.body.strip()
        question = _faq_question(section) if body else None
        if question is not None:
            _add_qa(pieces, section.trail, question, question, body, chunk_size, splitter)
            continue
        # Question-then-answer units inside the text (numbered FAQ lines, Q:/A:, transcripts).
        preamble, units = qa_segments(body)
        if units:
            for unit in units:
                trail = [*section.trail, unit.question]
                _add_qa(
                    pieces,
                    trail,
                    unit.question,
                    unit.question_line,
                    unit.answer,
                    chunk_size,
                    splitter,
                )
            body = preamble
        if not body:
            continue
        blocks = _blocks(body)
        for part in _pack_blocks(blocks, chunk_size, splitter):
            pieces.append((section.trail, part, "" if section.definition else None, ""))
        # Table rows and list items are also addressable on their own (the whole block
        # stays in the chunk above).
        for block in blocks:
            if block.lstrip().startswith("|"):
                pieces.extend((section.trail, row, None, "row") for row in table_rows(block))
            elif _LIST_ITEM.match(block):
                pieces.extend((section.trail, item, None, "item") for item in list_items(block))
    return [
        _to_document(doc, trail, body, question, i, unit)
        for i, (trail, body, question, unit) in enumerate(pieces)
    ]


def _add_qa(pieces, trail, question, question_line, answer, chunk_size, splitter) -> None:
    """One chunk per question and answer; a very long answer is cut, each part keeping
    the question line (the chunk's first line, never quoted)."""
    if len(answer) <= chunk_size * 2:
        pieces.append((trail, f"{question_line}\n{answer}", question, "qa"))
        return
    for part in splitter.split_text(answer):
        pieces.append((trail, f"{question_line}\n{part}", question, "qa"))


def passage_text(content: str) -> str:
    """The passage without the context line that is only there to help retrieval."""
    return content.split("\n", 1)[1] if "\n" in content else content


def _to_document(
    doc: LoadedDocument, trail: list[str], body: str, question: str | None, index: int, unit: str
) -> Document:
    section = " > ".join(trail)
    context = CONTEXT_SEPARATOR.join([doc.title, *[t for t in trail if t != doc.title]])
    metadata: dict[str, str | int | bool] = {
        "source": doc.path,
        "title": doc.title,
        "type": doc.doc_type,
        "section": section,
        "audience": ", ".join(doc.audience) or "everyone",
        "owner": doc.owner,
        "updated": doc.updated,
        "url": doc.url,
        "chunk": index,
    }
    if unit:
        metadata["unit"] = unit
    for name in doc.audience or ["everyone"]:
        metadata[f"aud_{re.sub(r'[^a-z0-9]+', '_', name)}"] = True
    if question:
        metadata["faq_question"] = question
    elif question == "":
        metadata["definition"] = True
    return Document(page_content=f"{context}\n{body.strip()}", metadata=metadata)


def _sections(doc: LoadedDocument) -> list[Section]:
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        sections.append(Section([text for _, text in stack], "\n".join(body)))
        body.clear()

    for line in doc.text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, match.group(2).strip()))
        else:
            body.append(line)
    flush()
    # A lone top-level heading that repeats the title adds nothing to the trail.
    for section in sections:
        if section.trail and section.trail[0] == doc.title:
            section.trail = section.trail[1:]
    return sections


def _plain_sections(text: str, chunk_size: int) -> list[Section]:
    """Plain text: one section per paragraph; a short title-like line heads what follows.

    A "Term: definition" paragraph (a glossary) gets the term as its section.
    """
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if paragraphs and _looks_like_heading(paragraphs[0]):
        paragraphs = paragraphs[1:]  # the document's own title line
    sections: list[Section] = []
    heading: list[str] = []
    pending = ""
    in_qa = False  # a question line opened a unit: its answer runs to the next question
    for paragraph in paragraphs:
        if _looks_like_heading(paragraph):
            if pending:
                sections.append(Section(list(heading), pending))
                pending, in_qa = "", False
            heading = [_heading_text(paragraph)]
            continue
        if question_of(paragraph.split("\n", 1)[0]) is not None:
            if pending and not (in_qa and question_of(pending.split("\n")[-1])):
                sections.append(Section(list(heading), pending))
                pending = ""
            pending = f"{pending}\n{paragraph}" if pending else paragraph
            in_qa = True
            continue
        term = _TERM.match(paragraph)
        if term and not pending:
            sections.append(Section([*heading, term.group(1).strip()], paragraph, True))
            continue
        pending = f"{pending}\n\n{paragraph}" if pending else paragraph
        if len(pending) >= (chunk_size if in_qa else 80):
            sections.append(Section(list(heading), pending))
            pending, in_qa = "", False
    if pending:
        sections.append(Section(list(heading), pending))
    return sections


def _looks_like_heading(paragraph: str) -> bool:
    if "\n" in paragraph or len(paragraph) > 60:
        return False
    if paragraph.endswith((".", "?", "!", ",", ";")):
        return False
    if _QA_PREFIX.match(paragraph):
        return False
    bare = re.sub(r"^\s*(\d+[.)]|[-*+])\s+", "", paragraph)
    if bare != paragraph:
        return bare.isupper()  # "1. ASK IN SLACK FIRST" is a heading, "- item" is not
    if ":" in paragraph.rstrip(":"):
        return False  # "Term: definition" lines are content
    return paragraph.isupper() or paragraph.endswith(":") or paragraph.istitle()


def _heading_text(paragraph: str) -> str:
    text = re.sub(r"^\s*\d+[.)]\s+", "", paragraph).rstrip(":").strip()
    return text.capitalize() if text.isupper() else text


_TERM = re.compile(r"^([A-Z][\w /&()'.-]{1,50}):\s+\S")


def _faq_question(section: Section) -> str | None:
    if not section.trail:
        return None
    last = section.trail[-1]
    if last.endswith("?") or _QA_PREFIX.match(last):
        return _QA_PREFIX.sub("", last).strip()
    return None


def _blocks(body: str) -> list[str]:
    """Paragraphs, whole lists, whole tables and whole code fences, in order."""
    blocks: list[str] = []
    current: list[str] = []
    kind = None
    in_fence = False

    def close() -> None:
        nonlocal kind
        if current and "".join(current).strip():
            blocks.append("\n".join(current).strip("\n"))
        current.clear()
        kind = None

    for line in body.split("\n"):
        if in_fence:
            current.append(line)
            if _FENCE.match(line):
                in_fence = False
                close()
            continue
        if _FENCE.match(line):
            close()
            current.append(line)
            in_fence = True
            kind = "code"
            continue
        if not line.strip():
            if kind in ("list", "table"):
                current.append(line)  # a blank line inside a list keeps it together
                continue
            close()
            continue
        line_kind = (
            "table"
            if line.lstrip().startswith("|")
            else "list"
            if _LIST_ITEM.match(line) or (kind == "list" and line.startswith((" ", "\t")))
            else "text"
        )
        if kind is not None and line_kind != kind:
            close()
        kind = line_kind
        current.append(line)
    close()
    return blocks


def _pack_blocks(
    blocks: list[str], chunk_size: int, splitter: RecursiveCharacterTextSplitter
) -> list[str]:
    parts: list[str] = []
    current = ""
    for block in blocks:
        if len(block) > chunk_size:
            if current:
                parts.append(current)
                current = ""
            parts.extend(_split_oversized(block, chunk_size, splitter))
            continue
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= chunk_size:
            current = candidate
        else:
            parts.append(current)
            current = block
    if current:
        parts.append(current)
    return parts


def _split_oversized(
    block: str, chunk_size: int, splitter: RecursiveCharacterTextSplitter
) -> list[str]:
    lines = block.split("\n")
    if lines[0].lstrip().startswith("|") and len(lines) > 2:
        # A long table: keep the header row with every part.
        header, rows = lines[:2], lines[2:]
        parts, current = [], list(header)
        for row in rows:
            if len("\n".join([*current, row])) > chunk_size and len(current) > 2:
                parts.append("\n".join(current))
                current = list(header)
            current.append(row)
        parts.append("\n".join(current))
        return parts
    return splitter.split_text(block)

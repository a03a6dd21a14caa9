"""Answers the change team wrote for the questions the playbook did not answer.

Each one is an approved FAQ entry stored in the database (the playbook folder is a
repository the bot does not write to). It is indexed as a document of type `faq` whose
one section is the question, so the extractive answerer gives it whole, like any FAQ
entry, to that question and its paraphrases. Every ingest puts the entries back (they
are "extra documents" of the indexer, as leaders' updates are), so a rebuild keeps them.
`export_markdown` writes them as an FAQ file the playbook repository can take over.

Never talks to Slack; `index` / `unindex` are handed in by the container.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.broadcasts.service import plain_markdown
from bot.knowledge.loaders import LoadedDocument
from bot.store.models import CapturedAnswer
from bot.timeutil import as_utc, utcnow

SOURCE_PREFIX = "captured-answer:"  # index source ids of captured answers; never a file path
APPROVED, RETIRED = "approved", "retired"
EXPORT_NAME = "change-team-answers.md"
MAX_QUESTION = 300  # characters; a question longer than this is not one question
MAX_ANSWER = 3000  # Slack's section limit, so the entry shows whole in one answer
TITLE = "Answered by the change team"


class NotFound(LookupError):
    """No captured answer with that id."""


class Invalid(ValueError):
    """What the writer must fix; `field` is the modal input it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Entry:
    id: int
    question: str
    answer: str
    source_url: str
    author: str
    author_name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    status: str

    @property
    def source(self) -> str:
        return f"{SOURCE_PREFIX}{self.id}"

    @property
    def byline(self) -> str:
        """ "Answered by the change team, 2026-12-01 (Ana Lopez)"."""
        who = self.author_name or self.author
        return f"{TITLE}, {self.updated_at.date().isoformat()}" + (f" ({who})" if who else "")


def check(question: str, answer: str, source_url: str) -> tuple[str, str, str]:
    """The fields tidied, or Invalid naming the field to fix."""
    question = " ".join((question or "").split())
    answer = (answer or "").strip()
    source_url = (source_url or "").strip()
    if not question:
        raise Invalid("question", "Write the question as people ask it.")
    if len(question) > MAX_QUESTION:
        raise Invalid("question", f"Keep the question under {MAX_QUESTION} characters.")
    if not answer:
        raise Invalid("answer", "Write the answer.")
    if len(answer) > MAX_ANSWER:
        raise Invalid("answer", f"Keep the answer under {MAX_ANSWER} characters.")
    if source_url and not source_url.lower().startswith(("https://", "http://")):
        raise Invalid("source", "A source link starts with https:// (or leave it empty).")
    if len(source_url) > 2000:
        raise Invalid("source", "That link is too long.")
    return question, answer, source_url


def faq_heading(question: str) -> str:
    """The question as an FAQ heading the chunker recognises (ends with ? or starts Q:)."""
    question = " ".join(question.split()).lstrip("#").strip()
    return question if question.endswith("?") else f"Q: {question}"


class CapturedAnswers:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Callable[[], dt.datetime] = utcnow,
        name_of: Callable[[str], str] = lambda user_id: user_id,
        index: Callable[[Entry], None] = lambda entry: None,
        unindex: Callable[[Entry], None] = lambda entry: None,
    ) -> None:
        self.sessions = session_factory
        self.clock = clock
        self.name_of = name_of
        self.index = index
        self.unindex = unindex

    def capture(
        self, *, question: str, answer: str, source_url: str = "", author: str, key: str
    ) -> tuple[Entry, bool]:
        """Store an approved entry once per `key` (the modal's view id) and index it.

        Returns (entry, created); a repeat of the same key returns the first entry."""
        question, answer, source_url = check(question, answer, source_url)
        now = self.clock()
        try:
            with self.sessions.begin() as session:
                row = CapturedAnswer(
                    question=question,
                    answer=answer,
                    source_url=source_url,
                    author=author,
                    author_name=self.name_of(author),
                    created_at=now,
                    updated_at=now,
                    updated_by=author,
                    status=APPROVED,
                    submission_key=key[:128],
                )
                session.add(row)
                session.flush()
                entry = _entry(row)
        except IntegrityError:
            with self.sessions() as session:
                row = session.scalars(
                    select(CapturedAnswer).where(CapturedAnswer.submission_key == key[:128])
                ).one()
                return _entry(row), False
        self.index(entry)
        return entry, True

    def edit(
        self, entry_id: int, *, question: str, answer: str, source_url: str = "", actor: str
    ) -> Entry:
        question, answer, source_url = check(question, answer, source_url)
        with self.sessions.begin() as session:
            row = session.get(CapturedAnswer, entry_id)
            if row is None or row.status != APPROVED:
                raise NotFound(f"captured answer {entry_id} not found")
            row.question, row.answer, row.source_url = question, answer, source_url
            row.updated_at, row.updated_by = self.clock(), actor
            entry = _entry(row)
        self.index(entry)
        return entry

    def retire(self, entry_id: int, actor: str) -> tuple[Entry, bool]:
        """Take an entry out of the playbook; (entry, changed) so a double click is harmless."""
        with self.sessions.begin() as session:
            changed = (
                session.execute(
                    update(CapturedAnswer)
                    .where(CapturedAnswer.id == entry_id, CapturedAnswer.status == APPROVED)
                    .values(status=RETIRED, updated_at=self.clock(), updated_by=actor)
                ).rowcount
                == 1
            )
        entry = self.get(entry_id)
        if changed:
            self.unindex(entry)
        return entry, changed

    def get(self, entry_id: int) -> Entry:
        with self.sessions() as session:
            row = session.get(CapturedAnswer, entry_id)
            if row is None:
                raise NotFound(f"captured answer {entry_id} not found")
            return _entry(row)

    def approved(self) -> list[Entry]:
        with self.sessions() as session:
            rows = session.scalars(
                select(CapturedAnswer)
                .where(CapturedAnswer.status == APPROVED)
                .order_by(CapturedAnswer.id)
            ).all()
            return [_entry(row) for row in rows]

    # -- the playbook ----------------------------------------------------------------------
    def documents(self) -> list[LoadedDocument]:
        """Every approved entry as a playbook document of type `faq`."""
        return [as_document(entry) for entry in self.approved()]

    def export_markdown(self) -> str:
        """The approved entries as one Markdown FAQ file that `changebot ingest` reads."""
        return export_markdown(self.approved(), today=as_utc(self.clock()).date())


def as_document(entry: Entry) -> LoadedDocument:
    """One entry, one FAQ section: the heading is the question, the body the answer."""
    return LoadedDocument(
        path=entry.source,
        text=f"## {faq_heading(entry.question)}\n\n{_body(entry.answer)}\n",
        title=entry.byline,
        doc_type="faq",
        markup=True,
        owner=entry.author_name or entry.author,
        updated=entry.updated_at.date().isoformat(),
        url=entry.source_url,
    )


def export_markdown(entries: list[Entry], *, today: dt.date) -> str:
    lines = [
        "---",
        "title: Answers from the change team",
        "type: faq",
        "owner: Change team",
        f"updated: {today.isoformat()}",
        "---",
        "",
        "# Answers from the change team",
        "",
        "Questions the playbook did not answer, answered by the change team in Slack.",
        "",
    ]
    for entry in entries:
        lines += [f"### {faq_heading(entry.question)}", "", _body(entry.answer)]
        if entry.source_url:
            lines += ["", f"Source: {entry.source_url}"]
        lines += ["", f"_{entry.byline}._", ""]
    return "\n".join(lines)


def _body(answer: str) -> str:
    """The answer as Markdown, its own heading marks dropped: a line starting with '#'
    would end the entry's section and start another."""
    return re.sub(r"^\s*#+\s*", "", plain_markdown(answer).strip(), flags=re.M)


def _entry(row: CapturedAnswer) -> Entry:
    return Entry(
        id=row.id,
        question=row.question,
        answer=row.answer,
        source_url=row.source_url or "",
        author=row.author,
        author_name=row.author_name or "",
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        status=row.status,
    )

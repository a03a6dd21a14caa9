"""The LangChain tutorial RAG pipeline, as the baseline `changebot eval` must beat.

RecursiveCharacterTextSplitter (1000 characters, 200 overlap) over each file's text,
an in-memory Chroma collection, the same embedding model, top-k similarity search.
It never abstains. The files are read by our loaders (so .docx, .pdf and .html give
the same text as for the bot); the splitter sees that text whole, headings and all.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from bot.knowledge.eval_corpora import Corpus
from bot.knowledge.eval_scoring import ALWAYS, Outcome, first_hit_rank, normalise
from bot.knowledge.evaluate import EvalQuestion
from bot.knowledge.loaders import LoadError, is_skipped, load_file

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)


def heading_trails(text: str) -> list[tuple[int, str]]:
    """(offset, "A > B > C") for every Markdown heading, in order."""
    trails: list[tuple[int, str]] = []
    stack: list[tuple[int, str]] = []
    for match in _HEADING.finditer(text):
        level = len(match.group(1))
        stack = [(lvl, title) for lvl, title in stack if lvl < level]
        stack.append((level, match.group(2)))
        trails.append((match.start(), " > ".join(title for _, title in stack)))
    return trails


def trails_of_span(trails: list[tuple[int, str]], start: int, end: int) -> list[str]:
    """The heading trail in force at `start` and every trail that begins before `end`."""
    before = [trail for offset, trail in trails if offset <= start]
    inside = [trail for offset, trail in trails if start < offset < end]
    return before[-1:] + inside


def tutorial_hit(metadata: dict, text: str, question: EvalQuestion) -> bool:
    """Source file must match; a section, when given, must be in a heading trail the
    chunk spans or in the chunk's text (the splitter keeps no heading metadata)."""
    if metadata.get("source") != question.source:
        return False
    if question.section is None:
        return True
    wanted = normalise(question.section)
    return any(wanted in normalise(t) for t in metadata.get("trails", [])) or wanted in normalise(
        text
    )


def load_documents(root: Path) -> list[Document]:
    documents = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if is_skipped(relative):
            continue
        try:
            doc = load_file(path, root)
        except LoadError:
            continue  # the bot skips it too; the ingest report says why
        documents.append(Document(page_content=doc.text, metadata={"source": doc.path}))
    return documents


def tutorial_outcomes(corpus: Corpus, embeddings: Embeddings, *, k: int = 10) -> list[Outcome]:
    documents = load_documents(corpus.knowledge)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
    )
    chunks = splitter.split_documents(documents)
    trails = {d.metadata["source"]: heading_trails(d.page_content) for d in documents}
    for chunk in chunks:
        start = chunk.metadata["start_index"]
        chunk.metadata["trails"] = trails_of_span(
            trails[chunk.metadata["source"]], start, start + len(chunk.page_content)
        )
    store = Chroma(collection_name=f"tutorial-{uuid.uuid4().hex}", embedding_function=embeddings)
    by_id: dict[str, list[str]] = {}
    try:
        if chunks:
            # Chroma metadata holds no lists: keep the trails beside the store instead.
            ids = []
            for chunk in chunks:
                chunk_id = uuid.uuid4().hex
                ids.append(chunk_id)
                by_id[chunk_id] = chunk.metadata.pop("trails")
            store.add_documents(chunks, ids=ids)
        outcomes = []
        for question in corpus.questions:
            if not question.answerable:
                outcomes.append(Outcome(question.question, False, answered_until=ALWAYS))
                continue
            found = store.similarity_search(question.question, k=k) if chunks else []
            flags = [
                tutorial_hit(
                    {**d.metadata, "trails": by_id.get(d.id, [])}, d.page_content, question
                )
                for d in found
            ]
            outcomes.append(
                Outcome(question.question, True, first_hit_rank(flags), answered_until=ALWAYS)
            )
        return outcomes
    finally:
        store.delete_collection()

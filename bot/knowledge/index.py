"""Incremental indexing of a playbook folder with LangChain's indexing API.

The index mirrors one folder: unchanged files are never re-embedded, edited files
replace their old chunks, deleted files' chunks disappear. A file that fails to load
keeps whatever was indexed for it before, and is reported with the reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.indexing import index

from bot.knowledge.chunking import chunk_document
from bot.knowledge.loaders import LoadedDocument, LoadError, is_skipped, load_file
from bot.knowledge.store import PlaybookStore
from bot.store.record_manager import SQLRecordManager

log = logging.getLogger(__name__)


class IngestError(RuntimeError):
    """The folder itself cannot be ingested (missing, not a folder)."""


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): bad files
    warnings: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_deleted: int = 0
    chunks_total: int = 0
    texts_embedded: int = 0

    @property
    def indexed_files(self) -> int:
        return len(self.added) + len(self.updated) + len(self.unchanged)


def _walk(root: Path) -> Iterator[tuple[Path, str | None]]:
    """Every file below `root` in name order, with a reason when it must be passed over.

    Symbolic links are never followed out of the folder: a link to a folder is not
    descended into at all (it could loop, or lead anywhere), a link to a file is read only
    when its target is inside the folder."""
    for folder, folders, names in os.walk(root, followlinks=False):
        here = Path(folder)
        for name in sorted(folders):
            if (here / name).is_symlink():
                yield here / name, "link to a folder (not followed)"
        folders.sort()
        for name in sorted(names):
            path = here / name
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root):
                    yield path, "link to a file outside the knowledge folder (not followed)"
                    continue
                if not target.is_file():
                    continue
            elif not path.is_file():
                continue
            yield path, None


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f}".removesuffix(".0")


def chunk_key(document: Document) -> str:
    """Stable id of a chunk: SHA-256 of its text and metadata."""
    payload = json.dumps(
        [document.page_content, document.metadata], sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class PlaybookIndexer:
    """Turns a folder of documents into chunks in the vector store, incrementally."""

    def __init__(
        self,
        *,
        store: PlaybookStore,
        record_manager: SQLRecordManager,
        chunk_size: int = 1200,
        chunk_overlap: int = 120,
        batch_size: int = 64,
        extra_documents: Callable[[], list[LoadedDocument]] | None = None,
        max_file_bytes: int = 0,
    ) -> None:
        """`extra_documents`: documents that live outside the folder (leaders' Slack
        updates); an ingest keeps them in the index instead of deleting them as gone.
        `max_file_bytes`: larger files are skipped with the reason (0 = no cap)."""
        self.store = store
        self.max_file_bytes = max_file_bytes
        self.extra_documents = extra_documents
        self.record_manager = record_manager
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.batch_size = batch_size

    def discover(self, root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
        """Files to load, and files passed over on purpose (with the reason)."""
        if not root.exists():
            raise IngestError(f"The folder {root} does not exist.")
        if not root.is_dir():
            raise IngestError(
                f"{root} is a file; give the folder that holds the playbook "
                "(the index mirrors one folder)."
            )
        files: list[Path] = []
        skipped: list[tuple[str, str]] = []
        for path, link_reason in _walk(root):
            relative = path.relative_to(root)
            reason = is_skipped(relative)
            if reason != "hidden file":
                reason = link_reason or reason or self._too_large(path)
            if reason is None:
                files.append(path)
            elif reason != "hidden file":
                skipped.append((relative.as_posix(), reason))
        return files, skipped

    def _too_large(self, path: Path) -> str | None:
        size = path.stat().st_size
        if self.max_file_bytes and size > self.max_file_bytes:
            return f"too large ({_mb(size)} MB > {_mb(self.max_file_bytes)} MB)"
        return None

    def ingest(
        self,
        root: Path,
        *,
        rebuild: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Bring the index in line with `root`. `progress(done, total)` is called per file."""
        root = root.resolve()
        files, skipped = self.discover(root)
        report = IngestReport(skipped=skipped)
        if rebuild:
            self.store.reset()
            self.record_manager.clear()
        else:
            self.store.check_model()

        before = self.record_manager.keys_by_group()
        documents: list[Document] = []
        loaded: set[str] = set()
        present: set[str] = set()
        for number, path in enumerate(files, start=1):
            relative = path.relative_to(root).as_posix()
            present.add(relative)
            try:
                doc = load_file(path, root)
                chunks = self._chunks(doc)
                if not chunks:
                    raise LoadError("no text left after splitting")
            except Exception as exc:
                if isinstance(exc, LoadError):
                    reason = str(exc)
                else:  # a parser bug on odd input must not stop the run
                    log.warning("Could not load %s", relative, exc_info=True)
                    reason = f"could not be read ({type(exc).__name__}: {exc})"
                if relative in before:
                    reason += " (the previously indexed version is kept)"
                report.failed.append((relative, reason))
            else:
                loaded.add(relative)
                report.warnings.extend((relative, warning) for warning in doc.warnings)
                documents.extend(chunks)
            if progress:
                progress(number, len(files))

        for doc in self.extra_documents() if self.extra_documents else []:
            present.add(doc.path)
            loaded.add(doc.path)
            documents.extend(self._chunks(doc))

        embedded_before = getattr(self.store.embeddings, "documents_embedded", 0)
        if documents:
            # Similar lengths in one model call waste less padding (about 25% faster here).
            documents.sort(key=lambda d: len(d.page_content))
            result = self._index(documents)
            report.chunks_added = result["num_added"]
            report.chunks_deleted = result["num_deleted"]

        # Files that are gone from the folder: drop their chunks.
        gone = sorted(set(before) - present)
        if gone:
            report.chunks_deleted += self._drop(gone)
            report.deleted = gone

        after = self.record_manager.keys_by_group()
        for source in sorted(loaded):
            if source not in before:
                report.added.append(source)
            elif before[source] == after.get(source, set()):
                report.unchanged.append(source)
            else:
                report.updated.append(source)
        report.chunks_total = sum(len(keys) for keys in after.values())
        report.texts_embedded = (
            getattr(self.store.embeddings, "documents_embedded", 0) - embedded_before
        )
        return report

    def index_document(self, doc: LoadedDocument) -> int:
        """Add or replace one document outside the folder; returns the chunks it has now."""
        self.store.reopen()  # the collection may have been rebuilt by another process
        self.store.check_model()
        chunks = self._chunks(doc)
        self._index(chunks)
        return len(chunks)

    def remove_source(self, source: str) -> int:
        """Drop every chunk of one document; returns how many were removed."""
        self.store.reopen()
        return self._drop([source])

    def _index(self, documents: list[Document]) -> dict:
        """Add new chunks and drop the replaced ones of the same sources (LangChain index)."""
        return index(
            _iter(documents),
            self.record_manager,
            self.store.vector_store,
            cleanup="scoped_full",
            source_id_key="source",
            batch_size=self.batch_size,
            key_encoder=chunk_key,
        )

    def _drop(self, sources: list[str]) -> int:
        """Delete every chunk of these sources from the store and the record manager."""
        keys = self.record_manager.list_keys(group_ids=sources)
        if keys:
            self.store.vector_store.delete(keys)
            self.record_manager.delete_keys(keys)
        return len(keys)

    def _chunks(self, doc: LoadedDocument) -> list[Document]:
        return chunk_document(doc, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)


def _iter(documents: list[Document]) -> Iterator[Document]:
    yield from documents

"""Incremental indexing of a playbook folder with LangChain's indexing API.

The index mirrors one folder: unchanged files are never re-embedded, edited files
replace their old chunks, deleted files' chunks disappear. A file that fails to load
keeps whatever was indexed for it before, and is reported with the reason.

An ingest that changes anything builds the next index generation beside the live one
(unchanged chunks keep their stored vectors) and flips the pointer when it is complete,
so the bot answers from the old index meanwhile; see bot/knowledge/generations.py.
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
from bot.knowledge.generations import Generation, GenerationConflict
from bot.knowledge.loaders import LoadedDocument, LoadError, is_skipped, load_file
from bot.knowledge.sentvec import SENTENCE_VECTORS, encode_with_sentences, pack
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
    """Stable id of a chunk: SHA-256 of its text and metadata (not of the sentence
    vectors, which the model derives from the text)."""
    metadata = {k: v for k, v in document.metadata.items() if k != SENTENCE_VECTORS}
    payload = json.dumps([document.page_content, metadata], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class PlaybookIndexer:
    """Turns a folder of documents into chunks in the vector store, incrementally."""

    def __init__(
        self,
        *,
        store: PlaybookStore,
        chunk_size: int = 1200,
        chunk_overlap: int = 120,
        batch_size: int = 64,
        extra_documents: Callable[[], list[LoadedDocument]] | None = None,
        extra_prefix: str = "",
        max_file_bytes: int = 0,
    ) -> None:
        """`extra_documents`: documents that live outside the folder (leaders' Slack
        updates); an ingest keeps them in the index instead of deleting them as gone.
        Their source ids start with `extra_prefix`, which no file path does.
        `max_file_bytes`: larger files are skipped with the reason (0 = no cap)."""
        self.store = store
        self.max_file_bytes = max_file_bytes
        self.extra_documents = extra_documents
        self.extra_prefix = extra_prefix
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.batch_size = batch_size

    @property
    def record_manager(self) -> SQLRecordManager:
        """The record manager of the live generation."""
        return self.store.record_manager

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
        _attempt: int = 1,
    ) -> IngestReport:
        """Bring the index in line with `root`. `progress(done, total)` is called per file.

        The live index is never written: a change builds the next generation and flips
        the pointer when it is complete (bot/knowledge/generations.py).
        """
        root = root.resolve()
        files, skipped = self.discover(root)
        report = IngestReport(skipped=skipped)
        self.store.follow()
        live = self.store.generation
        if not rebuild:
            self.store.check_model()
        before = {} if rebuild else self.record_manager.keys_by_group()

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

        # What the new index holds: the chunks loaded now, and the old chunks of files
        # that failed to load this time; files gone from the folder are left out.
        wanted: dict[str, str] = {chunk_key(d): d.metadata["source"] for d in documents}
        for source in present - loaded:
            wanted.update(dict.fromkeys(before.get(source, ()), source))
        old_keys = {key for keys in before.values() for key in keys}
        embedded_before = getattr(self.store.embeddings, "documents_embedded", 0)
        after = before
        if rebuild or set(wanted) != old_keys or self.store.count() != len(old_keys):
            try:
                after = self._build_next(live, documents, wanted, old_keys)
            except GenerationConflict:
                if _attempt >= 3:
                    raise
                log.info("Another ingest finished first; comparing with its index again")
                return self.ingest(root, rebuild=rebuild, progress=progress, _attempt=_attempt + 1)

        new_keys = {key for keys in after.values() for key in keys}
        report.chunks_added = len(new_keys - old_keys)
        report.chunks_deleted = len(old_keys - new_keys)
        report.deleted = sorted(set(before) - present)
        for source in sorted(loaded):
            if source not in before:
                report.added.append(source)
            elif before[source] == after.get(source, set()):
                report.unchanged.append(source)
            else:
                report.updated.append(source)
        report.chunks_total = len(new_keys)
        report.texts_embedded = (
            getattr(self.store.embeddings, "documents_embedded", 0) - embedded_before
        )
        return report

    def _build_next(
        self,
        live: Generation,
        documents: list[Document],
        wanted: dict[str, str],
        old_keys: set[str],
    ) -> dict[str, set[str]]:
        """Build a new generation holding `wanted` (key -> source), copying the vectors of
        chunks the live one has and embedding the rest; then make it the live one."""
        generations = self.store.generations
        generation = generations.create()
        target = self.store.at(generation)
        try:
            self.store.drop(generation)  # a leftover of the same name (a database reset)
            target.vector_store  # noqa: B018 - creates the collection, even for no chunks
            keep = [key for key in wanted if key in old_keys]
            copied = target.copy_from(self.store, keep)
            target.record_manager.update(copied, group_ids=[wanted[key] for key in copied])
            # Sources with a chunk to embed go through LangChain's index() whole (its
            # cleanup is per source); the others are complete already.
            copied_keys = set(copied)
            touched = {d.metadata["source"] for d in documents if chunk_key(d) not in copied_keys}
            todo = [d for d in documents if d.metadata["source"] in touched]
            if todo:
                # Similar lengths in one model call waste less padding (about 25% faster).
                todo.sort(key=lambda d: len(d.page_content))
                self._index(todo, target)
            after = target.record_manager.keys_by_group()
            generations.activate(generation, replacing=live)
        except BaseException:
            self.store.drop(generation)
            generations.forget(generation)
            raise
        self.store.follow()
        self._drop_expired()
        return after

    def _drop_expired(self) -> None:
        """Delete generations nobody can be reading any more (see Generations.expired)."""
        for old in self.store.generations.expired():
            try:
                self.store.drop(old)
                self.store.generations.forget(old)
            except Exception:  # a later ingest tries again
                log.warning("Could not drop index generation %s", old.collection, exc_info=True)

    def index_document(self, doc: LoadedDocument) -> int:
        """Add or replace one document outside the folder in the live generation; returns
        the chunks it has now."""
        self.store.follow()
        self.store.check_model()
        chunks = self._chunks(doc)
        self._index(chunks, self.store)
        if self.store.follow():  # an ingest flipped the pointer while this was written
            self.sync_extra_documents()
        return len(chunks)

    def remove_source(self, source: str) -> int:
        """Drop every chunk of one document from the live generation; returns how many."""
        self.store.follow()
        removed = self._drop(self.store, [source])
        if self.store.follow():
            self.sync_extra_documents()
        return removed

    def sync_extra_documents(self, *, _attempt: int = 1) -> int:
        """Make the live index hold exactly the extra documents supplied now.

        An ingest in another process reads the updates from the database, then builds;
        an update sent or recalled meanwhile went into the generation it replaced. The
        bot calls this when it sees the pointer move. The repair is itself a new
        generation, so no process that may call it ever writes into a collection
        another process is reading. Returns how many documents changed.
        """
        if self.extra_documents is None:
            return 0
        self.store.follow()
        live = self.store.generation
        indexed = self.record_manager.keys_by_group()
        documents: list[Document] = []
        changed: set[str] = set()
        supplied = {doc.path: doc for doc in self.extra_documents()}
        for source, doc in supplied.items():
            chunks = self._chunks(doc)
            if {chunk_key(chunk) for chunk in chunks} != indexed.get(source, set()):
                documents.extend(chunks)
                changed.add(source)
        if self.extra_prefix:
            changed.update(
                source
                for source in indexed
                if source.startswith(self.extra_prefix) and source not in supplied
            )
        if not changed:
            return 0
        wanted = {
            key: source for source, keys in indexed.items() if source not in changed for key in keys
        }
        wanted.update({chunk_key(chunk): chunk.metadata["source"] for chunk in documents})
        old_keys = {key for keys in indexed.values() for key in keys}
        try:
            self._build_next(live, documents, wanted, old_keys)
        except GenerationConflict:
            if _attempt >= 3:
                raise
            return self.sync_extra_documents(_attempt=_attempt + 1)
        log.info("Brought %d leaders' updates into the new index generation", len(changed))
        return len(changed)

    def _index(self, documents: list[Document], store: PlaybookStore) -> dict:
        """Add new chunks and drop the replaced ones of the same sources (LangChain index).

        The chunks the store lacks get their sentence vectors first (sentvec.py), from
        the same model pass that gives their chunk vectors."""
        keys = [chunk_key(d) for d in documents]
        exists = store.record_manager.exists(keys) if keys else []
        todo: dict[str, Document] = {}
        for key, doc, present in zip(keys, documents, exists, strict=True):
            if not present and SENTENCE_VECTORS not in doc.metadata:
                todo.setdefault(key, doc)
        embeddings = store.embeddings
        try:
            for start in range(0, len(todo), self.batch_size * 16):
                batch = list(todo.values())[start : start + self.batch_size * 16]
                texts = [d.page_content for d in batch]
                if hasattr(embeddings, "encode_units"):
                    per_text = embeddings.encode_units(texts)
                else:
                    per_text = encode_with_sentences(embeddings, texts)[1]
                for doc, vectors in zip(batch, per_text, strict=True):
                    doc.metadata[SENTENCE_VECTORS] = pack(vectors)
            return index(
                _iter(documents),
                store.record_manager,
                store.vector_store,
                cleanup="scoped_full",
                source_id_key="source",
                batch_size=self.batch_size,
                key_encoder=chunk_key,
            )
        finally:
            if hasattr(embeddings, "clear_primed"):
                embeddings.clear_primed()

    @staticmethod
    def _drop(store: PlaybookStore, sources: list[str]) -> int:
        """Delete every chunk of these sources from the store and the record manager."""
        keys = store.record_manager.list_keys(group_ids=sources)
        if keys:
            store.vector_store.delete(keys)
            store.record_manager.delete_keys(keys)
        return len(keys)

    def _chunks(self, doc: LoadedDocument) -> list[Document]:
        return chunk_document(doc, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)


def _iter(documents: list[Document]) -> Iterator[Document]:
    yield from documents

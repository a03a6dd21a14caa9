"""Documents that live outside the playbook folder (leaders' Slack updates): indexed one by
one, removed one by one, and kept by an ingest of the folder."""

from __future__ import annotations

import pytest
from conftest import NEW_UPDATE

from bot.knowledge.loaders import LoadedDocument

SOURCE = "slack-update:7"
QUESTION = "Where does the badge office move?"


def badge_update(building: str = "K") -> LoadedDocument:
    return LoadedDocument(
        path=SOURCE,
        text=(
            "# Badge office moves\n\n"
            f"The badge office moves to building {building} on 4 May. "
            "Bring your old badge to the badge office to swap it.\n"
        ),
        title="Badge office moves",
        doc_type="announcement",
        markup=True,
        owner="U0LEADER",
        updated="2026-03-12",
    )


def chunks_of(container, source: str) -> list[str]:
    return [c.text for c in container.playbook_store.all_chunks() if c.metadata["source"] == source]


def top_source(container, question: str = QUESTION) -> str:
    container.retriever.refresh(force=True)
    hits = container.retriever.retrieve(question).hits
    return hits[0].metadata["source"] if hits else ""


def sources(container) -> set[str]:
    return {c.metadata["source"] for c in container.playbook_store.all_chunks()}


@pytest.fixture
def indexed(container, kb):
    """The playbook folder is indexed; updates are not (yet)."""
    container.indexer.extra_documents = None
    report = container.indexer.ingest(kb)
    assert SOURCE not in sources(container)
    return report


def test_index_document_makes_an_update_retrievable(container, indexed):
    before = container.playbook_store.count()
    added = container.indexer.index_document(badge_update())
    assert added >= 1
    assert container.playbook_store.count() == before + added
    assert container.record_manager.count() == before + added
    assert len(chunks_of(container, SOURCE)) == added
    assert top_source(container) == SOURCE
    container.retriever.refresh(force=True)
    hit = container.retriever.retrieve(QUESTION).hits[0]
    assert (hit.metadata["type"], hit.metadata["title"]) == ("announcement", "Badge office moves")
    assert "building K" in hit.chunk.text
    # The folder's documents are untouched.
    assert sources(container) == {*indexed.added, SOURCE}


def test_indexing_an_edited_update_replaces_its_old_text(container, indexed):
    container.indexer.index_document(badge_update("K"))
    count = container.playbook_store.count()
    container.indexer.index_document(badge_update("L"))
    texts = "\n".join(chunks_of(container, SOURCE))
    assert "building L" in texts and "building K" not in texts
    assert container.playbook_store.count() == count == container.record_manager.count()
    assert container.indexer.index_document(badge_update("L")) == len(chunks_of(container, SOURCE))
    assert container.playbook_store.count() == count


def test_remove_source_drops_the_update_and_nothing_else(container, indexed):
    before = container.playbook_store.count()
    added = container.indexer.index_document(badge_update())
    assert top_source(container) == SOURCE

    assert container.indexer.remove_source(SOURCE) == added
    assert chunks_of(container, SOURCE) == []
    assert container.playbook_store.count() == before == container.record_manager.count()
    assert sources(container) == set(indexed.added)
    assert top_source(container) != SOURCE
    assert container.indexer.remove_source(SOURCE) == 0  # a second recall finds nothing


def test_an_ingest_of_the_folder_keeps_extra_documents(container, kb, indexed):
    doc = badge_update()
    container.indexer.index_document(doc)
    container.indexer.extra_documents = lambda: [doc]
    total = container.playbook_store.count()

    report = container.indexer.ingest(kb)
    assert SOURCE not in report.deleted and report.deleted == []
    assert SOURCE in report.unchanged
    assert report.texts_embedded == 0 and report.chunks_deleted == 0
    assert report.chunks_total == total == container.playbook_store.count()
    assert top_source(container) == SOURCE


def test_an_ingest_adds_an_extra_document_not_indexed_yet_and_a_changed_one_is_updated(
    container, kb, indexed
):
    docs = [badge_update("K")]
    container.indexer.extra_documents = lambda: docs
    report = container.indexer.ingest(kb)
    assert report.added == [SOURCE]
    assert top_source(container) == SOURCE

    docs[:] = [badge_update("L")]  # edited in Slack while the index was not told
    report = container.indexer.ingest(kb)
    assert report.updated == [SOURCE]
    assert "building L" in "\n".join(chunks_of(container, SOURCE))
    assert "building K" not in "\n".join(chunks_of(container, SOURCE))


def test_an_update_no_longer_supplied_is_deleted_by_the_next_ingest(container, kb, indexed):
    container.indexer.index_document(badge_update())
    container.indexer.extra_documents = lambda: []  # e.g. recalled while the index was down
    report = container.indexer.ingest(kb)
    assert report.deleted == [SOURCE]
    assert chunks_of(container, SOURCE) == []


def test_a_rebuild_puts_extra_documents_back(container, kb, indexed):
    doc = badge_update()
    container.indexer.index_document(doc)
    container.indexer.extra_documents = lambda: [doc]

    report = container.indexer.ingest(kb, rebuild=True)
    assert SOURCE in report.added
    assert set(report.added) == {*indexed.added, SOURCE}
    assert report.deleted == []
    assert len(chunks_of(container, SOURCE)) >= 1
    assert report.chunks_total == container.playbook_store.count()
    assert top_source(container) == SOURCE
    # The folder's own newest announcement is still found as before.
    assert NEW_UPDATE in {s.rsplit("/", 1)[-1] for s in sources(container)}

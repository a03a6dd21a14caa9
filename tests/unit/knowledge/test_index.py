"""Incremental indexing into a real (temporary) Chroma with the fake embedder."""

from __future__ import annotations

import os

import pytest
from conftest import FAQ_MD, write

from bot.knowledge.index import IngestError
from bot.knowledge.store import EmbeddingModelMismatch

KB_FILES = [
    "announcements/2025-11-pilot-update.md",
    "announcements/2026-01-pilot-update.md",
    "notes.txt",
    "orion-faq.md",
    "roadmap/orion-roadmap.md",
]


def texts_of(container, source: str | None = None) -> list[str]:
    return [
        chunk.text
        for chunk in container.playbook_store.all_chunks()
        if source is None or chunk.metadata["source"] == source
    ]


def test_first_ingest_adds_every_file(container, kb, fake_embeddings):
    report = container.indexer.ingest(kb)
    assert report.added == KB_FILES
    assert (report.updated, report.unchanged, report.deleted, report.failed) == ([], [], [], [])
    assert report.indexed_files == 5
    assert report.chunks_total > 5
    assert container.playbook_store.count() == report.chunks_total
    assert container.record_manager.count() == report.chunks_total
    assert report.texts_embedded == report.chunks_total == fake_embeddings.texts_embedded
    sources = {chunk.metadata["source"] for chunk in container.playbook_store.all_chunks()}
    assert sources == set(KB_FILES)


def test_second_ingest_embeds_nothing(container, kb, fake_embeddings):
    first = container.indexer.ingest(kb)
    embedded = fake_embeddings.texts_embedded
    second = container.indexer.ingest(kb)
    assert second.unchanged == KB_FILES
    assert (second.added, second.updated, second.deleted, second.failed) == ([], [], [], [])
    assert second.texts_embedded == 0
    assert fake_embeddings.texts_embedded == embedded
    assert second.chunks_total == first.chunks_total == container.playbook_store.count()


def test_no_change_run_in_a_new_process_embeds_nothing(make_container, kb, fake_embeddings):
    make_container().indexer.ingest(kb)
    embedded = fake_embeddings.texts_embedded
    report = make_container().indexer.ingest(kb)  # a fresh container on the same data dir
    assert report.unchanged == KB_FILES
    assert report.texts_embedded == 0
    assert fake_embeddings.texts_embedded == embedded


def test_edited_file_is_updated_and_its_old_text_is_gone(container, kb):
    container.indexer.ingest(kb)
    roadmap = kb / "roadmap" / "orion-roadmap.md"
    roadmap.write_text(
        roadmap.read_text().replace("3 March to 30 June 2026", "7 April to 31 July 2026")
    )
    report = container.indexer.ingest(kb)
    assert report.updated == ["roadmap/orion-roadmap.md"]
    assert report.unchanged == [path for path in KB_FILES if path != "roadmap/orion-roadmap.md"]
    assert 0 < report.texts_embedded < report.chunks_total  # only the edited chunk
    texts = "\n".join(texts_of(container))
    assert "7 April to 31 July 2026" in texts
    assert "3 March" not in texts
    assert container.playbook_store.count() == container.record_manager.count()
    answer = container.answerer.answer("When does phase 1 run?")
    assert "7 April" in answer.text
    assert "3 March" not in answer.text
    assert all("3 March" not in source.text for source in answer.sources)


def test_new_file_is_added_and_only_it_is_embedded(container, kb):
    container.indexer.ingest(kb)
    write(kb / "faq" / "extra.md", "# Extra\n\n### Where is the canteen?\n\nOn the ground floor.\n")
    report = container.indexer.ingest(kb)
    assert report.added == ["faq/extra.md"]
    assert report.unchanged == KB_FILES
    assert report.texts_embedded == len(texts_of(container, "faq/extra.md")) == 1


def test_deleted_file_is_removed_from_the_index(container, kb):
    first = container.indexer.ingest(kb)
    own = len(texts_of(container, "notes.txt"))
    assert own > 0
    (kb / "notes.txt").unlink()
    report = container.indexer.ingest(kb)
    assert report.deleted == ["notes.txt"]
    assert "notes.txt" not in report.unchanged
    assert report.chunks_deleted == own
    assert container.playbook_store.count() == first.chunks_total - own
    assert container.record_manager.count() == first.chunks_total - own
    assert texts_of(container, "notes.txt") == []
    assert "Thursday" not in "\n".join(texts_of(container))


def test_file_moved_to_surveys_or_renamed_to_unsupported_type_leaves_the_index(container, kb):
    container.indexer.ingest(kb)
    (kb / "surveys").mkdir()
    (kb / "notes.txt").rename(kb / "surveys" / "notes.txt")
    (kb / "orion-faq.md").rename(kb / "orion-faq.md.bak")
    report = container.indexer.ingest(kb)
    assert report.deleted == ["notes.txt", "orion-faq.md"]
    skipped = dict(report.skipped)
    assert "surveys/notes.txt" in skipped
    assert "orion-faq.md.bak" in skipped
    assert texts_of(container, "notes.txt") == texts_of(container, "orion-faq.md") == []


def test_file_that_becomes_corrupt_keeps_its_previous_version(container, kb):
    container.indexer.ingest(kb)
    before = sorted(texts_of(container, "orion-faq.md"))
    (kb / "orion-faq.md").write_bytes(b"\x00\x01binary junk\x00" * 20)
    report = container.indexer.ingest(kb)
    failed = dict(report.failed)
    assert list(failed) == ["orion-faq.md"]
    assert "binary" in failed["orion-faq.md"]
    assert "previously indexed version is kept" in failed["orion-faq.md"]
    assert report.unchanged == [path for path in KB_FILES if path != "orion-faq.md"]
    assert report.deleted == []
    assert sorted(texts_of(container, "orion-faq.md")) == before
    answer = container.answerer.answer("How do I request a training voucher?")
    assert answer.kind == "faq"
    assert answer.sources[0].path == "orion-faq.md"


def test_new_bad_file_is_reported_without_the_kept_note(container, kb):
    write(kb / "broken.md", "---\ntitle: [unclosed\n---\n# Broken\n\ntext\n")
    report = container.indexer.ingest(kb)
    failed = dict(report.failed)
    assert "YAML" in failed["broken.md"]
    assert "previously indexed" not in failed["broken.md"]


def test_bad_files_never_abort_the_run(container, kb):
    (kb / "empty.md").write_bytes(b"")
    (kb / "blank.txt").write_text("   \n\n")
    (kb / "image.md").write_bytes(b"\x89PNG\x00\x00" + os.urandom(200))
    (kb / "scan.pdf").write_bytes(os.urandom(1500))
    (kb / "policy.docx").write_bytes(os.urandom(1500))
    write(kb / "list.md", "---\n- a\n- b\n---\n# L\n\ntext\n")
    write(kb / "open.md", "---\ntitle: Open\n\n# Open\n\ntext\n")
    write(kb / "surveys" / "pulse.md", "# Pulse survey\n\nHow are you?\n")
    (kb / "budget.xlsx").write_bytes(b"PK\x03\x04 not really")
    write(kb / ".draft.md", "# Draft\n\ntext\n")

    report = container.indexer.ingest(kb)

    assert report.added == KB_FILES
    failed = dict(report.failed)
    assert sorted(failed) == [
        "blank.txt",
        "empty.md",
        "image.md",
        "list.md",
        "open.md",
        "policy.docx",
        "scan.pdf",
    ]
    assert all(reason.strip() for reason in failed.values())
    skipped = dict(report.skipped)
    assert sorted(skipped) == ["budget.xlsx", "surveys/pulse.md"]  # hidden files: silently
    assert "survey" in skipped["surveys/pulse.md"]
    assert "unsupported" in skipped["budget.xlsx"]
    sources = {chunk.metadata["source"] for chunk in container.playbook_store.all_chunks()}
    assert sources == set(KB_FILES)


def test_impossible_date_does_not_abort_the_run(container, kb):
    write(kb / "bad-date.md", "---\nupdated: 2026-02-30\n---\n# Bad date\n\ntext\n")
    report = container.indexer.ingest(kb)
    assert set(KB_FILES) <= set(report.added)


def test_warnings_are_reported(container, kb):
    write(kb / "odd.md", "---\ntype: gossip\n---\n# Odd\n\nSome odd text.\n")
    report = container.indexer.ingest(kb)
    assert "odd.md" in report.added
    assert any(path == "odd.md" and "gossip" in warning for path, warning in report.warnings)


def test_progress_is_reported_per_file(container, kb):
    calls = []
    container.indexer.ingest(kb, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(n, 5) for n in range(1, 6)]


def test_rebuild_embeds_everything_again(container, kb):
    first = container.indexer.ingest(kb)
    report = container.indexer.ingest(kb, rebuild=True)
    assert report.added == KB_FILES
    assert report.unchanged == []
    assert report.texts_embedded == report.chunks_total == first.chunks_total
    assert container.playbook_store.count() == first.chunks_total
    assert container.record_manager.count() == first.chunks_total
    assert container.answerer.answer("How do I request a training voucher?").kind == "faq"


def test_rebuild_drops_chunks_of_files_that_are_gone(container, kb):
    container.indexer.ingest(kb)
    (kb / "notes.txt").unlink()
    report = container.indexer.ingest(kb, rebuild=True)
    assert "notes.txt" not in report.added
    assert texts_of(container, "notes.txt") == []


def test_model_switch_is_detected(make_container, kb):
    make_container(model_id="fake-model").indexer.ingest(kb)
    other = make_container(model_id="other-model")
    with pytest.raises(EmbeddingModelMismatch) as caught:
        other.indexer.ingest(kb)
    message = str(caught.value)
    assert "changebot ingest --rebuild" in message
    assert "fake-model" in message
    assert "other-model" in message
    with pytest.raises(EmbeddingModelMismatch):
        make_container(model_id="other-model").answerer.answer("When does phase 1 run?")


def test_rebuild_switches_the_model(make_container, kb):
    first = make_container(model_id="fake-model").indexer.ingest(kb)
    switched = make_container(model_id="other-model")
    report = switched.indexer.ingest(kb, rebuild=True)
    assert report.added == KB_FILES
    assert report.chunks_total == first.chunks_total
    assert switched.playbook_store.stored_model_id() == "other-model"
    assert switched.answerer.answer("How do I request a training voucher?").kind == "faq"
    with pytest.raises(EmbeddingModelMismatch):
        make_container(model_id="fake-model").indexer.ingest(kb)


def test_missing_folder_is_an_ingest_error(container, tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        container.indexer.ingest(tmp_path / "nowhere")


def test_file_path_is_an_ingest_error(container, tmp_path):
    path = write(tmp_path / "faq.md", FAQ_MD)
    with pytest.raises(IngestError, match="folder"):
        container.indexer.ingest(path)


def test_folder_with_only_broken_files_indexes_nothing(container, tmp_path):
    root = tmp_path / "broken"
    root.mkdir()
    (root / "empty.md").write_bytes(b"")
    (root / "junk.pdf").write_bytes(os.urandom(500))
    report = container.indexer.ingest(root)
    assert report.indexed_files == 0
    assert sorted(dict(report.failed)) == ["empty.md", "junk.pdf"]
    assert container.playbook_store.count() == 0

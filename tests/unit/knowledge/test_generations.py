"""Blue/green index generations: an ingest builds a new collection and flips a pointer in
the database; readers follow the pointer, and the bot's own writes (leaders' updates
indexed when they are sent or recalled) are not lost when an ingest elsewhere flips it.

The second container on the same data dir plays the `changebot ingest` process; the
cross-process attack itself is tests/integration/test_ingest_while_answering.py.
"""

from __future__ import annotations

import datetime as dt

from conftest import ROADMAP_MD, write

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


def retrieved_sources(container, question: str = QUESTION) -> list[str]:
    return [hit.metadata["source"] for hit in container.retriever.retrieve(question).hits]


def stored_sources(container) -> set[str]:
    return {chunk.metadata["source"] for chunk in container.playbook_store.all_chunks()}


def during_ingest(ingesting, action):
    """Make `ingesting`'s next ingest run `action` right after it read the updates from the
    database, i.e. while it builds the new generation."""
    read = ingesting.indexer.extra_documents

    def hooked():
        documents = read()
        action()
        return documents

    ingesting.indexer.extra_documents = hooked


def bot_and_ingest(make_container, kb, published: list[LoadedDocument]):
    """The running bot and the ingest process, both reading updates from `published`."""
    bot = make_container()
    bot.indexer.extra_documents = lambda: list(published)
    bot.indexer.ingest(kb)
    ingest = make_container()
    ingest.indexer.extra_documents = lambda: list(published)
    return bot, ingest


def edit_roadmap(kb) -> None:
    write(kb / "roadmap" / "orion-roadmap.md", ROADMAP_MD.replace("30 June", "7 July"))


def test_an_update_indexed_during_an_ingest_survives_the_switch(make_container, kb):
    published: list[LoadedDocument] = []
    bot, ingest = bot_and_ingest(make_container, kb, published)
    assert SOURCE not in retrieved_sources(bot)

    def leader_sends_an_update():  # what Broadcasts.send does: store it, then index it
        published.append(badge_update())
        bot.indexer.index_document(badge_update())

    during_ingest(ingest, leader_sends_an_update)
    edit_roadmap(kb)
    report = ingest.indexer.ingest(kb)
    assert report.updated == ["roadmap/orion-roadmap.md"]
    built = ingest.generations.active()

    bot.retriever.refresh(force=True)
    # The repair is a generation of its own: nobody wrote into the one others may read.
    assert bot.generations.active().number > built.number
    assert retrieved_sources(bot)[0] == SOURCE
    assert SOURCE in stored_sources(bot)
    assert "7 July" in bot.answerer.answer("When does phase 1 run?").text


def test_an_update_recalled_during_an_ingest_stays_out_after_the_switch(make_container, kb):
    published = [badge_update()]
    bot, ingest = bot_and_ingest(make_container, kb, published)
    assert retrieved_sources(bot)[0] == SOURCE

    def leader_recalls_it():  # what Broadcasts.recall does
        published.clear()
        bot.indexer.remove_source(SOURCE)

    during_ingest(ingest, leader_recalls_it)
    edit_roadmap(kb)
    ingest.indexer.ingest(kb)

    bot.retriever.refresh(force=True)
    assert SOURCE not in retrieved_sources(bot)
    assert SOURCE not in stored_sources(bot)


def test_a_no_change_ingest_builds_no_new_generation(make_container, kb, fake_embeddings):
    container = make_container()
    container.indexer.ingest(kb)
    active = container.generations.active()
    embedded = fake_embeddings.texts_embedded
    report = make_container().indexer.ingest(kb)
    assert report.texts_embedded == 0 and fake_embeddings.texts_embedded == embedded
    assert container.generations.active() == active


def test_a_changed_file_copies_the_other_vectors_instead_of_embedding_them(
    make_container, kb, fake_embeddings
):
    container = make_container()
    first = container.indexer.ingest(kb)
    before = container.generations.active()
    edit_roadmap(kb)
    report = container.indexer.ingest(kb)
    after = container.generations.active()
    assert after.number > before.number and after.collection != before.collection
    assert report.updated == ["roadmap/orion-roadmap.md"]
    assert 0 < report.texts_embedded < first.chunks_total / 2
    assert report.chunks_total == container.playbook_store.count()
    assert container.record_manager.count() == report.chunks_total
    assert "7 July" in container.answerer.answer("When does phase 1 run?").text


def test_a_reader_on_the_old_generation_keeps_answering_until_it_follows(make_container, kb):
    bot = make_container()
    bot.indexer.ingest(kb)
    assert "30 June" in bot.answerer.answer("When does phase 1 run?").text
    edit_roadmap(kb)
    make_container().indexer.ingest(kb, rebuild=True)
    # The bot has not looked at the pointer yet: it still answers from the old collection.
    assert "30 June" in bot.answerer.answer("When does phase 1 run?").text
    bot.retriever.refresh(force=True)
    assert "7 July" in bot.answerer.answer("When does phase 1 run?").text


def test_old_generations_are_dropped_only_after_the_grace_period(make_container, kb):
    container = make_container(index_grace_seconds=600)
    container.indexer.ingest(kb)
    first = container.generations.active()
    edit_roadmap(kb)
    container.indexer.ingest(kb)
    names = {c.name for c in container.chroma_client.list_collections()}
    assert first.collection in names  # retired, but a slow reader may still be on it

    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=601)
    container.generations.clock = lambda: later
    write(kb / "more.md", "# More\n\nOffice hours move to Friday.\n")
    container.indexer.ingest(kb)
    names = {c.name for c in container.chroma_client.list_collections()}
    assert first.collection not in names
    assert container.generations.active().collection in names


def test_chunks_that_cannot_be_copied_are_embedded_instead(container, kb, monkeypatch):
    """The live collection fails to read (e.g. the bot wrote into it at that moment): the
    new generation is still complete, at the cost of embedding those chunks again."""
    from chromadb.errors import InternalError

    first = container.indexer.ingest(kb)
    live = container.playbook_store.collection

    def unreadable(**kwargs):
        raise InternalError("Error executing plan: Internal error: Error finding id")

    monkeypatch.setattr(live, "get", unreadable)
    edit_roadmap(kb)
    report = container.indexer.ingest(kb)
    assert report.texts_embedded == report.chunks_total == first.chunks_total
    assert container.playbook_store.count() == report.chunks_total
    assert "7 July" in container.answerer.answer("When does phase 1 run?").text

"""Leaders' updates in the playbook: an answer about an update's subject comes from the
update; an edit re-indexes it, a recall takes it out, and `changebot ingest` keeps it.

Ranking an update against the older document it corrects needs real embeddings; that is
tested with the bundled model in tests/integration/test_updates_real_model.py."""

from __future__ import annotations

import pytest
from broadcast_bed import LEADER, send_update
from conftest import write
from scenario import block_texts, blocks_of, rows
from slackbed import dm_event, unique_event_id

from bot.broadcasts.service import SOURCE_PREFIX
from bot.store.models import Interaction

GO_LIVE = "When does the MLOps platform go live?"
CUT_OVER = "When is the cut-over weekend?"
ROADMAP = "roadmap/mlops-platform-roadmap.md"
ROADMAP_MD = """
---
title: MLOps platform roadmap
owner: Platform team
audience: everyone
updated: 2026-01-12
---

# MLOps platform roadmap

The MLOps platform brings model training, deployment and monitoring onto one service.

## Go-live

The MLOps platform go-live is on 2 March. Teams move their first models that week.

## Training

Hands-on training for data scientists starts in February, one session per team.
"""
# The test bed's own example of an update (broadcast_bed.compose's defaults).
TITLE = "MLOps platform go-live moves to 9 March"
BODY = "The *go-live* of the MLOps platform moves from 2 March to *9 March*."
# The same update with a fact the playbook has nowhere else.
CUT_OVER_BODY = BODY + " The cut-over weekend is 7 and 8 March; the model registry is read-only."
NEW_TITLE = "MLOps platform go-live moves to 16 March"
NEW_BODY = (
    "The *go-live* of the MLOps platform moves from 2 March to *16 March*. "
    "The cut-over weekend is 14 and 15 March; the model registry is read-only."
)


@pytest.fixture
def mlops_bot(kb, start_leaders_bot):
    """The leaders' bot on a playbook that also holds the (older) MLOps roadmap."""
    write(kb / ROADMAP, ROADMAP_MD)
    return start_leaders_bot()


def source_of(broadcast_id: int) -> str:
    return f"{SOURCE_PREFIX}{broadcast_id}"


def ask_in_dm(bot, question: str) -> tuple[str, list[dict]]:
    """Ask in a DM as U1, as a person would: (the answer as shown, its stored sources)."""
    slack = bot.slack
    seen = len(slack.calls_to("chat.postMessage"))
    asked = len(rows(bot.container, Interaction))
    status, _ = bot.send_event(dm_event(question, event_id=unique_event_id()))
    assert status == 200
    calls = slack.wait_for("chat.postMessage", seen + 1)
    [reply] = [c for c in calls[seen:] if c.params.get("channel") == "D111"]
    shown = "\n".join(block_texts(blocks_of(reply), "section"))
    shown += "\n" + "\n".join(block_texts(blocks_of(reply), "context"))
    interactions = rows(bot.container, Interaction)
    assert len(interactions) == asked + 1
    return shown, interactions[-1].sources


def hits(container, question: str, k: int = 50) -> list:
    return container.retriever.retrieve(question, k=k).hits


def update_texts(container, broadcast_id: int, question: str) -> list[str]:
    """The update's chunks among the retrieval hits for `question`."""
    return [
        hit.chunk.text
        for hit in hits(container, question)
        if hit.metadata.get("source") == source_of(broadcast_id)
    ]


def indexed_chunks(container, source: str) -> tuple[int, int]:
    """(chunks in Chroma, keys in the record manager) of one source."""
    in_store = [c for c in container.playbook_store.all_chunks() if c.metadata["source"] == source]
    keys = container.record_manager.list_keys(group_ids=[source])
    return len(in_store), len(keys)


def ranking(container, question: str) -> str:
    """The top hits, for assertion messages."""
    return "\n".join(
        f"{h.score:.4f} dense={h.dense:.3f} keyword={h.keyword} "
        f"{h.metadata.get('source')} ({h.metadata.get('updated')}): {h.chunk.text!r}"
        for h in hits(container, question, k=6)
    )


def test_a_sent_update_is_answered_from_in_slack_with_its_source(mlops_bot):
    container = mlops_bot.container
    assert not container.answerer.answer(CUT_OVER).confident  # nobody knew before

    broadcast_id = send_update(mlops_bot, title=TITLE, body=CUT_OVER_BODY, departments=["Finance"])
    update = container.broadcasts.get(broadcast_id)

    answer = container.answerer.answer(CUT_OVER)
    assert answer.confident, ranking(container, CUT_OVER)
    first = answer.sources[0]
    assert first.path == source_of(broadcast_id), ranking(container, CUT_OVER)
    assert (first.title, first.type) == (TITLE, "announcement")
    assert first.updated == update.sent_at.date().isoformat()
    assert "7 and 8 March" in answer.text
    owners = {
        hit.metadata["owner"]
        for hit in hits(container, CUT_OVER)
        if hit.metadata["source"] == source_of(broadcast_id)
    }
    assert owners == {"Lea Leader"}  # the author by name, from the directory

    # The same through Slack: a DM question, answered with the update as source [1].
    shown, sources = ask_in_dm(mlops_bot, CUT_OVER)
    assert sources[0]["path"] == source_of(broadcast_id)
    assert "7 and 8 March" in shown
    assert f"[1] {TITLE} (update in Slack, {first.updated})" in shown
    # The update also turns up for the go-live question (which ranks first is a matter
    # for the real model: tests/integration/test_updates_real_model.py).
    assert source_of(broadcast_id) in [s.path for s in container.answerer.answer(GO_LIVE).sources]


def test_an_edit_re_indexes_the_update(mlops_bot):
    container = mlops_bot.container
    broadcast_id = send_update(mlops_bot, title=TITLE, body=CUT_OVER_BODY, departments=["Finance"])
    source = source_of(broadcast_id)
    assert "7 and 8 March" in container.answerer.answer(CUT_OVER).text
    assert indexed_chunks(container, source) == (1, 1)

    outcome = container.broadcasts.edit(broadcast_id, LEADER, title=NEW_TITLE, body=NEW_BODY)
    assert outcome.done, outcome.message

    answer = container.answerer.answer(CUT_OVER)
    assert answer.sources[0].path == source, ranking(container, CUT_OVER)
    assert answer.sources[0].title == NEW_TITLE
    assert "14 and 15 March" in answer.text
    assert "7 and 8 March" not in answer.text
    go_live = container.answerer.answer(GO_LIVE)
    assert "16 March" in go_live.text
    assert "9 March" not in go_live.text

    # The old text is gone from the index: one chunk, the new one, whatever is asked.
    assert indexed_chunks(container, source) == (1, 1)
    for question in (TITLE, "cut-over weekend 7 and 8 March", CUT_OVER_BODY):
        found = update_texts(container, broadcast_id, question)
        assert found, f"the update should still be found for {question!r}"
        assert all("16 March" in text for text in found)
        assert not any("9 March" in text or "7 and 8 March" in text for text in found)

    shown, sources = ask_in_dm(mlops_bot, CUT_OVER)
    assert sources[0]["path"] == source
    assert "14 and 15 March" in shown
    assert "7 and 8 March" not in shown


def test_a_recall_takes_the_update_out_of_the_playbook(mlops_bot, kb):
    container = mlops_bot.container
    broadcast_id = send_update(mlops_bot, title=TITLE, body=CUT_OVER_BODY, departments=["Finance"])
    source = source_of(broadcast_id)
    assert update_texts(container, broadcast_id, GO_LIVE)
    assert "9 March" in container.answerer.answer(GO_LIVE).text

    outcome = container.broadcasts.recall(broadcast_id, LEADER)
    assert outcome.done, outcome.message

    assert indexed_chunks(container, source) == (0, 0)
    for question in (GO_LIVE, CUT_OVER, TITLE, CUT_OVER_BODY):
        assert not update_texts(container, broadcast_id, question), question
    answer = container.answerer.answer(GO_LIVE)
    assert answer.sources[0].path == ROADMAP, ranking(container, GO_LIVE)
    assert source not in [s.path for s in answer.sources]
    assert "2 March" in answer.text
    assert "9 March" not in answer.text
    cut_over = container.answerer.answer(CUT_OVER)
    assert source not in [s.path for s in cut_over.sources]
    assert "7 and 8 March" not in cut_over.text

    # A later ingest does not bring a recalled update back.
    report = container.indexer.ingest(kb)
    assert source not in report.added + report.updated + report.unchanged
    assert indexed_chunks(container, source) == (0, 0)


def test_ingest_keeps_a_sent_update_and_rebuild_puts_it_back(mlops_bot, kb, make_container):
    container = mlops_bot.container
    broadcast_id = send_update(mlops_bot, title=TITLE, body=CUT_OVER_BODY, departments=["Finance"])
    source = source_of(broadcast_id)

    report = container.indexer.ingest(kb)
    assert source not in report.deleted
    assert source in report.unchanged
    assert ROADMAP in report.unchanged
    assert not report.failed
    assert report.chunks_deleted == 0
    assert indexed_chunks(container, source) == (1, 1)
    container.retriever.refresh(force=True)
    assert container.answerer.answer(CUT_OVER).sources[0].path == source

    # The same from another process, as `changebot ingest` runs: the update stays.
    report = make_container().indexer.ingest(kb)
    assert source in report.unchanged
    assert source not in report.deleted
    assert report.chunks_deleted == 0
    container.retriever.refresh(force=True)
    assert container.answerer.answer(CUT_OVER).sources[0].path == source

    report = container.indexer.ingest(kb, rebuild=True)
    assert source in report.added
    assert source not in report.deleted
    assert indexed_chunks(container, source) == (1, 1)
    container.retriever.refresh(force=True)
    answer = container.answerer.answer(CUT_OVER)
    assert answer.sources[0].path == source, ranking(container, CUT_OVER)
    assert "7 and 8 March" in answer.text


def test_a_rebuild_by_the_cli_puts_the_update_back_for_the_running_bot(
    mlops_bot, kb, make_container
):
    container = mlops_bot.container
    broadcast_id = send_update(mlops_bot, title=TITLE, body=CUT_OVER_BODY, departments=["Finance"])
    assert container.answerer.answer(CUT_OVER).sources[0].path == source_of(broadcast_id)

    cli = make_container()  # what `changebot ingest --rebuild` builds: same settings
    report = cli.indexer.ingest(kb, rebuild=True)
    assert source_of(broadcast_id) in report.added

    answer = container.answerer.answer(CUT_OVER)
    assert answer.sources[0].path == source_of(broadcast_id)
    assert "7 and 8 March" in answer.text

"""Answer extraction, one regression test per failure kind of issue 10, each on a small
playbook written for the test: the answer quotes the question; transcripts; tables and
"sev"; facts inside lists; updates that supersede; abstention by topic."""

from __future__ import annotations

import pytest
from conftest import write

from bot.knowledge.answer_select import should_abstain
from bot.knowledge.sentvec import SENTENCE_VECTORS, chunk_sentences, unpack

ARTICLE_TXT = """
MLOPS ADOPTION IN PRACTICE

This article looks at how companies adopt machine learning operations and what tends
to go wrong along the way, based on interviews with twelve platform teams.

FREQUENTLY ASKED QUESTIONS

1. Why do organizations struggle when adopting machine learning operations?
They underestimate the cultural change and treat adoption as a tooling project.

2. How long does an adoption programme usually take?
Most organisations need twelve to eighteen months before every model runs on the platform.
"""

TOWN_HALL_MD = """
---
title: Coastal town hall
type: other
---

# Coastal town hall, October

DANA (COO): Welcome everyone, thanks for joining from the depots.
Q (chat, Coastal): Why are we so late with the rollout?
DANA (COO): The replacement vans arrived six weeks late from the supplier.
Q (room): Will the training be paid?
MARK (Training lead): Yes, every training hour is paid working time.
"""

SUPPORT_MD = """
---
title: Support policy
type: policy
---

# Support policy

## Response times

Every ticket gets a severity when it is logged.

| Severity | Meaning | Response time |
|---|---|---|
| 1 | Depot cannot dispatch | Within 15 minutes, day and night |
| 2 | Dispatch degraded | Within 1 hour during depot operating hours |
| 3 | Minor issue | Next working day |
"""

PORTAL_MD = """
---
title: Driver portal guide
type: training
---

# Driver portal guide

## What the portal shows

The portal is the one place drivers and planners look things up.

- Route planning: tomorrow's routes are visible from 18:00 the day before.
- Job history: the last 24 months of jobs, searchable by customer and postcode.
- Fuel cards: the balance and the last ten transactions of your card.
- Payslips: the current and the previous tax year, as PDF downloads.
- Training: the courses you have finished and those still to take.
- Vehicle checks: the daily walk-around checklist and past check results.
"""

ROADMAP_MD = """
---
title: Rollout roadmap
type: roadmap
updated: 2026-06-01
---

# Rollout roadmap

## Regions

| Region | Go-live | Lead |
|---|---|---|
| Coastal | 12 May 2027 | Dana Okafor |
| Northern | 14 April 2027 | Sam Lee |
"""

UPDATE_MD = """
---
title: Timeline update, September
type: announcement
updated: 2026-09-15
---

# Timeline update, September

The Northern go-live moves to 2 June 2027 because of the depot refit. Coastal dates are
unchanged.
"""


@pytest.fixture
def playbook(make_container, tmp_path):
    """The test embedder's similarities are far lower than the real model's, so the
    topical threshold is off: every abstention here comes from the answer rule."""
    container = make_container(abstain_threshold=0.0)
    root = tmp_path / "kb"
    write(root / "mlops-article.txt", ARTICLE_TXT)
    write(root / "town-hall.md", TOWN_HALL_MD)
    write(root / "policies" / "support.md", SUPPORT_MD)
    write(root / "training" / "portal.md", PORTAL_MD)
    write(root / "roadmap" / "rollout.md", ROADMAP_MD)
    write(root / "updates" / "2026-09-timeline.md", UPDATE_MD)
    container.indexer.ingest(root)
    return container


def quoted(answer) -> list[str]:
    return [line for line in answer.text.split("\n") if line.startswith("> ")]


def test_the_answer_never_quotes_the_question(playbook):
    answer = playbook.answerer.answer(
        "Why do organisations struggle when adopting machine learning operations?"
    )
    assert answer.confident
    assert "underestimate the cultural change" in answer.text
    assert "Why do organizations struggle" not in answer.text
    assert not any(line.split(" [")[0].endswith("?") for line in quoted(answer))


def test_a_transcript_question_is_not_quoted_its_reply_is(playbook):
    answer = playbook.answerer.answer("why is the coastal rollout so late")
    assert answer.confident
    assert "vans arrived six weeks late" in answer.text
    assert "Why are we so late" not in answer.text


def test_a_table_row_answers_with_its_headers_and_sev_means_severity(playbook):
    answer = playbook.answerer.answer("whats the response time if we log a sev 2")
    assert answer.confident
    first = quoted(answer)[0]
    assert "Within 1 hour during depot operating hours" in first
    assert "Severity 2" in first
    assert answer.sources[0].path == "policies/support.md"


def test_a_fact_inside_a_long_list_is_found_and_quoted(playbook):
    # The test embedder only sees shared words ("job history"); the real model also
    # matches "how far back can I look up old jobs" (checked by hand, see the report).
    answer = playbook.answerer.answer("how far back does the job history go?")
    assert answer.confident
    assert "the last 24 months" in quoted(answer)[0]


def test_a_newer_confirmation_comes_first_with_the_passage_that_holds_the_date(playbook):
    answer = playbook.answerer.answer("when is Coastal going live")
    assert answer.confident
    lines = quoted(answer)
    assert "Coastal dates are" in lines[0] and "unchanged" in lines[0]
    assert any("12 May 2027" in line for line in lines[1:])
    cited = {int(line.rsplit("[", 1)[1].rstrip("]")) for line in lines}
    paths = {answer.sources[n - 1].path for n in cited}
    assert paths == {"updates/2026-09-timeline.md", "roadmap/rollout.md"}


def test_a_newer_change_that_states_the_value_is_quoted_first(playbook):
    answer = playbook.answerer.answer("when does Northern go live")
    assert "2 June 2027" in quoted(answer)[0]


def test_a_question_on_a_known_subject_asking_for_an_unstated_fact_is_not_answered(playbook):
    answer = playbook.answerer.answer("what is the budget for the Coastal rollout?")
    assert answer.confident is False
    assert answer.kind == "abstain"
    assert "Ask the change team" in answer.text
    assert answer.signals["slot"] == "number"


def test_the_same_subject_asking_for_a_stated_fact_is_answered(playbook):
    answer = playbook.answerer.answer("who leads the Coastal rollout?")
    assert answer.confident
    assert "Dana Okafor" in answer.text


def test_at_most_three_sentences_are_quoted(playbook):
    answer = playbook.answerer.answer("what does the driver portal show?")
    assert answer.confident
    assert 1 <= len(quoted(answer)) <= 3


def test_sentence_vectors_are_stored_at_ingest_one_per_sentence(playbook):
    chunks = playbook.retriever.store.all_chunks()
    assert chunks
    for chunk in chunks:
        vectors = unpack(chunk.metadata[SENTENCE_VECTORS], 256)
        assert len(vectors) == len(chunk_sentences(chunk.text))


def test_answering_embeds_only_the_question(playbook, fake_embeddings):
    playbook.answerer.answer("warm up: the index is read and its FAQ questions embedded")
    before = (fake_embeddings.query_calls, fake_embeddings.texts_embedded)
    playbook.answerer.answer("how far back can I look up old jobs")
    assert fake_embeddings.texts_embedded == before[1]
    assert fake_embeddings.query_calls == before[0] + 1


@pytest.mark.parametrize(
    ("signals", "evidence", "settings", "abstain"),
    [
        ({"slot": None, "subject": 0.9, "slot_subject": 0.9}, 0.3, {}, True),
        ({"slot": None, "subject": 0.9, "slot_subject": 0.9}, 0.9, {}, False),
        ({"slot": "date", "subject": 0.9, "slot_subject": 0.0}, 0.9, {}, True),
        (
            {"slot": "date", "subject": 0.9, "slot_subject": 0.0},
            0.9,
            {"slot_required": False},
            False,
        ),
        ({"slot": None, "subject": 0.3, "slot_subject": 0.3}, 0.9, {"min_subject": 0.5}, True),
        ({"slot": "date", "subject": 0.9, "slot_subject": 0.4}, 0.9, {"min_subject": 0.5}, True),
    ],
)
def test_the_abstention_rule_reads_its_thresholds(signals, evidence, settings, abstain):
    options = {"threshold": 0.5, "min_subject": 0.0, "slot_required": True} | settings
    assert should_abstain(signals, evidence, **options) is abstain

"""A leader's update with the real bundled model on the sample playbook: a newer update
on a subject goes before the older documents it corrects, and leaves when recalled."""

from __future__ import annotations

import os

import pytest
from conftest import REPO_ROOT, make_settings

from bot.broadcasts.service import Audience, Draft
from bot.config import BUNDLED_MODEL
from bot.container import Container

pytestmark = pytest.mark.integration

KNOWLEDGE = REPO_ROOT / "knowledge"
# The sample roadmap and the October announcement both say Phase 3 starts 1 February 2027.
TITLE = "Phase 3 start moves to 1 March 2027"
BODY = (
    "Phase 3, Scale-out, now starts on *1 March 2027* instead of 1 February 2027, "
    "to give the pilot teams four more weeks."
)
QUESTIONS = ["When does Phase 3 start?", "what is the start date of the scale-out phase?"]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("updates") / "data"
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("CHANGEBOT_"):
                patch.delenv(name)
        settings = make_settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE)
    assert settings.embedding_model == BUNDLED_MODEL
    container = Container(settings)
    container.indexer.ingest(KNOWLEDGE)
    return container


def test_a_newer_update_is_the_first_source_and_leaves_when_recalled(real):
    before = {q: real.answerer.answer(q) for q in QUESTIONS}
    for answer in before.values():
        assert answer.confident
        assert "1 February 2027" in answer.text
        assert not answer.sources[0].path.startswith("slack-update:")

    broadcasts = real.broadcasts
    update, _ = broadcasts.create(
        Draft("real-model", "ULEAD", TITLE, BODY, Audience(channels=("C1",)))
    )
    assert broadcasts.send(update.id).done

    for question in QUESTIONS:
        answer = real.answerer.answer(question)
        assert answer.sources[0].path == update.source, question
        assert answer.sources[0].type == "announcement"
        assert "1 March 2027" in answer.text

    broadcasts.recall(update.id, "ULEAD")
    for question in QUESTIONS:
        answer = real.answerer.answer(question)
        assert update.source not in [s.path for s in answer.sources]
        assert "1 February 2027" in answer.text


def test_the_newest_word_rule_puts_a_short_update_before_the_faq_it_changes(real):
    """Without the rule the longer FAQ entry wins; with it the update is source [1]."""
    question = "what is the deadline for lighthouse essentials?"
    broadcasts = real.broadcasts
    update, _ = broadcasts.create(
        Draft(
            "real-model-deadline",
            "ULEAD",
            "Lighthouse Essentials deadline extended",
            "The deadline to complete the Lighthouse Essentials e-learning is extended "
            "to 31 January 2027.",
            Audience(channels=("C1",)),
        )
    )
    assert broadcasts.send(update.id).done
    margin = real.retriever.announcement_margin
    assert margin > 0
    try:
        real.retriever.announcement_margin = 0
        assert real.answerer.answer(question).sources[0].path != update.source
    finally:
        real.retriever.announcement_margin = margin
    answer = real.answerer.answer(question)
    assert answer.sources[0].path == update.source
    assert "31 January 2027" in answer.text

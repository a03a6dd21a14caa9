"""A captured answer with the real bundled model on the sample playbook: the question the
playbook could not answer, asked again as it was and in other words, gets the change
team's answer; retired, it is gone again."""

from __future__ import annotations

import os

import pytest
from conftest import REPO_ROOT, make_settings

from bot.config import BUNDLED_MODEL
from bot.container import Container
from bot.questions.captured import SOURCE_PREFIX

pytestmark = pytest.mark.integration

KNOWLEDGE = REPO_ROOT / "knowledge"
QUESTION = "Can I claim my home internet costs while working remotely during the migration?"
ANSWER = (
    "Yes: up to €30 a month through the expenses tool, category *Home office*, "
    "for as long as your team works remotely on Lighthouse."
)
# Written before the first run, not changed after it.
PARAPHRASES = [
    "can i expense my home internet bill when working from home during the migration",
    "Will the company pay for my internet at home while I work remotely on the migration?",
]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("captured") / "data"
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("CHANGEBOT_"):
                patch.delenv(name)
        settings = make_settings(data_dir=data_dir, knowledge_dir=KNOWLEDGE)
    assert settings.embedding_model == BUNDLED_MODEL
    container = Container(settings)
    container.indexer.ingest(KNOWLEDGE)
    return container


def test_the_question_and_its_paraphrases_get_the_captured_answer(real):
    before = real.answerer.answer(QUESTION)
    assert not before.confident, before.text  # a real gap in the sample playbook

    entry, created = real.captured.capture(
        question=QUESTION, answer=ANSWER, author="UTEAM", key="view:real"
    )
    assert created
    results = {}
    for question in [QUESTION, *PARAPHRASES]:
        answer = real.answerer.answer(question)
        results[question] = (answer.kind, answer.sources[0].path if answer.sources else "")
        assert answer.sources[0].path == entry.source, (question, answer.text)
        assert "€30 a month" in answer.text, (question, answer.text)
    assert results[QUESTION][0] == "faq"
    print(results)

    real.captured.retire(entry.id, "UTEAM")
    after = real.answerer.answer(QUESTION)
    assert all(not s.path.startswith(SOURCE_PREFIX) for s in after.sources)
    assert "€30 a month" not in after.text

"""Answers with sources: FAQ, extractive, abstain, empty index, and the optional LLM."""

from __future__ import annotations

import re
import time

import pytest
from conftest import write
from langchain_core.language_models.fake_chat_models import (
    FakeListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from bot.knowledge.answer import Answer, Source

FAQ_QUESTION = "How do I request a training voucher?"
FAQ_ANSWER = "Fill in the voucher form on the intranet; your manager approves it within five"
ROADMAP_QUESTION = "When does phase 1 run?"


@pytest.fixture
def indexed(container, kb):
    container.indexer.ingest(kb)
    return container


def ask_with(make_container, kb, llm, **settings):
    container = make_container(llm=llm, **settings)
    container.indexer.ingest(kb)
    return container.answerer.answer(ROADMAP_QUESTION), container


# -- FAQ ------------------------------------------------------------------------------------
@pytest.mark.parametrize("question", [FAQ_QUESTION, "how do i request a training voucher"])
def test_faq_question_gets_the_approved_answer(indexed, question):
    answer = indexed.answerer.answer(question)
    assert answer.kind == "faq"
    assert answer.confident is True
    assert answer.text.startswith(FAQ_ANSWER)
    assert answer.text.endswith("[1]")
    assert FAQ_QUESTION not in answer.text  # the answer, not the question
    first = answer.sources[0]
    assert first.number == 1
    assert first.path == "orion-faq.md"
    assert first.section == FAQ_QUESTION
    assert first.type == "faq"
    assert first.title == "Orion FAQ"
    assert first.updated == "2026-03-01"
    assert FAQ_ANSWER in first.text


def test_faq_answer_keeps_the_whole_multi_line_answer(indexed):
    answer = indexed.answerer.answer("Can I keep using spreadsheets for forecasting?")
    assert answer.kind == "faq"
    assert "Only until your team's migration wave ends." in answer.text
    assert "the one\nsupported tool for forecasting" in answer.text


def test_long_faq_answer_is_given_from_its_beginning(container, kb):
    steps = "\n\n".join(
        f"Step {n}: the expense approval rule number {n} applies to claims in band {n}."
        for n in range(45)
    )
    write(kb / "faq" / "expenses.md", f"# Expenses\n\n### How are expenses approved?\n\n{steps}\n")
    container.indexer.ingest(kb)
    answer = container.answerer.answer("How are expenses approved?")
    assert answer.kind == "faq"
    assert answer.text.startswith("Step 0:")


def test_question_heading_without_own_text_is_not_answered_with_itself(container, kb):
    write(
        kb / "changes.md",
        """
        # Changes

        ## What is changing?

        ### For managers

        Managers approve every migration plan.

        ### For staff

        Staff take the essentials course.
        """,
    )
    container.indexer.ingest(kb)
    answer = container.answerer.answer("What is changing?")
    assert answer.text.replace("[1]", "").strip() != "What is changing?"


# -- extractive -----------------------------------------------------------------------------
def test_extractive_answer_quotes_the_best_passage(indexed):
    answer = indexed.answerer.answer(ROADMAP_QUESTION)
    assert answer.kind == "extractive"
    assert answer.confident is True
    assert answer.text.startswith("From the playbook:")
    assert "> Phase 1 runs from 3 March to 30 June 2026. [1]" in answer.text
    first = answer.sources[0]
    assert (first.path, first.section, first.type) == (
        "roadmap/orion-roadmap.md",
        "Phase 1 > Dates",
        "roadmap",
    )
    assert first.url == "https://intranet.example/orion/roadmap"
    assert first.text == "Phase 1 runs from 3 March to 30 June 2026."  # no context line


def test_every_citation_points_at_a_listed_source(indexed):
    for question in [ROADMAP_QUESTION, "office hours", "phase 2 dates", FAQ_QUESTION]:
        answer = indexed.answerer.answer(question)
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
        assert cited
        assert cited <= {source.number for source in answer.sources}


def test_sources_are_numbered_unique_and_at_most_k(make_container, kb):
    container = make_container(retrieval_k=2)
    container.indexer.ingest(kb)
    answer = container.answerer.answer("orion phase dates and training")
    assert [source.number for source in answer.sources] == [1, 2]
    keys = {(source.path, source.section) for source in answer.sources}
    assert len(keys) == 2


def test_type_filter_limits_the_sources(indexed):
    answer = indexed.answerer.answer("orion phase dates", doc_type="roadmap")
    assert answer.sources
    assert {source.type for source in answer.sources} == {"roadmap"}
    faq_only = indexed.answerer.answer(ROADMAP_QUESTION, doc_type="faq")
    assert all(source.type == "faq" for source in faq_only.sources)
    assert "3 March" not in faq_only.text


def test_newer_announcement_is_quoted_first(make_container, kb):
    container = make_container(recency_tie_margin=0.15)
    container.indexer.ingest(kb)
    answer = container.answerer.answer("when is the pilot launch?")
    assert answer.sources[0].updated == "2026-01-15"
    assert "14 May. [1]" in answer.text


# -- abstaining -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "question", ["what's for lunch in the canteen?", "who won the football match yesterday?"]
)
def test_question_with_no_overlap_abstains(indexed, question):
    answer = indexed.answerer.answer(question)
    assert answer.kind == "abstain"
    assert answer.confident is False
    assert "couldn't find" in answer.text
    assert "#change-team" in answer.text
    assert answer.evidence < indexed.settings.abstain_threshold


def test_abstain_message_names_the_configured_help_channel(make_container, kb):
    container = make_container(help_channel="#orion-help")
    container.indexer.ingest(kb)
    answer = container.answerer.answer("what's for lunch in the canteen?")
    assert "#orion-help" in answer.text
    assert "#change-team" not in answer.text


def test_blank_question(indexed):
    answer = indexed.answerer.answer("   \n ")
    assert answer.confident is False
    assert answer.text == "Please type a question."


def test_empty_index_says_how_to_fill_it(container):
    answer = container.answerer.answer(ROADMAP_QUESTION)
    assert answer.kind == "empty"
    assert answer.confident is False
    assert answer.sources == []
    assert "changebot ingest" in answer.text


# -- the optional LLM -----------------------------------------------------------------------
def test_llm_answer_with_valid_citations_is_used(make_container, kb):
    llm = FakeListChatModel(responses=["Phase 1 runs from 3 March to 30 June 2026 [1]."])
    answer, _ = ask_with(make_container, kb, llm)
    assert answer.kind == "llm"
    assert answer.confident is True
    assert answer.text == "Phase 1 runs from 3 March to 30 June 2026 [1]."
    assert answer.sources[0].section == "Phase 1 > Dates"


def test_llm_gets_the_question_and_numbered_passages(make_container, kb):
    seen = []

    def model(messages):
        seen.append(messages)
        return AIMessage(content="See the roadmap [1].")

    answer, _ = ask_with(make_container, kb, RunnableLambda(model))
    assert answer.kind == "llm"
    (messages,) = seen
    roles = [role for role, _ in messages]
    assert roles == ["system", "human"]
    system, human = (text for _, text in messages)
    assert "NO_ANSWER" in system
    assert ROADMAP_QUESTION in human
    assert "[1] Orion Roadmap — Phase 1 > Dates (updated 2026-02-01)" in human
    assert "Phase 1 runs from 3 March to 30 June 2026." in human
    assert f"[{len(answer.sources)}]" in human


def test_llm_content_blocks_are_joined(make_container, kb):
    reply = AIMessage(content=[{"type": "text", "text": "It runs March to June "}, "[1]."])
    llm = GenericFakeChatModel(messages=iter([reply]))
    answer, _ = ask_with(make_container, kb, llm)
    assert answer.kind == "llm"
    assert answer.text == "It runs March to June [1]."


def test_faq_match_does_not_call_the_llm(make_container, kb):
    calls = []
    llm = RunnableLambda(lambda messages: calls.append(messages) or AIMessage("x [1]"))
    container = make_container(llm=llm)
    container.indexer.ingest(kb)
    assert container.answerer.answer(FAQ_QUESTION).kind == "faq"
    assert container.answerer.answer("what's for lunch in the canteen?").kind == "abstain"
    assert calls == []


def assert_fell_back(answer: Answer, reason_part: str) -> None:
    assert answer.kind == "extractive"
    assert answer.confident is True
    assert "> Phase 1 runs from 3 March to 30 June 2026. [1]" in answer.text
    assert any(note.startswith("llm fallback") and reason_part in note for note in answer.notes)


def test_llm_error_falls_back_to_extractive(make_container, kb):
    def broken(_messages):
        raise ConnectionError("provider is down")

    answer, _ = ask_with(make_container, kb, RunnableLambda(broken))
    assert_fell_back(answer, "provider is down")


@pytest.mark.parametrize(
    ("reply", "reason_part"),
    [
        ("Phase 1 runs from March to June [9].", "do not exist"),
        ("Phase 1 runs from March to June [1][2][7].", "do not exist"),
        ("Phase 1 runs from March to June.", "cited no source"),
        ("NO_ANSWER", "no answer"),
        ("   ", "no answer"),
    ],
)
def test_unusable_llm_reply_falls_back_to_extractive(make_container, kb, reply, reason_part):
    answer, _ = ask_with(make_container, kb, FakeListChatModel(responses=[reply]))
    assert_fell_back(answer, reason_part)


def test_slow_llm_times_out_and_falls_back(make_container, kb):
    llm = FakeListChatModel(responses=["Too late [1]."], sleep=1.5)
    container = make_container(llm=llm, llm_timeout=0.2)
    container.indexer.ingest(kb)
    started = time.monotonic()
    answer = container.answerer.answer(ROADMAP_QUESTION)
    elapsed = time.monotonic() - started
    assert_fell_back(answer, "timed out after 0.2s")
    assert elapsed < 1.2  # the user is not kept waiting for the slow model


# -- JSON shape -----------------------------------------------------------------------------
def test_json_shape(indexed):
    data = indexed.answerer.answer(ROADMAP_QUESTION).to_json()
    assert set(data) == {"answer", "confident", "sources"}
    assert data["sources"]
    for source in data["sources"]:
        assert {"title", "path", "section", "type", "score", "text"} <= set(source)
        assert "number" not in source  # the position in the list is the number
        assert isinstance(source["score"], float)


def test_source_json_drops_only_the_number():
    source = Source(1, "T", "a.md", "S", "faq", 0.5, "text", url="u", updated="2026-01-01")
    assert source.to_json() == {
        "title": "T",
        "path": "a.md",
        "section": "S",
        "type": "faq",
        "score": 0.5,
        "text": "text",
        "url": "u",
        "updated": "2026-01-01",
    }


class _Recorder:
    def __init__(self) -> None:
        self.words: list[str] = []
        self.closed = False

    def write(self, text: str) -> None:
        if not self.closed:
            self.words.append(text)

    def close(self) -> None:
        self.closed = True


def test_a_streamed_llm_answer_writes_its_words_as_they_arrive(make_container, kb):
    reply = "Phase 1 runs from 3 March to 30 June 2026 [1]."
    container = make_container(llm=GenericFakeChatModel(messages=iter([AIMessage(reply)])))
    container.indexer.ingest(kb)
    stream = _Recorder()
    answer = container.answerer.answer(ROADMAP_QUESTION, stream=stream)
    assert answer.kind == "llm" and answer.text == reply
    assert len(stream.words) > 3 and "".join(stream.words) == reply


def test_a_streamed_answer_that_times_out_closes_the_stream(make_container, kb):
    llm = FakeListChatModel(responses=["Too late [1]."], sleep=0.5)
    container = make_container(llm=llm, llm_timeout=0.2)
    container.indexer.ingest(kb)
    stream = _Recorder()
    answer = container.answerer.answer(ROADMAP_QUESTION, stream=stream)
    assert answer.kind == "extractive" and stream.closed
    assert any("timed out" in note for note in answer.notes)

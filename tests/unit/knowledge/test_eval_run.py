"""One eval run on the fixture corpus with the fake embedder: the systems, the
threshold search, temporary folders, the embedding cache and the tutorial baseline."""

from __future__ import annotations

import math
import shutil

import pytest
from conftest import REPO_ROOT, FakeEmbeddings, write

from bot.container import Container
from bot.knowledge.embedding_cache import HashCachedEmbeddings
from bot.knowledge.eval_baselines import (
    heading_trails,
    trails_of_span,
    tutorial_hit,
    tutorial_outcomes,
)
from bot.knowledge.eval_corpora import load_corpus
from bot.knowledge.eval_run import GRID, SYSTEMS, run_corpus, run_eval
from bot.knowledge.evaluate import EvalQuestion

FIXTURE = REPO_ROOT / "tests" / "eval" / "fixture_corpus"


class Factory:
    """Builds one container per corpus on the folder eval hands in; remembers them."""

    def __init__(self, settings, embeddings):
        self.settings = settings
        self.embeddings = embeddings
        self.folders = []
        self.containers = []

    def __call__(self, data_dir, knowledge_dir):
        self.folders.append(data_dir)
        chosen = self.settings.model_copy(
            update={"data_dir": data_dir, "knowledge_dir": knowledge_dir}
        )
        container = Container(chosen, embeddings=self.embeddings, model_id="fake-model")
        self.containers.append(container)
        return container


@pytest.fixture
def cache():
    return HashCachedEmbeddings(FakeEmbeddings())


@pytest.fixture
def factory(settings, cache):
    return Factory(settings, cache)


def test_every_system_scores_every_question(factory, cache):
    corpus = load_corpus(FIXTURE)
    run = run_eval([corpus], make_container=factory, embeddings=cache, threshold=0.54)
    assert run.errors == []
    [result] = run.results
    assert set(result.outcomes) == set(SYSTEMS)
    for outcomes in result.outcomes.values():
        assert [o.question for o in outcomes] == [q.question for q in corpus.questions]
    assert result.chunks > 0
    assert all(o.contains is not None for o in result.outcomes["ours"] if o.answerable)
    assert all(o.contains is None for o in result.outcomes["dense"])
    # the tutorial pipeline never abstains
    assert all(o.answered_until == math.inf for o in result.outcomes["tutorial"])
    assert run.metrics(result, "tutorial").unanswerable_abstained == 0
    assert 0.54 in run.grid and run.grid == sorted(run.grid)


def test_the_threshold_search_matches_asking_at_every_threshold(factory, cache):
    """The binary search must give what the answerer does at each grid value."""
    corpus = load_corpus(FIXTURE)
    grid = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.2]
    result = run_corpus(corpus, make_container=factory, embeddings=cache, grid=grid)
    # ask again on a fresh index of the same corpus, threshold by threshold
    container = factory(factory.folders[0].parent / "again", corpus.knowledge)
    container.indexer.ingest(corpus.knowledge)
    answerer = container.answerer
    abstentions = 0
    for outcome in result.outcomes["ours"]:
        for threshold in grid:
            answerer.abstain_threshold = threshold
            abstained = not answerer.answer(outcome.question).confident
            assert outcome.abstained(threshold) is abstained, (outcome.question, threshold)
            abstentions += abstained
    assert 0 < abstentions < len(grid) * len(result.outcomes["ours"])  # both kinds occur


def test_each_corpus_gets_its_own_temporary_folder_removed_afterwards(factory, cache, tmp_path):
    other = tmp_path / "copy"
    shutil.copytree(FIXTURE, other)
    run_eval(
        [load_corpus(FIXTURE), load_corpus(other)],
        make_container=factory,
        embeddings=cache,
        threshold=0.54,
    )
    assert len(set(factory.folders)) == 2
    assert not any(folder.parent.exists() for folder in factory.folders)
    assert factory.settings.data_dir not in factory.folders


def test_the_configured_threshold_is_put_back(factory, cache):
    run_corpus(load_corpus(FIXTURE), make_container=factory, embeddings=cache, grid=GRID)
    assert factory.containers[0].answerer.abstain_threshold == factory.settings.abstain_threshold


def test_a_second_run_in_the_process_encodes_nothing_new(factory, cache):
    corpus = load_corpus(FIXTURE)
    run_eval([corpus], make_container=factory, embeddings=cache, threshold=0.54)
    encoded = cache.encoded
    assert encoded > 0
    second = run_eval([corpus], make_container=factory, embeddings=cache, threshold=0.54)
    assert cache.encoded == encoded
    assert second.reused > 0


def test_loco_folds_and_the_all_corpora_choice(factory, cache, tmp_path):
    other = tmp_path / "second"
    shutil.copytree(FIXTURE, other)
    corpora = [load_corpus(FIXTURE), load_corpus(other)]
    run = run_eval(corpora, make_container=factory, embeddings=cache, threshold=0.54, loco=True)
    assert [f.held_out for f in run.folds] == ["fixture_corpus", "second"]
    assert all(f.threshold in run.grid for f in run.folds)
    assert run.all_corpora_threshold in run.grid
    data = run.to_json()
    assert data["loco"]["all_corpora_threshold"] == run.all_corpora_threshold
    assert len(data["loco"]["folds"]) == 2


def test_loco_with_one_corpus_is_an_error_not_a_crash(factory, cache):
    run = run_eval(
        [load_corpus(FIXTURE)], make_container=factory, embeddings=cache, threshold=0.5, loco=True
    )
    assert run.folds is None
    assert "at least two corpora" in run.errors[0]


def test_a_corpus_with_nothing_indexable_is_reported_and_the_rest_go_on(factory, cache, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(FIXTURE, broken)
    for path in (broken / "knowledge").rglob("*.*"):
        path.write_text("", encoding="utf-8")  # empty files cannot be indexed
    corpus = load_corpus(broken)
    run = run_eval(
        [corpus, load_corpus(FIXTURE)], make_container=factory, embeddings=cache, threshold=0.5
    )
    assert [r.corpus.name for r in run.results] == ["fixture_corpus"]
    assert "nothing in" in run.errors[0] and "could be indexed" in run.errors[0]


# -- the tutorial baseline --------------------------------------------------------------------
def test_heading_trails_and_spans():
    text = "# Top\nintro\n## A\naaa\n### A1\nx\n## B\nbbb\n"
    trails = heading_trails(text)
    assert [t for _, t in trails] == ["Top", "Top > A", "Top > A > A1", "Top > B"]
    a1 = text.index("### A1")
    assert trails_of_span(trails, a1 + 7, a1 + 8) == ["Top > A > A1"]
    assert trails_of_span(trails, 0, len(text)) == [
        "Top",
        "Top > A",
        "Top > A > A1",
        "Top > B",
    ]


@pytest.mark.parametrize(
    ("metadata", "text", "section", "expected"),
    [
        ({"source": "a.md", "trails": ["Policy > Annual leave"]}, "x", "annual leave", True),
        ({"source": "a.md", "trails": []}, "Annual   leave: 27 days", "Annual leave", True),
        ({"source": "a.md", "trails": ["Policy > Sickness"]}, "x", "Annual leave", False),
        ({"source": "b.md", "trails": ["Annual leave"]}, "x", "Annual leave", False),
        ({"source": "a.md", "trails": []}, "x", None, True),
    ],
)
def test_tutorial_hit(metadata, text, section, expected):
    assert tutorial_hit(metadata, text, EvalQuestion("q", "a.md", section)) is expected


def test_tutorial_pipeline_splits_at_1000_characters_and_ranks(tmp_path, cache):
    folder = tmp_path / "corpus"
    paragraphs = "\n\n".join(f"Paragraph {i} about ovens and bread. " * 8 for i in range(12))
    long_text = f"# Ovens\n\n{paragraphs}\n\n## Leave\n\nHolidays: 27 days.\n"
    write(folder / "knowledge" / "long.md", long_text)  # 4 chunks; "Leave" in the last
    write(folder / "knowledge" / "other.txt", "Sickness: ring the shift lead early.\n")
    write(
        folder / "questions.yaml",
        """
        questions:
          - q: "holidays days"
            source: long.md
            section: "Leave"
            phrase: "27 days"
          - q: "ring shift lead sickness"
            source: other.txt
            phrase: "shift lead"
          - q: "budget"
            answerable: false
        """,
    )
    outcomes = tutorial_outcomes(load_corpus(folder), cache, k=10)
    assert [o.rank for o in outcomes] == [1, 1, None]
    assert outcomes[2].answerable is False
    # run twice: the in-memory collection of the first run is gone, nothing leaks between runs
    assert [o.rank for o in tutorial_outcomes(load_corpus(folder), cache, k=10)] == [1, 1, None]

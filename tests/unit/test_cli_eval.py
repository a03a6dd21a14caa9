"""`changebot eval` over the sample and the corpora, with the fake embedder."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import REPO_ROOT, write
from test_cli import Cli, flat

FIXTURE = REPO_ROOT / "tests" / "eval" / "fixture_corpus"
SAMPLE_QUESTIONS = """
questions:
  - q: "How do I request a training voucher?"
    source: orion-faq.md
  - q: "what's for lunch in the canteen?"
    answerable: false
"""
METRIC_KEYS = {
    "answerable",
    "unanswerable",
    "hit1",
    "hit3",
    "mrr",
    "contains",
    "unanswerable_abstained",
    "answerable_wrongly_abstained",
    "abstained_rate",
    "wrongly_abstained_rate",
}
MACRO_KEYS = {
    "corpora",
    "hit1",
    "hit3",
    "mrr",
    "contains",
    "abstained_rate",
    "wrongly_abstained_rate",
}
SYSTEMS = {"ours", "dense", "bm25", "tutorial"}


@pytest.fixture
def cli(tmp_path, kb, monkeypatch) -> Cli:
    return Cli(tmp_path, kb, monkeypatch)


@pytest.fixture
def sample(tmp_path):
    return write(tmp_path / "questions.yaml", SAMPLE_QUESTIONS)


@pytest.fixture
def second(tmp_path):
    folder = tmp_path / "second-corpus"
    shutil.copytree(FIXTURE, folder)
    return folder


def test_json_shape(cli, sample, second):
    result = cli(
        "eval", sample, "--knowledge", cli.kb, "--corpus", FIXTURE, "--corpus", second, "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {
        "threshold",
        "grid",
        "sample",
        "corpora",
        "macro",
        "loco",
        "errors",
        "seconds",
        "embeddings",
    }
    assert data["sample"]["in_sample"] is True
    assert data["sample"]["systems"]["ours"]["contains"] is None  # the sample has no phrases
    assert [c["name"] for c in data["corpora"]] == ["fixture_corpus", "second-corpus"]
    for corpus in [data["sample"], *data["corpora"]]:
        assert set(corpus["systems"]) == SYSTEMS
        for metrics in corpus["systems"].values():
            assert set(metrics) == METRIC_KEYS
        assert corpus["chunks"] > 0
        assert {"q", "answerable", "rank", "abstained", "contains"} <= set(corpus["questions"][0])
        assert len(corpus["calibration"]) == len(data["grid"])
    fixture = data["corpora"][0]
    assert (fixture["answerable"], fixture["unanswerable"]) == (6, 3)
    assert fixture["systems"]["ours"]["contains"] is not None
    assert fixture["systems"]["tutorial"]["unanswerable_abstained"] == 0
    assert set(data["macro"]) == SYSTEMS
    assert set(data["macro"]["ours"]) == MACRO_KEYS
    assert data["macro"]["ours"]["corpora"] == 2  # the sample is not in the macro average
    assert data["loco"] is None
    assert data["errors"] == []
    assert data["embeddings"]["reused"] > 0  # the second corpus is the same text


def test_loco_prints_held_out_figures_and_the_chosen_threshold(cli, second):
    result = cli("eval", "--no-sample", "--corpus", FIXTURE, "--corpus", second, "--loco")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "Leave-one-corpus-out" in out
    assert "fixture_corpus (0." in out and "second-corpus (0." in out
    assert "Threshold chosen on all 2 corpora together: 0." in out
    data = json.loads(
        cli(
            "eval", "--no-sample", "--corpus", FIXTURE, "--corpus", second, "--loco", "--json"
        ).stdout
    )
    assert [f["held_out"] for f in data["loco"]["folds"]] == ["fixture_corpus", "second-corpus"]
    assert set(data["loco"]["macro"]) == MACRO_KEYS
    assert data["loco"]["all_corpora_threshold"] in data["grid"]


def test_corpora_are_found_under_tests_eval_corpora(cli, tmp_path):
    shutil.copytree(FIXTURE, tmp_path / "tests" / "eval" / "corpora" / "fernhill")
    result = cli("eval", "--no-sample", "--json")
    assert result.exit_code == 0, result.output
    assert [c["name"] for c in json.loads(result.stdout)["corpora"]] == ["fernhill"]


def test_in_sample_label_and_macro_table(cli, sample):
    result = cli("eval", sample, "--knowledge", cli.kb, "--corpus", FIXTURE)
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "sample playbook (in-sample" in out
    assert "Macro average over 1 corpora (not the sample)" in out
    assert "LangChain tutorial" in out


def test_set_changes_the_threshold_for_this_run(cli):
    result = cli(
        "eval", "--no-sample", "--corpus", FIXTURE, "--set", "abstain_threshold=0.9", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["threshold"] == 0.9
    assert 0.9 in data["grid"]


@pytest.mark.parametrize("pair", ["bogus=1", "abstain_threshold", "llm=openai:x"])
def test_set_refuses_anything_but_tuned_numbers(cli, pair):
    result = cli("eval", "--no-sample", "--corpus", FIXTURE, "--set", pair)
    assert result.exit_code == 2
    assert "expected NAME=VALUE" in flat(result.stderr)


def test_set_with_a_bad_value_names_the_setting(cli):
    result = cli("eval", "--no-sample", "--corpus", FIXTURE, "--set", "abstain_threshold=lots")
    assert result.exit_code == 2
    assert "CHANGEBOT_ABSTAIN_THRESHOLD" in flat(result.stderr)


def test_a_broken_corpus_is_reported_and_the_others_are_scored(cli, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(FIXTURE, broken)
    (broken / "knowledge" / "faq.txt").unlink()
    result = cli("eval", "--no-sample", "--corpus", broken, "--corpus", FIXTURE)
    assert result.exit_code == 1
    assert "'faq.txt', which is not a file under" in flat(result.stderr)
    assert "fixture_corpus: 6 answerable + 3 unanswerable questions" in flat(result.stdout)


def test_nothing_to_evaluate_exits_2(cli, tmp_path):
    result = cli("eval", "--no-sample", "--corpus", tmp_path / "missing")
    assert result.exit_code == 2
    assert "Nothing to evaluate" in flat(result.stderr)
    assert "no such folder" in flat(result.stderr)


@pytest.mark.parametrize(("env", "expected"), [({}, 1), ({"CHANGEBOT_TORCH_THREADS": "2"}, 2)])
def test_eval_runs_torch_on_one_thread_unless_told(cli, monkeypatch, env, expected):
    import bot.container

    seen = []
    build = bot.container.Container

    def recording(settings, **kwargs):
        seen.append(settings.torch_threads)
        return build(settings, **kwargs)

    monkeypatch.setattr(bot.container, "Container", recording)
    result = cli("eval", "--no-sample", "--corpus", FIXTURE, "--json", env=env)
    assert result.exit_code == 0, result.output
    assert seen[1:] == [expected]  # the corpus's container (the first is the base one)

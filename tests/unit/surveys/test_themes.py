"""Themes: clustering, naming, the anonymity folding, changes across runs, ARI, the CLI.

The fake embedder (tests/conftest.py) is a hashed bag of words, so comments built from
one topic's words land together: the grouping is known before the test runs.
"""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest
import typer
from conftest import FakeEmbeddings, write
from typer.testing import CliRunner

from bot.cli_themes import make_eval_themes
from bot.surveys.clustering import WARD_POINTS, adjusted_rand_index, cluster
from bot.surveys.definitions import Survey
from bot.surveys.scoring import Response
from bot.surveys.suppression import cells_from_responses
from bot.surveys.theme_names import STOP_WORDS, ctfidf, name_groups, terms_of
from bot.surveys.themes import ThemeFinder, fold, people_at_least, render_text

TOPICS = {
    "parking": "parking car spaces garage permit",
    "training": "training course trainer sessions workshop",
    "laptops": "laptop battery keyboard screen charger",
    "canteen": "canteen lunch food menu coffee",
}


def comments(topic: str, n: int, start: int = 0) -> list[str]:
    """`n` distinct comments on one topic: its words plus a numbered filler word."""
    words = TOPICS[topic].split()
    return [
        f"The {words[i % 5]} and the {words[(i + 1) % 5]} {words[(i + 2) % 5]} #{start + i}"
        for i in range(n)
    ]


class Labels:
    """A labeller that reads the label from the comment: 'bad' negative, 'good' positive."""

    def label(self, text: str) -> str:
        return "negative" if "bad" in text else "positive" if "good" in text else "neutral"


def about(themes, topic: str):
    """The one shown theme whose name uses the topic's words."""
    words = set(TOPICS[topic].split())
    [found] = [t for t in themes.themes if words & {w for term in t.terms for w in term.split()}]
    return found


def finder(**kwargs) -> tuple[ThemeFinder, FakeEmbeddings]:
    fake = FakeEmbeddings()
    return ThemeFinder(embed=fake.embed_documents, analyzer=Labels(), **kwargs), fake


# -- adjusted Rand index -------------------------------------------------------------------
def test_ari_worked_out_by_hand():
    # pairs together in both: 2; rows 6, columns 3, of 15 pairs: expected 1.2, max 4.5
    truth, found = [0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]
    assert adjusted_rand_index(truth, found) == pytest.approx((2 - 1.2) / (4.5 - 1.2))


def test_ari_is_one_for_the_same_grouping_under_other_names_and_rejects_unequal_lengths():
    assert adjusted_rand_index(["a", "a", "b"], [7, 7, 3]) == pytest.approx(1.0)
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    with pytest.raises(ValueError):
        adjusted_rand_index([0, 1], [0])


def test_ari_of_a_random_grouping_is_near_zero():
    rng = random.Random(1)
    truth = [rng.randrange(5) for _ in range(2000)]
    found = [rng.randrange(5) for _ in range(2000)]
    assert abs(adjusted_rand_index(truth, found)) < 0.02


# -- clustering ----------------------------------------------------------------------------
def test_clustering_finds_the_topics_with_the_fake_embedder():
    texts = comments("parking", 8) + comments("training", 8) + comments("laptops", 8)
    truth = [0] * 8 + [1] * 8 + [2] * 8
    labels, centres = cluster(np.asarray(FakeEmbeddings().embed_documents(texts)))
    assert labels.max() + 1 == 3 and centres.shape[0] == 3
    assert adjusted_rand_index(truth, list(labels)) == pytest.approx(1.0)


def test_a_large_run_goes_through_micro_groups_and_still_finds_the_groups():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(3, 32))
    points = np.concatenate([c + 0.15 * rng.normal(size=(200, 32)) for c in centres])
    assert len(points) > WARD_POINTS
    labels, _ = cluster(points)
    assert adjusted_rand_index([0] * 200 + [1] * 200 + [2] * 200, list(labels)) > 0.99
    again, _ = cluster(points)
    assert np.array_equal(labels, again)  # seeded


def test_tiny_inputs_are_one_group():
    labels, _ = cluster(np.eye(3))
    assert list(labels) == [0, 0, 0]


# -- naming --------------------------------------------------------------------------------
def test_names_are_each_groups_distinctive_words_without_stop_words():
    groups = [
        ["The parking is a nightmare, the system says no parking permit", "parking permit again"],
        ["The training was rushed and the system is slow", "More training please"],
    ]
    parking, training = name_groups(groups)
    assert parking[0] == "parking permit" and "training" in training
    # "system" is in both groups: it weighs less than a word used as often in one group only.
    weights = ctfidf(groups)[0]
    assert weights["system"] < weights["nightmare"]
    assert name_groups(groups, limit=2)[0] == ["parking permit", "nightmare"]
    assert not {word for name in parking + training for word in name.split()} & STOP_WORDS


def test_terms_skip_stop_words_and_join_adjacent_words_into_phrases():
    # "the" breaks the phrase: "find parking" is not a term.
    assert terms_of("We can't find the Parking permit!") == [
        "find",
        "parking",
        "permit",
        "parking permit",
    ]


# -- anonymity -----------------------------------------------------------------------------
def test_fold_hides_small_groups_and_never_leaves_a_small_other():
    groups = [list(range(0, 12)), list(range(12, 23)), list(range(23, 27)), [27, 28, 29]]
    shown, other = fold(groups, threshold=10)
    # 4 + 3 = 7 would be a small Other (total minus the themes): the 11 joins it.
    assert [len(g) for g in shown] == [12] and len(other) == 18


@pytest.mark.parametrize("per_respondent", [1, 2, 3])
def test_fold_never_shows_or_leaves_a_group_below_the_threshold(per_respondent):
    """500 random groupings: every shown group and Other (the total minus the shown
    groups, so it can always be worked out) come from at least the threshold of people."""
    rng = random.Random(per_respondent)
    for _ in range(500):
        threshold = rng.randint(2, 12)
        sizes = [rng.randint(1, 40) for _ in range(rng.randint(1, 8))]
        bounds = np.cumsum([0, *sizes])
        groups = [list(range(a, b)) for a, b in itertools.pairwise(bounds)]
        shown, other = fold(groups, threshold, per_respondent)
        assert all(people_at_least(len(g), per_respondent) >= threshold for g in shown)
        if shown:
            assert not other or people_at_least(len(other), per_respondent) >= threshold
        assert sorted([*other, *(i for g in shown for i in g)]) == list(range(sum(sizes)))


def test_a_theme_that_would_narrow_to_4_people_is_not_shown():
    texts = comments("parking", 13) + comments("training", 13) + comments("laptops", 4)
    themes = finder()[0].find(texts, threshold=10)
    assert themes.shown
    assert all(theme.count >= 10 for theme in themes.themes)
    # Other would be the 4 (the total minus the themes): a 13 is folded in with them.
    assert [t.count for t in themes.themes] == [13] and themes.other == 17
    laptop_words = set(TOPICS["laptops"].split())
    for theme in themes.themes:
        assert not laptop_words & set(theme.terms)
        assert not any("laptop" in example for example in theme.examples)
    assert sum(t.count for t in themes.themes) + themes.other == 30


def test_two_text_questions_halve_the_people_a_theme_is_sure_to_come_from():
    texts = comments("parking", 14) + comments("training", 14)
    one = finder()[0].find(texts, threshold=10, per_respondent=1)
    two = finder()[0].find(texts, threshold=10, per_respondent=2)
    assert [t.count for t in one.themes] == [14, 14]
    # 14 comments may be 7 people answering two text questions: not shown on their own.
    assert not two.shown and two.other == 28
    assert people_at_least(14, 2) == 7 and people_at_least(15, 2) == 8


@pytest.mark.parametrize("released", [None, comments("parking", 9)])
def test_no_themes_when_the_report_releases_no_comments_or_too_few_wrote(released):
    themes, fake = finder()
    found = themes.find(released, threshold=10)
    assert not found.shown and not found.themes and "10 or more" in found.reason
    assert fake.texts_embedded == 0  # nothing was even embedded


def test_themes_of_a_stored_run_use_only_the_comments_the_report_releases():
    survey = Survey.model_validate(
        {
            "id": "pulse",
            "title": "Pulse",
            "intro": "Anonymous.",
            "cadence": {"weekly": {"day": "mon"}},
            "anonymity": {"scores": 3, "comments": 10},
            "questions": [
                {"id": "res", "text": "Extra work.", "type": "likert5", "dimension": "resistance"},
                {"id": "comment", "text": "Anything else?", "type": "text"},
            ],
        }
    )

    class Run:
        def __init__(self, id, status="closed"):
            self.id, self.status = id, status

    class Runs:
        def __init__(self, by_run):
            self.by_run = by_run

        def cells(self, survey, run_id, *, dimensions, comments):
            responses = [
                Response({"res": 3, "comment": text}, {"department": f"d{i % 3}"})
                for i, text in enumerate(self.by_run[run_id])
            ]
            return cells_from_responses(survey, responses, dimensions)

    runs = Runs({1: comments("parking", 9), 2: comments("parking", 12) + comments("canteen", 12)})
    themes, _ = finder()
    assert not themes.for_run(runs, survey, Run(1)).shown  # 9 answered: nothing released
    assert not themes.for_run(runs, survey, Run(2, "open")).shown
    found = themes.for_run(runs, survey, Run(2), previous_run=Run(1))
    assert found.shown and found.total == 24
    released = set(runs.by_run[2])
    assert all(set(t.examples) <= released for t in found.themes)
    assert not found.compared  # the previous run had no themes to compare with


# -- what a theme says ---------------------------------------------------------------------
def test_each_theme_has_its_count_sentiment_split_and_two_closest_comments():
    bad = [f"{text} bad" for text in comments("parking", 12)]
    good = [f"{text} good" for text in comments("canteen", 10)] + comments("canteen", 2, 50)
    themes = finder()[0].find(bad + good, threshold=10)
    parking, canteen = about(themes, "parking"), about(themes, "canteen")
    assert parking.count == 12 and parking.sentiment == {
        "negative": 12,
        "neutral": 0,
        "positive": 0,
    }
    assert canteen.sentiment == {"negative": 0, "neutral": 2, "positive": 10}
    assert len(parking.examples) == 2 and set(parking.examples) <= set(bad)
    assert parking.share == pytest.approx(12 / 24)


def test_changes_are_against_the_matching_theme_of_the_previous_run():
    themes, _ = finder()
    before = themes.find(comments("parking", 20) + comments("training", 10), threshold=10)
    now = themes.find(
        comments("parking", 12, 100) + comments("training", 15, 100) + comments("canteen", 11),
        threshold=10,
        previous=before,
    )
    assert now.compared
    parking, training = about(now, "parking"), about(now, "training")
    canteen = about(now, "canteen")
    assert parking.count_change == -8 and training.count_change == 5
    assert parking.share_change == pytest.approx(12 / 38 - 20 / 30)
    assert canteen.count_change is None  # new this run
    assert "new since the previous run" in render_text(now)


def test_a_closed_runs_themes_are_computed_once_whatever_the_order():
    themes, fake = finder()
    texts = comments("parking", 12) + comments("training", 12)
    first = themes.find(texts, threshold=10)
    shuffled = list(texts)
    random.Random(4).shuffle(shuffled)
    assert themes.find(shuffled, threshold=10) == first
    assert fake.document_calls == 1


def test_the_text_shows_names_counts_sentiment_and_other():
    texts = comments("parking", 13) + comments("training", 13) + comments("laptops", 4)
    said = render_text(finder()[0].find(texts, threshold=10))
    assert said.startswith("Themes in 30 comments")
    assert "1. " in said and " comments (" in said and "positive" in said
    assert "Other:" in said


# -- eval-themes ---------------------------------------------------------------------------
@pytest.fixture
def eval_app() -> typer.Typer:
    app = typer.Typer()
    app.command("eval-themes")(make_eval_themes(FakeEmbeddings))
    app.command("other")(lambda: None)
    return app


def _grouped(tmp_path, name="run.yaml"):
    return write(
        tmp_path / name,
        """
        groups:
          - topic: parking
            comments: {}
          - topic: training
            comments: {}
        """.format(json.dumps(comments("parking", 6)), json.dumps(comments("training", 6))),
    )


def test_eval_themes_prints_ari_and_groups_found_against_by_hand(eval_app, tmp_path):
    path = _grouped(tmp_path)
    result = CliRunner().invoke(eval_app, ["eval-themes", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["run", "comments", "by", "hand", "found", "ARI"]
    assert lines[1].split() == ["run.yaml", "12", "2", "2", "1.000"]
    assert lines[2] == "mean ARI over 1 run(s): 1.000"


def test_eval_themes_json_shape(eval_app, tmp_path):
    paths = [str(_grouped(tmp_path, "a.yaml")), str(_grouped(tmp_path, "b.yaml"))]
    result = CliRunner().invoke(eval_app, ["eval-themes", *paths, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"runs", "mean_ari"} and data["mean_ari"] == 1.0
    assert [run["file"] for run in data["runs"]] == paths
    assert set(data["runs"][0]) == {
        "file",
        "comments",
        "groups_by_hand",
        "groups_found",
        "ari",
        "names",
    }


def test_eval_themes_refuses_a_bad_file_with_what_to_fix(eval_app, tmp_path):
    bad = write(tmp_path / "bad.yaml", "groups:\n  - topic: parking\n")
    result = CliRunner().invoke(eval_app, ["eval-themes", str(bad)])
    assert result.exit_code == 2
    assert "group 1 needs a non-empty 'comments' list" in result.output

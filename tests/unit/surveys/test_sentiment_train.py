"""Leave-one-organisation-out arithmetic and model choice for the sentiment classifier."""

from __future__ import annotations

import numpy as np
import pytest

from bot.surveys import sentiment_train as st
from bot.surveys.sentiment import LABELS, load_labelled


def test_looo_holds_out_each_organisation_once():
    folds = list(st.looo_folds(4))
    assert folds == [(0, [1, 2, 3]), (1, [0, 2, 3]), (2, [0, 1, 3]), (3, [0, 1, 2])]


def test_scores_accuracy_precision_recall():
    expected = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 1, 2, 1, 0, 2, 2])
    figures = st.scores(expected, predicted)
    assert figures["accuracy"] == pytest.approx(5 / 8)
    assert figures["precision"] == pytest.approx(
        {"negative": 2 / 3, "neutral": 1 / 2, "positive": 2 / 3}
    )
    assert figures["recall"] == pytest.approx({"negative": 2 / 4, "neutral": 1 / 2, "positive": 1})
    assert figures["total"] == 8
    never = st.scores(np.array([0, 1]), np.array([1, 1]))
    assert never["precision"]["negative"] == 0.0 and never["recall"]["positive"] == 0.0


def test_macro_is_the_unweighted_mean_over_organisations():
    big = st.scores(np.array([0] * 90 + [1] * 10), np.array([0] * 90 + [1] * 10))  # all right
    small = st.scores(np.array([0, 0, 1, 1]), np.array([1, 1, 1, 1]))  # half right
    figures = st.macro([big, small])
    assert figures["accuracy"] == pytest.approx((1.0 + 0.5) / 2)  # not 96/104 pooled
    assert figures["recall"]["negative"] == pytest.approx((1.0 + 0.0) / 2)
    assert figures["precision"]["neutral"] == pytest.approx((1.0 + 0.5) / 2)
    assert figures["total"] == 104
    with pytest.raises(ValueError):
        st.macro([])


def _figures(accuracy, negative_recall):
    return {"accuracy": accuracy, "recall": {"negative": negative_recall}}


def test_choice_favours_negative_recall_only_near_the_best_accuracy():
    candidates = [
        ("best accuracy", _figures(0.82, 0.70)),
        ("close, finds more complaints", _figures(0.81, 0.85)),
        ("finds every complaint, much less accurate", _figures(0.70, 1.0)),
    ]
    assert st.choose(candidates)[0] == "close, finds more complaints"
    assert st.choose(candidates, slack=0.0)[0] == "best accuracy"
    tie = [("first", _figures(0.8, 0.8)), ("second", _figures(0.8, 0.8))]
    assert st.choose(tie)[0] == "first"


def test_fit_learns_and_the_negative_weight_finds_more_negatives():
    rng = np.random.default_rng(3)
    centres = np.array([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    y = np.repeat([0, 1, 2], 60)
    x = centres[y] + rng.normal(0, 0.45, (len(y), 2))
    for kind in ("logreg", "mlp"):
        layers, mean, scale = st.fit(x, y, kind=kind, l2=0.001, negative_weight=1.0)
        assert np.mean(st.predict_proba(layers, mean, scale, x).argmax(1) == y) > 0.8
    plain = st.fit(x, y, kind="logreg", l2=0.001, negative_weight=1.0)
    heavy = st.fit(x, y, kind="logreg", l2=0.001, negative_weight=3.0)
    negatives = [int(np.sum(st.predict_proba(*m, x).argmax(1) == 0)) for m in (plain, heavy)]
    assert negatives[1] > negatives[0]


def _organisations(count=4, size=30, seed=0):
    rng = np.random.default_rng(seed)
    organisations, matrices = [], []
    for number in range(count):
        y = rng.integers(0, 3, size)
        organisations.append(st.Organisation(f"org{number}", tuple(map(str, range(size))), y))
        matrices.append(np.eye(3)[y] * 2 + rng.normal(0, 0.6, (size, 3)))
    return organisations, matrices


def test_nested_looo_never_lets_the_reported_organisation_take_part_in_a_choice(monkeypatch):
    organisations, matrices = _organisations()
    monkeypatch.setattr(st, "L2_GRID", (0.01,))
    monkeypatch.setattr(st, "NEGATIVE_WEIGHT_GRID", (1.0, 2.0))
    choices: list[tuple[list[int], set[int]]] = []  # (indices given, features read) per choice
    real_select = st.select

    def recording_select(organisations, features, indices, kind, feature_kind):
        read: set[int] = set()

        def recorded(index, kind_):
            read.add(index)
            return features(index, kind_)

        result = real_select(organisations, recorded, indices, kind, feature_kind)
        choices.append((list(indices), read))
        return result

    monkeypatch.setattr(st, "select", recording_select)
    results = st.nested_looo(organisations, lambda i, _: matrices[i], "logreg", "embedding")
    assert len(results) == len(choices) == 4
    for held_out, (indices, read) in enumerate(choices):  # folds run in order
        assert held_out not in indices and held_out not in read
        assert read == set(indices) and len(indices) == 3
    for config, figures in results:
        assert config.negative_weight in (1.0, 2.0)
        assert config.threshold in st.THRESHOLD_GRID
        assert figures["accuracy"] > 0.7 and figures["total"] == 30


def test_shipped_organisations_are_big_enough_and_labelled():
    organisations = st.load_organisations()
    assert {o.name for o in organisations} >= {"logistics", "hospital", "bank", "public_sector"}
    for organisation in organisations:
        assert len(organisation.texts) >= 150, organisation.name
        counts = np.bincount(organisation.y, minlength=3)
        assert min(counts) >= 30, (organisation.name, dict(zip(LABELS, counts, strict=True)))
        path = st.DATA_DIR / f"{organisation.name}.yaml"
        header = path.read_text(encoding="utf-8")[:1500]
        assert "labelled by hand on 2026-12-01, BEFORE any sentiment model" in header
        assert len(load_labelled(path)) == len(set(organisation.texts))  # no duplicates

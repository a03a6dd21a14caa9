"""Training and leave-one-organisation-out (LOOO) evaluation of the sentiment classifier.

Used by ``scripts/train_sentiment.py``. Every figure it reports is held-out twice over: for each
organisation, the hyperparameters (L2 strength, negative-class weight, negative decision
threshold) are chosen by LOOO over the *other* organisations only, then a model trained on those
others labels the held-out one. The reported organisation never takes part in any choice.

The choice favours negative recall without giving up accuracy: among the settings whose pooled
inner accuracy is within ``ACCURACY_SLACK`` of the best, the one with the highest negative recall
wins (ties: higher accuracy, then the earlier setting in the grid).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from bot.surveys.sentiment import LABELS, load_labelled
from bot.surveys.sentiment_model import NEGATIVE, decide, softmax

DATA_DIR = Path(__file__).with_name("sentiment_data")
ACCURACY_SLACK = 0.02
L2_GRID = (0.003, 0.01, 0.03, 0.1, 0.3)
NEGATIVE_WEIGHT_GRID = (1.0, 1.5, 2.0)
THRESHOLD_GRID: tuple[float | None, ...] = (None, 0.25, 0.3, 0.35, 0.4)
HIDDEN = 32
STEPS = {"logreg": 300, "mlp": 300}
LEARNING_RATE = 0.03


@dataclass(frozen=True)
class Organisation:
    name: str
    texts: tuple[str, ...]
    y: np.ndarray  # label indices into LABELS


@dataclass(frozen=True)
class Config:
    kind: str  # logreg | mlp
    features: str  # embedding | embedding+vader
    l2: float
    negative_weight: float
    threshold: float | None = None


def load_organisations(folder: Path = DATA_DIR) -> list[Organisation]:
    """One Organisation per labelled YAML file in ``folder``, named after the file."""
    organisations = []
    for path in sorted(folder.glob("*.yaml")):
        labelled = load_labelled(path)
        organisations.append(
            Organisation(
                name=path.stem,
                texts=tuple(text for text, _ in labelled),
                y=np.array([LABELS.index(label) for _, label in labelled]),
            )
        )
    return organisations


def looo_folds(count: int) -> Iterator[tuple[int, list[int]]]:
    """(held-out index, training indices) for each of ``count`` organisations."""
    for held_out in range(count):
        yield held_out, [i for i in range(count) if i != held_out]


# -- metrics ---------------------------------------------------------------------------------------
def scores(expected: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy and per-label precision/recall (0.0 for a label never predicted / absent)."""
    expected, predicted = np.asarray(expected), np.asarray(predicted)
    result: dict = {
        "accuracy": float(np.mean(expected == predicted)) if len(expected) else 0.0,
        "precision": {},
        "recall": {},
        "total": len(expected),
    }
    for index, label in enumerate(LABELS):
        hits = int(np.sum((expected == index) & (predicted == index)))
        predicted_as = int(np.sum(predicted == index))
        support = int(np.sum(expected == index))
        result["precision"][label] = hits / predicted_as if predicted_as else 0.0
        result["recall"][label] = hits / support if support else 0.0
    return result


def macro(per_fold: Sequence[dict]) -> dict:
    """The unweighted mean of each figure over the folds (each organisation counts once)."""
    if not per_fold:
        raise ValueError("macro() needs at least one fold")
    return {
        "accuracy": float(np.mean([fold["accuracy"] for fold in per_fold])),
        "precision": {
            label: float(np.mean([fold["precision"][label] for fold in per_fold]))
            for label in LABELS
        },
        "recall": {
            label: float(np.mean([fold["recall"][label] for fold in per_fold])) for label in LABELS
        },
        "total": sum(fold["total"] for fold in per_fold),
    }


def choose(candidates: Sequence[tuple[object, dict]], slack: float = ACCURACY_SLACK):
    """The candidate with the best negative recall among those near the best accuracy."""
    best = max(figures["accuracy"] for _, figures in candidates)
    eligible = [(c, f) for c, f in candidates if f["accuracy"] >= best - slack - 1e-12]
    return max(
        enumerate(eligible),
        key=lambda item: (item[1][1]["recall"]["negative"], item[1][1]["accuracy"], -item[0]),
    )[1]


# -- training --------------------------------------------------------------------------------------
def fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    kind: str,
    l2: float,
    negative_weight: float,
    hidden: int = HIDDEN,
    steps: int | None = None,
    seed: int = 0,
) -> tuple[tuple[tuple[np.ndarray, np.ndarray], ...], np.ndarray, np.ndarray]:
    """Weighted softmax regression (``logreg``) or one tanh hidden layer (``mlp``), full-batch Adam.

    Classes are weighted inversely to their frequency, and negative by ``negative_weight`` more.
    Returns (layers, mean, scale): the model sees ``(x - mean) / scale``.
    """
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    h0 = (x - mean) / scale
    counts = np.bincount(y, minlength=len(LABELS)).astype(float)
    class_weight = len(y) / (len(LABELS) * np.maximum(counts, 1.0))
    class_weight[NEGATIVE] *= negative_weight
    sample_weight = class_weight[y] / class_weight[y].sum()
    target = np.eye(len(LABELS))[y]
    rng = np.random.default_rng(seed)
    sizes = [x.shape[1], len(LABELS)] if kind == "logreg" else [x.shape[1], hidden, len(LABELS)]
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        params.append(rng.normal(0, 1 / np.sqrt(fan_in), (fan_in, fan_out)))
        params.append(np.zeros(fan_out))
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    for step in range(1, (steps or STEPS[kind]) + 1):
        grads = _gradients(params, h0, target, sample_weight, l2)
        for i, (p, g) in enumerate(zip(params, grads, strict=True)):
            m, v = moments[i]
            m[:] = 0.9 * m + 0.1 * g
            v[:] = 0.999 * v + 0.001 * g * g
            p -= LEARNING_RATE * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    layers = tuple((params[i], params[i + 1]) for i in range(0, len(params), 2))
    return layers, mean, scale


def _gradients(params, h0, target, sample_weight, l2):
    activations = [h0]
    h = h0
    layer_count = len(params) // 2
    for i in range(layer_count):
        h = h @ params[2 * i] + params[2 * i + 1]
        if i < layer_count - 1:
            h = np.tanh(h)
            activations.append(h)
    delta = (softmax(h) - target) * sample_weight[:, None]
    grads = [None] * len(params)
    for i in reversed(range(layer_count)):
        grads[2 * i] = activations[i].T @ delta + l2 * params[2 * i]
        grads[2 * i + 1] = delta.sum(axis=0)
        if i:
            delta = (delta @ params[2 * i].T) * (1 - activations[i] ** 2)
    return grads


def predict_proba(layers, mean, scale, x: np.ndarray) -> np.ndarray:
    h = (x - mean) / scale
    for number, (w, b) in enumerate(layers):
        h = h @ w + b
        if number < len(layers) - 1:
            h = np.tanh(h)
    return softmax(h)


# -- model selection -----------------------------------------------------------------------------
Features = Callable[[int, str], np.ndarray]  # (organisation index, feature kind) -> matrix


def grid(kind: str, features: str) -> list[Config]:
    return [Config(kind, features, l2, weight) for l2 in L2_GRID for weight in NEGATIVE_WEIGHT_GRID]


def select(
    organisations: Sequence[Organisation],
    features: Features,
    indices: Sequence[int],
    kind: str,
    feature_kind: str,
) -> tuple[Config, dict]:
    """The setting LOOO over ``indices`` prefers (pooled held-out predictions), and its figures."""
    candidates: list[tuple[Config, dict]] = []
    for config in grid(kind, feature_kind):
        probas, expected = [], []
        for held_out, train in looo_folds(len(indices)):
            train_ids = [indices[i] for i in train]
            layers, mean, scale = _train(organisations, features, train_ids, config)
            test_id = indices[held_out]
            probas.append(predict_proba(layers, mean, scale, features(test_id, feature_kind)))
            expected.append(organisations[test_id].y)
        proba, y = np.vstack(probas), np.concatenate(expected)
        for threshold in THRESHOLD_GRID:
            candidates.append(
                (
                    Config(**{**asdict(config), "threshold": threshold}),
                    scores(y, decide(proba, threshold)),
                )
            )
    return choose(candidates)


def _train(organisations, features, train_ids, config: Config):
    x = np.vstack([features(i, config.features) for i in train_ids])
    y = np.concatenate([organisations[i].y for i in train_ids])
    return fit(x, y, kind=config.kind, l2=config.l2, negative_weight=config.negative_weight)


def nested_looo(
    organisations: Sequence[Organisation], features: Features, kind: str, feature_kind: str
) -> list[tuple[Config, dict]]:
    """Per organisation: the setting chosen without it, and that model's figures on it."""
    per_fold = []
    for held_out, train in looo_folds(len(organisations)):
        config, _ = select(organisations, features, train, kind, feature_kind)
        layers, mean, scale = _train(organisations, features, train, config)
        proba = predict_proba(layers, mean, scale, features(held_out, feature_kind))
        per_fold.append(
            (config, scores(organisations[held_out].y, decide(proba, config.threshold)))
        )
    return per_fold


def train_final(
    organisations: Sequence[Organisation], features: Features, kind: str, feature_kind: str
):
    """The shipped model: setting chosen by LOOO over all organisations, trained on all of them."""
    indices = list(range(len(organisations)))
    config, figures = select(organisations, features, indices, kind, feature_kind)
    layers, mean, scale = _train(organisations, features, indices, config)
    return config, figures, layers, mean, scale

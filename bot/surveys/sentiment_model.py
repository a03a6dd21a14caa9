"""A learned comment-sentiment classifier on the bundled MiniLM sentence embeddings.

VADER with the workplace rules (``sentiment.py``) misses most negative comments written by people
it was not tuned on: sarcasm, understatement ("can't say I'm thrilled"), complaints phrased as
requests. This classifier reads the MiniLM embedding of the comment, optionally with VADER's four
scores appended, through a small softmax model (logistic regression or one tanh hidden layer),
trained in numpy by ``scripts/train_sentiment.py`` on the labelled comments shipped in
``bot/surveys/sentiment_data/`` and saved to ``sentiment_model.npz`` next to this file.

The file holds plain arrays and one JSON string (loaded with ``allow_pickle=False``): the
weights, the feature standardisation, the negative-class decision threshold, the embedding model
it was trained on, and hashes of its training comments (so an evaluation can say when it is not
held-out). ``build_sentiment_analyzer`` returns VADER with the workplace rules, with a logged
error, when the file is missing, corrupt, or made for another embedding model.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.surveys.sentiment import LABELS, Label, Labeller, SentimentAnalyzer

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
BUNDLED_MODEL_FILE = Path(__file__).with_name("sentiment_model.npz")
KINDS = ("logreg", "mlp")
FEATURES = ("embedding", "embedding+vader")
VADER_FEATURES = ("compound", "pos", "neu", "neg")
NEGATIVE = LABELS.index("negative")
RULES_NAME = "ours (VADER + workplace rules)"
PLAIN_NAME = "plain VADER"

Embed = Callable[[list[str]], Sequence[Sequence[float]]]


class SentimentModelError(RuntimeError):
    """The classifier file cannot be used (missing, corrupt, or for another embedding model)."""


@dataclass(frozen=True)
class Weights:
    """Everything the classifier learned, as stored in the .npz file."""

    kind: str  # logreg | mlp
    features: str  # embedding | embedding+vader
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # (W, b) per layer; tanh between layers
    mean: np.ndarray
    scale: np.ndarray
    negative_threshold: float | None  # negative iff p(negative) >= this; None: plain argmax
    embedding_model: str
    info: dict[str, Any] = field(default_factory=dict)
    train_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fingerprint: str = ""  # of the file it was loaded from: stored labels can say who made them

    @property
    def name(self) -> str:
        model = "logistic regression" if self.kind == "logreg" else "MLP"
        inputs = "MiniLM + VADER" if self.features == "embedding+vader" else "MiniLM"
        return f"classifier ({model} on {inputs})"

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        h = (x - self.mean) / self.scale
        for number, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if number < len(self.layers) - 1:
                h = np.tanh(h)
        return softmax(h)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def decide(proba: np.ndarray, negative_threshold: float | None) -> np.ndarray:
    """Label indices: negative when p(negative) reaches the threshold, else the likelier other."""
    if negative_threshold is None:
        return proba.argmax(axis=1)
    others = np.where(proba[:, 1] >= proba[:, 2], 1, 2)
    return np.where(proba[:, NEGATIVE] >= negative_threshold, NEGATIVE, others)


def text_hash(text: str) -> int:
    """A stable 63-bit hash of a comment, whitespace and case folded."""
    digest = hashlib.sha256(" ".join(text.lower().split()).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def vader_features(texts: Sequence[str], vader: SentimentAnalyzer) -> np.ndarray:
    rows = [vader.polarity(text) for text in texts]
    return np.array([[row[key] for key in VADER_FEATURES] for row in rows], dtype=np.float32)


def featurize(
    texts: Sequence[str], features: str, embed: Embed, vader: SentimentAnalyzer | None
) -> np.ndarray:
    x = np.asarray(embed(list(texts)), dtype=np.float32).reshape(len(texts), -1)
    if features == "embedding+vader":
        x = np.hstack([x, vader_features(texts, vader or SentimentAnalyzer())])
    return x


# -- the file ----------------------------------------------------------------------------------
def save(weights: Weights, path: str | Path) -> None:
    meta = {
        "format": FORMAT_VERSION,
        "labels": list(LABELS),
        "kind": weights.kind,
        "features": weights.features,
        "negative_threshold": weights.negative_threshold,
        "embedding_model": weights.embedding_model,
        "info": weights.info,
    }
    arrays: dict[str, np.ndarray] = {
        "meta": np.array(json.dumps(meta, sort_keys=True)),
        "mean": weights.mean.astype(np.float32),
        "scale": weights.scale.astype(np.float32),
        "train_hashes": np.asarray(weights.train_hashes, dtype=np.int64),
    }
    for number, (w, b) in enumerate(weights.layers):
        arrays[f"w{number}"] = w.astype(np.float32)
        arrays[f"b{number}"] = b.astype(np.float32)
    with open(path, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def load(path: str | Path) -> Weights:
    """Read and check a classifier file; SentimentModelError says what is wrong with it."""
    path = Path(path)
    corrupt = f"The sentiment classifier file {path} is corrupt"
    try:
        raw = path.read_bytes()
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError as exc:
        raise SentimentModelError(f"The sentiment classifier file {path} is missing") from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise SentimentModelError(f"{corrupt}: {exc}") from exc
    try:
        weights = _checked(arrays)
    except (KeyError, TypeError, ValueError) as exc:
        raise SentimentModelError(f"{corrupt}: {exc}") from exc
    return replace(weights, fingerprint=hashlib.sha256(raw).hexdigest()[:16])


def _checked(arrays: dict[str, np.ndarray]) -> Weights:
    meta = json.loads(str(arrays["meta"]))
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        raise ValueError(f"format {meta.get('format')!r}, this version reads {FORMAT_VERSION}")
    if meta.get("labels") != list(LABELS):
        raise ValueError(f"labels {meta.get('labels')!r}, expected {list(LABELS)}")
    if meta.get("kind") not in KINDS or meta.get("features") not in FEATURES:
        raise ValueError(f"unknown model {meta.get('kind')!r} on {meta.get('features')!r}")
    threshold = meta.get("negative_threshold")
    if threshold is not None and not (isinstance(threshold, float) and 0.0 < threshold < 1.0):
        raise ValueError(f"negative_threshold {threshold!r} is not between 0 and 1")
    if not isinstance(meta.get("embedding_model"), str):
        raise ValueError("no embedding_model")
    layers = []
    number = 0
    while f"w{number}" in arrays:
        layers.append((arrays[f"w{number}"], arrays[f"b{number}"]))
        number += 1
    if len(layers) != (1 if meta["kind"] == "logreg" else 2):
        raise ValueError(f"{len(layers)} layers for a {meta['kind']} model")
    mean, scale = arrays["mean"], arrays["scale"]
    width = mean.shape
    if mean.ndim != 1 or scale.shape != width or np.any(scale <= 0):
        raise ValueError("bad feature standardisation")
    for w, b in layers:
        if w.ndim != 2 or w.shape[0] != width[0] or b.shape != (w.shape[1],):
            raise ValueError(f"layer of shape {w.shape} does not follow {width}")
        width = (w.shape[1],)
    if width != (len(LABELS),):
        raise ValueError(f"the model has {width[0]} outputs, expected {len(LABELS)}")
    if not all(np.all(np.isfinite(a)) for pair in layers for a in pair):
        raise ValueError("weights are not finite")
    return Weights(
        kind=meta["kind"],
        features=meta["features"],
        layers=tuple(layers),
        mean=mean,
        scale=scale,
        negative_threshold=threshold,
        embedding_model=meta["embedding_model"],
        info=meta.get("info") or {},
        train_hashes=arrays.get("train_hashes", np.zeros(0, dtype=np.int64)),
    )


# -- the analyzer --------------------------------------------------------------------------------
class SentimentClassifier:
    """The learned labeller, with the same ``label(text)`` as SentimentAnalyzer and a batch form.

    Args:
        weights: from ``load``.
        embed: texts -> vectors with the embedding model the weights were trained on
            (``Embeddings.embed_documents``).
        fallback: labels comments when the embedding model cannot be loaded (logged).
    """

    def __init__(
        self, *, weights: Weights, embed: Embed, fallback: SentimentAnalyzer | None = None
    ) -> None:
        self.weights = weights
        self.name = weights.name
        self.fingerprint = f"classifier:{weights.fingerprint}"
        self._embed = embed
        self._fallback = fallback or SentimentAnalyzer()

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(negative, neutral, positive) per comment."""
        x = featurize(texts, self.weights.features, self._embed, self._fallback)
        if x.shape[1] != self.weights.mean.shape[0]:
            raise SentimentModelError(
                f"The embeddings have {x.shape[1]} features, the classifier expects "
                f"{self.weights.mean.shape[0]}: it was trained on another model"
            )
        return self.weights.probabilities(x)

    def label_many(self, texts: Sequence[str]) -> list[Label]:
        if not texts:
            return []
        from bot.knowledge.embeddings import EmbeddingModelError

        try:
            proba = self.probabilities(texts)
        except (EmbeddingModelError, SentimentModelError):
            log.exception(
                "Sentiment classifier unusable; labelling %d comment(s) with VADER and the "
                "workplace rules instead",
                len(texts),
            )
            return self._fallback.label_many(texts)
        return [LABELS[i] for i in decide(proba, self.weights.negative_threshold)]

    def label(self, text: str) -> Label:
        return self.label_many([text])[0]

    def seen_in_training(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` the classifier was trained on."""
        trained = set(self.weights.train_hashes.tolist())
        return sum(text_hash(text) in trained for text in texts)


def load_classifier(
    path: str | Path,
    *,
    embed: Embed,
    embedding_model: str,
    fallback: SentimentAnalyzer | None = None,
) -> SentimentClassifier:
    weights = load(path)
    if weights.embedding_model != embedding_model:
        raise SentimentModelError(
            f"The sentiment classifier {path} was trained on the embedding model "
            f"'{weights.embedding_model}', not the configured '{embedding_model}'"
        )
    return SentimentClassifier(weights=weights, embed=embed, fallback=fallback)


def build_sentiment_analyzer(
    setting: str, *, embed: Embed, embedding_model: str
) -> SentimentClassifier | SentimentAnalyzer:
    """The analyzer a setting asks for: "bundled", "rules", or a path to a classifier file.

    A classifier that cannot be used is logged as an error, and VADER with the workplace
    rules labels the comments instead: survey results must not fail for want of a model file.
    """
    if setting == "rules":
        return SentimentAnalyzer()
    path = BUNDLED_MODEL_FILE if setting == "bundled" else Path(setting)
    try:
        return load_classifier(path, embed=embed, embedding_model=embedding_model)
    except SentimentModelError as exc:
        log.error("%s; comment sentiment falls back to VADER with the workplace rules.", exc)
        return SentimentAnalyzer()


def comparison_systems(default: Labeller) -> tuple[dict[str, Labeller], str]:
    """The systems `changebot eval-sentiment` compares, and the name of the shipped default."""
    systems: dict[str, Labeller] = {
        PLAIN_NAME: SentimentAnalyzer(use_workplace_rules=False),
        RULES_NAME: SentimentAnalyzer(),
    }
    if isinstance(default, SentimentAnalyzer):
        return systems, RULES_NAME
    name = getattr(default, "name", "default")
    systems[name] = default
    return systems, name

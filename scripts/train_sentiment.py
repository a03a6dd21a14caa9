"""Train the comment-sentiment classifier and report leave-one-organisation-out (LOOO) figures.

    python scripts/train_sentiment.py [--out bot/surveys/sentiment_model.npz] [--json FILE]

Offline: the labelled comments ship in bot/surveys/sentiment_data/ and the embedding model is the
bundled all-MiniLM-L6-v2. For each organisation, every system is scored on it after choosing its
settings by LOOO over the other organisations only (see bot/surveys/sentiment_train.py). The
family (model x features) with the best held-out macro figures (negative recall among those
within 0.02 of the best accuracy) is retrained on all organisations and saved as the shipped
classifier. The Lighthouse set (tests/eval/comments.yaml), which no classifier trains on, is
scored at the end as one more held-out organisation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

# The matrices are small: BLAS threads only spin against each other on a shared machine
# (a run took 4x longer with them). Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import BUNDLED_MODEL  # noqa: E402
from bot.knowledge.embeddings import load_sentence_transformer  # noqa: E402
from bot.surveys import sentiment_train as st  # noqa: E402
from bot.surveys.sentiment import LABELS, SentimentAnalyzer, load_labelled  # noqa: E402
from bot.surveys.sentiment_model import (  # noqa: E402
    BUNDLED_MODEL_FILE,
    PLAIN_NAME,
    RULES_NAME,
    SentimentClassifier,
    Weights,
    save,
    text_hash,
    vader_features,
)

FAMILIES = (
    ("logreg", "embedding"),
    ("logreg", "embedding+vader"),
    ("mlp", "embedding"),
    ("mlp", "embedding+vader"),
)
LIGHTHOUSE = ROOT / "tests" / "eval" / "comments.yaml"


def family_name(kind: str, features: str) -> str:
    return Weights(kind, features, (), np.zeros(1), np.ones(1), None, "").name


def row(name: str, figures: dict) -> str:
    pr = "  ".join(
        f"{figures['precision'][label]:.2f}/{figures['recall'][label]:.2f}" for label in LABELS
    )
    return f"  {name:<48}{figures['accuracy']:>6.3f}  {pr}"


def header() -> str:
    return f"  {'system':<48}{'acc':>6}  " + "  ".join(f"{label[:3]} P/R" for label in LABELS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=BUNDLED_MODEL_FILE)
    parser.add_argument("--json", type=Path, help="Also write every figure to this JSON file.")
    args = parser.parse_args()

    started = time.perf_counter()
    organisations = st.load_organisations()
    embedder = load_sentence_transformer(BUNDLED_MODEL)
    vader = SentimentAnalyzer()
    plain = SentimentAnalyzer(use_workplace_rules=False)
    embedded = [
        np.asarray(embedder.embed_documents(list(o.texts)), dtype=np.float32) for o in organisations
    ]
    vadered = [vader_features(o.texts, vader) for o in organisations]

    def features(index: int, kind: str) -> np.ndarray:
        if kind == "embedding":
            return embedded[index]
        return np.hstack([embedded[index], vadered[index]])

    print(
        f"{sum(len(o.texts) for o in organisations)} comments from {len(organisations)} "
        f"organisations: " + ", ".join(f"{o.name} ({len(o.texts)})" for o in organisations)
    )
    per_fold: dict[str, list[dict]] = {PLAIN_NAME: [], RULES_NAME: []}
    chosen: dict[str, list[dict]] = {}
    for organisation in organisations:
        for name, analyzer in ((PLAIN_NAME, plain), (RULES_NAME, vader)):
            predicted = np.array([LABELS.index(analyzer.label(t)) for t in organisation.texts])
            per_fold[name].append(st.scores(organisation.y, predicted))
    for kind, feature_kind in FAMILIES:
        name = family_name(kind, feature_kind)
        results = st.nested_looo(organisations, features, kind, feature_kind)
        per_fold[name] = [figures for _, figures in results]
        chosen[name] = [config.__dict__ for config, _ in results]
        print(f"  ... {name} done ({time.perf_counter() - started:.0f} s)", flush=True)

    for number, organisation in enumerate(organisations):
        print(f"\nHeld out: {organisation.name} ({len(organisation.texts)} comments)")
        print(header())
        for name, folds in per_fold.items():
            print(row(name, folds[number]))
    macros = {name: st.macro(folds) for name, folds in per_fold.items()}
    print("\nMacro (mean over the held-out organisations)")
    print(header())
    for name, figures in macros.items():
        print(row(name, figures))

    classifiers = [(name, macros[name]) for name in macros if name.startswith("classifier")]
    default_name, _ = st.choose(list(macros.items()))
    print(f"\nDefault by held-out macro figures: {default_name}")
    if not default_name.startswith("classifier"):
        default_name, _ = st.choose(classifiers)
        print(f"(VADER wins; the classifier file still ships: {default_name})")
    kind, feature_kind = next(f for f in FAMILIES if family_name(*f) == default_name)
    config, _, layers, mean, scale = st.train_final(organisations, features, kind, feature_kind)
    print(f"Shipped setting (LOOO over all {len(organisations)}): {config}")
    info = {
        "trained": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "organisations": {o.name: len(o.texts) for o in organisations},
        "config": config.__dict__,
        "looo_macro": macros[default_name],
    }
    weights = Weights(
        kind=kind,
        features=feature_kind,
        layers=layers,
        mean=mean,
        scale=scale,
        negative_threshold=config.threshold,
        embedding_model=BUNDLED_MODEL,
        info=info,
        train_hashes=np.array([text_hash(t) for o in organisations for t in o.texts]),
    )
    save(weights, args.out)
    print(f"Wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")

    lighthouse = {}
    if LIGHTHOUSE.exists():
        labelled = load_labelled(LIGHTHOUSE)
        y = np.array([LABELS.index(label) for _, label in labelled])
        texts = [text for text, _ in labelled]
        shipped = SentimentClassifier(weights=weights, embed=embedder.embed_documents)
        print(f"\nLighthouse set ({LIGHTHOUSE.relative_to(ROOT)}, {len(texts)}; never trained on)")
        print(header())
        for name, analyzer in ((PLAIN_NAME, plain), (RULES_NAME, vader), (default_name, shipped)):
            predicted = np.array([LABELS.index(label) for label in analyzer.label_many(texts)])
            lighthouse[name] = st.scores(y, predicted)
            print(row(name, lighthouse[name]))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "organisations": [o.name for o in organisations],
                    "per_fold": per_fold,
                    "chosen_per_fold": chosen,
                    "macro": macros,
                    "default": default_name,
                    "shipped_config": config.__dict__,
                    "lighthouse": lighthouse,
                },
                indent=2,
            )
        )
    print(f"\n{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()

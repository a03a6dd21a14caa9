"""Comment-labelling throughput of every sentiment system on this machine.

    python scripts/bench_sentiment.py [--comments 2000] [--threads 0]

Labels the shipped comments (bot/surveys/sentiment_data/, repeated up to --comments, each copy
made distinct) in one batch per system, as a report would, and times one comment at a time, as
labelling at submit time does. Prints comments/s, the per-comment latency and the machine load
(`uptime`); the target is 2,000 comments/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import BUNDLED_MODEL  # noqa: E402
from bot.knowledge.embeddings import load_sentence_transformer  # noqa: E402
from bot.surveys.sentiment import SentimentAnalyzer  # noqa: E402
from bot.surveys.sentiment_model import BUNDLED_MODEL_FILE, load_classifier  # noqa: E402
from bot.surveys.sentiment_train import load_organisations  # noqa: E402

TARGET = 2000


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=0, help="torch threads; 0 = all cores")
    parser.add_argument("--singles", type=int, default=50, help="one-at-a-time calls to time")
    args = parser.parse_args()

    base = [text for o in load_organisations() for text in o.texts]
    texts = [f"{base[i % len(base)]} ({i // len(base)})" for i in range(args.comments)]
    embedder = load_sentence_transformer(BUNDLED_MODEL, threads=args.threads)
    classifier = load_classifier(
        BUNDLED_MODEL_FILE, embed=embedder.embed_documents, embedding_model=BUNDLED_MODEL
    )
    classifier.label_many(texts[:64])  # warm up torch
    systems = {
        "plain VADER": SentimentAnalyzer(use_workplace_rules=False),
        "ours (VADER + workplace rules)": SentimentAnalyzer(),
        classifier.name: classifier,
    }
    print(f"{len(texts)} comments, torch threads {args.threads or 'default'}; {load()}")
    print(f"{'system':<52}{'comments/s':>12}{'one comment (median ms)':>26}  target")
    for name, system in systems.items():
        started = time.perf_counter()
        system.label_many(texts)
        rate = len(texts) / (time.perf_counter() - started)
        singles = []
        for text in texts[: args.singles]:
            started = time.perf_counter()
            system.label(text)
            singles.append((time.perf_counter() - started) * 1000)
        met = "met" if rate >= TARGET else "NOT met"
        print(f"{name:<52}{rate:>12,.0f}{statistics.median(singles):>26.1f}  {met}")
    print(load())


if __name__ == "__main__":
    main()

"""Benchmark: themes of one closed run with many comments, with the real bundled model.

Builds N distinct comments (default 10,000) by pairing sentences from the repository's
comment sets (tests/eval/comments.yaml and the hand-grouped runs in tests/eval/themes/),
then times `ThemeFinder.find` in phases: embedding (batched by sentence-transformers,
batch size CHANGEBOT_EMBEDDING_BATCH_SIZE's default), grouping + naming + sentiment, and
a second call on the same run (served from the per-run cache).

    .venv/bin/python scripts/bench_themes.py              # 10,000 comments
    .venv/bin/python scripts/bench_themes.py --comments 2000

`others_cores` says how many cores other processes kept busy meanwhile: a contended run
is not comparable with a quiet one. Timings are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from _synthetic import Meter, machine, quiet_libraries  # noqa: E402

from bot.config import BUNDLED_MODEL  # noqa: E402
from bot.knowledge.embeddings import load_sentence_transformer  # noqa: E402
from bot.surveys.theme_eval import load_grouped  # noqa: E402
from bot.surveys.themes import ThemeFinder  # noqa: E402
from bot.yamlfiles import safe_load  # noqa: E402


def sentences() -> list[str]:
    found = [
        text
        for path in sorted((ROOT / "tests/eval/themes").glob("*.yaml"))
        for text, _ in load_grouped(path)
    ]
    labelled = safe_load((ROOT / "tests/eval/comments.yaml").read_text(encoding="utf-8"))
    found += [item["text"] for item in labelled["comments"]]
    return found


def comments(n: int, seed: int = 7) -> list[str]:
    pool, rng, made = sentences(), random.Random(seed), set()
    while len(made) < n:
        first = rng.choice(pool)
        made.add(first if rng.random() < 0.4 else f"{first} {rng.choice(pool)}")
    return sorted(made)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--comments", type=int, default=10_000)
    args = parser.parse_args()
    quiet_libraries()
    texts = comments(args.comments)
    model = load_sentence_transformer(BUNDLED_MODEL)
    model.embed_documents(["warm up"])
    vectors: dict[str, list[list[float]]] = {}

    def embed(batch: list[str]) -> list[list[float]]:
        with Meter() as meter:
            vectors["v"] = model.embed_documents(batch)
        vectors["meter"] = meter
        return vectors["v"]

    finder = ThemeFinder(embed=embed)
    with Meter() as total:
        themes = finder.find(texts, threshold=10)
    started = time.perf_counter()
    finder.find(list(reversed(texts)), threshold=10)
    cached = time.perf_counter() - started
    embedding = vectors["meter"]
    result = {
        "comments": len(texts),
        "mean_words": round(sum(len(t.split()) for t in texts) / len(texts), 1),
        "themes_shown": len(themes.themes),
        "other": themes.other,
        "total_seconds": round(total.wall, 1),
        "embedding_seconds": round(embedding.wall, 1),
        "comments_per_second_embedding": round(len(texts) / embedding.wall),
        "grouping_naming_sentiment_seconds": round(total.wall - embedding.wall, 2),
        "cached_second_call_seconds": round(cached, 3),
        "others_cores": total.others_cores,
        "load_average": os.getloadavg(),
        "machine": machine(),
        "names": [t.name for t in themes.themes],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""What share of a month's unanswered asks would capturing the top 10 gap groups close?

For each evaluation corpus (tests/eval/corpora/<name>/: knowledge/ and questions.yaml):

1. Index the corpus with the configured embedding model (the bundled one by default) and
   ask every question once. The gap questions are the unanswerable ones (`answerable:
   false`) and the answerable ones the bot abstains on.
2. A month of traffic: each gap question is asked 1-20 times (fixed seed): its own
   wording first, then surface paraphrases (fillers, case, punctuation, a dropped word,
   a synonym, a typo). Every ask goes through the real question flow and is logged.
3. `GapFinder` groups the asks the bot abstained on, as the digest does; the top 10
   groups get a captured answer (written for the group's most asked wording).
4. Every abstained ask is asked again. It is *closed* when the answer now comes from the
   captured answer written for its own question; *wrong* when it comes from a captured
   answer written for another question.

Nothing here is tuned: the grouping distance is the setting's default. Paraphrases are
surface noise, not rewording by people, so the share is on the optimistic side for
real traffic. Usage:

    python scripts/gaps_simulation.py [CORPORA_DIR] [--seed 13] [--top 10] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from bot.config import load_settings
from bot.container import Container
from bot.questions.captured import SOURCE_PREFIX
from bot.questions.insights import ABSTAINED_KINDS

FILLERS = ["", "", "", "hi, ", "quick q: ", "does anyone know ", "hey team - ", "sorry, "]
ENDINGS = ["", "", "?", "??", " thanks", " pls", "!"]
STOPWORDS = {"the", "a", "an", "is", "are", "do", "does", "for", "to", "of", "we", "our"}
SYNONYMS = {
    "whats": "what is",
    "what's": "what is",
    "when": "what date",
    "can i": "am i allowed to",
    "get": "receive",
    "start": "begin",
    "starts": "begins",
    "who is": "who's",
    "how many": "what number of",
    "will": "is going to",
    "job": "work",
    "help": "support",
}


def noisy(question: str, rng: random.Random) -> str:
    """One surface paraphrase of `question`."""
    text = question.strip().rstrip("?!. ")
    lowered = text.lower()
    for word, other in SYNONYMS.items():
        if re.search(rf"\b{re.escape(word)}\b", lowered) and rng.random() < 0.5:
            lowered = re.sub(rf"\b{re.escape(word)}\b", other, lowered, count=1)
            break
    words = lowered.split()
    droppable = [i for i, w in enumerate(words) if w in STOPWORDS]
    if droppable and rng.random() < 0.3:
        del words[rng.choice(droppable)]
    long_words = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if long_words and rng.random() < 0.3:
        i = rng.choice(long_words)
        j = rng.randrange(len(words[i]) - 1)
        w = words[i]
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    text = " ".join(words)
    if rng.random() < 0.5:
        text = text[:1].upper() + text[1:]
    return f"{rng.choice(FILLERS)}{text}{rng.choice(ENDINGS)}".strip()


def simulate(corpus: Path, *, seed: int, top: int, data_root: Path) -> dict:
    spec = yaml.safe_load((corpus / "questions.yaml").read_text(encoding="utf-8"))
    entries = spec["questions"]
    settings = load_settings(data_dir=data_root / corpus.name, knowledge_dir=corpus / "knowledge")
    container = Container(settings)
    container.indexer.ingest(corpus / "knowledge")
    answerer, service = container.answerer, container.question_service

    gap_questions: list[str] = []
    unanswerable_answered = 0
    for entry in entries:
        kind = answerer.answer(entry["q"]).kind
        abstained = kind in ABSTAINED_KINDS
        if entry.get("answerable", True) is False:
            gap_questions.append(entry["q"])
            unanswerable_answered += not abstained
        elif abstained:
            gap_questions.append(entry["q"])

    rng = random.Random(f"{seed}:{corpus.name}")
    origin_of_interaction: dict[int, int] = {}
    asks = 0
    started = container.question_service.clock() - dt.timedelta(minutes=1)
    for origin, question in enumerate(gap_questions):
        for n in range(rng.randint(1, 20)):
            text = question if n == 0 else noisy(question, rng)
            asked = service.ask(text, user_id=f"U{n % 7}", surface="dm")
            origin_of_interaction[asked.interaction_id] = origin
            asks += 1

    groups = container.gap_finder.gaps(started)
    abstained = [  # (origin, text) of every ask the bot had no answer for
        (origin_of_interaction[i], text)
        for group in groups
        for i, text in _asked(container, group.interaction_ids)
    ]
    entry_origin: dict[str, int] = {}
    for k, group in enumerate(groups[:top]):
        votes = Counter(
            origin_of_interaction[i]
            for i, text in _asked(container, group.interaction_ids)
            if " ".join(text.split()) == group.question
        )
        entry, _ = container.captured.capture(
            question=group.question,
            answer=f"The change team's answer number {k + 1}.",
            author="USIM",
            key=f"sim:{corpus.name}:{k}",
        )
        entry_origin[entry.source] = votes.most_common(1)[0][0]

    closed = wrong = 0
    cache: dict[str, tuple[str, bool]] = {}
    for origin, text in abstained:
        if text not in cache:
            answer = answerer.answer(text)
            top_source = answer.sources[0].path if answer.sources and answer.confident else ""
            cache[text] = (top_source, answer.confident)
        top_source, confident = cache[text]
        if confident and top_source.startswith(SOURCE_PREFIX):
            if entry_origin.get(top_source) == origin:
                closed += 1
            else:
                wrong += 1
    return {
        "corpus": corpus.name,
        "gap_questions": len(gap_questions),
        "unanswerable_answered_anyway": unanswerable_answered,
        "asks": asks,
        "abstained_asks": len(abstained),
        "groups": len(groups),
        "captured": min(top, len(groups)),
        "asks_in_top_groups": sum(g.count for g in groups[:top]),
        "closed": closed,
        "wrong_captured_answer": wrong,
        "closed_share": round(closed / len(abstained), 3) if abstained else None,
    }


def _asked(container, interaction_ids: list[int]) -> list[tuple[int, str]]:
    """(interaction id, the question as asked) for each id."""
    return [(i, container.question_service.get(i).question) for i in interaction_ids]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="?", default="tests/eval/corpora", type=Path)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    corpora = sorted(p for p in args.corpora.iterdir() if (p / "questions.yaml").exists())
    if not corpora:
        print(f"No corpora (folders with questions.yaml) in {args.corpora}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="gaps-sim-") as tmp:
        for corpus in corpora:
            results.append(simulate(corpus, seed=args.seed, top=args.top, data_root=Path(tmp)))
    total_abstained = sum(r["abstained_asks"] for r in results)
    total_closed = sum(r["closed"] for r in results)
    summary = {
        "seed": args.seed,
        "top": args.top,
        "abstained_asks": total_abstained,
        "closed": total_closed,
        "wrong_captured_answer": sum(r["wrong_captured_answer"] for r in results),
        "closed_share": round(total_closed / total_abstained, 3) if total_abstained else None,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps({"corpora": results, "all": summary}, indent=2))
        return 0
    head = f"{'corpus':24} {'gapQ':>5} {'asks':>5} {'abst':>5} {'grps':>5} {'top':>5}"
    print(head + f" {'closed':>7} {'wrong':>6} {'share':>6}")
    for r in results:
        print(
            f"{r['corpus']:24} {r['gap_questions']:>5} {r['asks']:>5} {r['abstained_asks']:>5} "
            f"{r['groups']:>5} {r['asks_in_top_groups']:>5} {r['closed']:>7} "
            f"{r['wrong_captured_answer']:>6} {r['closed_share']!s:>6}"
        )
    print(
        f"all: {summary['closed']}/{summary['abstained_asks']} abstained asks closed by capturing "
        f"the top {args.top} groups per corpus = {summary['closed_share']}; "
        f"{summary['wrong_captured_answer']} got another question's captured answer "
        f"(seed {args.seed}, {summary['seconds']} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: how long `changebot surveys report` takes on a run with 100,000 responses.

Fills a fresh database with ~1,000,000 synthetic responses to the sample survey
(knowledge/surveys/change-pulse.yaml) across 10 runs, with their invitations, using
bulk inserts (executemany on SQLite, COPY on PostgreSQL). Each response row carries the
scores and comment sentiment counts that `SurveyRuns.submit` stores (computed here once
per distinct answer set and comment). Then it times exactly the work the `report`
command does for the latest closed run: find it and the previous one, sum both runs'
stored columns in SQL, count participation, fetch the releasable comments and render
the text. Each figure is printed as p50 / p95 / max over the repetitions; for
comparison, the pure-Python path (every response pulled into Python, scored by
bot.surveys.scoring and its comments labelled) is timed once.

`--backfill` stores the rows without their scores, as migration 0011 finds them, so
closing and sealing each run also times its rescoring (scores in SQL, comments labelled).

    .venv/bin/python scripts/bench_reports.py                 # SQLite file in a temp dir
    .venv/bin/python scripts/bench_reports.py --responses 100000 --runs 5    # quicker
    .venv/bin/python scripts/bench_reports.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python scripts/bench_reports.py --backfill        # rows as 0011 finds them

With --postgres everything happens in a throw-away schema that is dropped at the end.
Figures are printed, never asserted; the script exits 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402

from bot.store.db import make_engine, make_session_factory, migrate  # noqa: E402
from bot.surveys.definitions import Survey, load_surveys  # noqa: E402
from bot.surveys.reports import (  # noqa: E402
    alerts,
    build_report,
    load_reports,
    render_text,
)
from bot.surveys.runs import SurveyRuns  # noqa: E402
from bot.surveys.sentiment import SentimentAnalyzer  # noqa: E402
from bot.surveys.stored_scores import (  # noqa: E402
    SCORE_COLUMNS,
    SENTIMENT_COLUMNS,
    response_fields,
)

SECRET = b"bench-secret"
SURVEY_ID = "change-pulse"
TARGET_MS = 300.0  # whole report, p50 (issue 12)
STORED = ["scored", *SCORE_COLUMNS.values(), "comments", *SENTIMENT_COLUMNS.values()]
COLUMNS = ["id", "run_id", "respondent_key", "answers", "attributes", *STORED]
DEPARTMENTS = [
    "Data Science",
    "Engineering",
    "Finance",
    "HR",
    "Legal",
    "Logistics",
    "Marketing",
    "Operations",
    "Procurement",
    "Sales",
    "Security",
    "Support",
]
LOCATIONS = ["Leeds", "Rotterdam", "Lyon", "Austin", "Pune"]
OPENERS = ["Honestly,", "So far", "For our team", "Right now", "Overall", "This sprint", ""]
TOPICS = [
    "the model registry",
    "the feature store",
    "the new CI pipeline",
    "drift monitoring",
    "office hours",
    "the champions network",
    "migration wave 3",
    "the approval form",
    "the MLflow training",
    "GPU scheduling",
    "the docs",
    "the Beacon dashboards",
]
VERDICTS = [
    "is a game changer",
    "feels rushed",
    "is clunky and slow",
    "works smoothly",
    "needs better docs",
    "saved me hours",
    "is confusing",
    "is fine, no complaints",
    "keeps breaking",
    "could we please get more examples",
    "is better than the old way",
    "leaves me overwhelmed",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000, help="total (1,000,000)")
    parser.add_argument("--runs", type=int, default=10, help="runs they are spread over (10)")
    parser.add_argument("--participation", type=float, default=0.85, help="answered/invited")
    parser.add_argument("--comment-rate", type=float, default=0.10, help="share with a comment")
    parser.add_argument("--repeat", type=int, default=20, help="timed reports (20)")
    parser.add_argument("--by", default="department", choices=["department", "team", "location"])
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--postgres", metavar="URL", help="run on PostgreSQL instead of SQLite")
    parser.add_argument("--workdir", type=Path, help="keep the SQLite file here")
    parser.add_argument("--skip-python", action="store_true", help="skip the pure-Python timing")
    parser.add_argument(
        "--backfill", action="store_true", help="store rows unscored; sealing rescores them"
    )
    return parser.parse_args(argv)


# -- synthetic data -----------------------------------------------------------------------------
class Population:
    """People with a department, a team (40, each in one department) and a location."""

    def __init__(self, size: int, rng: random.Random) -> None:
        teams = [(f"team-{i:02d}", DEPARTMENTS[i % len(DEPARTMENTS)]) for i in range(40)]
        weights = [1 + (i % 7) for i in range(len(teams))]  # uneven team sizes
        self.people = []
        for number in range(size):
            team, department = rng.choices(teams, weights)[0]
            location = LOCATIONS[min(int(rng.expovariate(0.9)), len(LOCATIONS) - 1)]
            self.people.append(
                (f"U{number:08d}", {"department": department, "team": team, "location": location})
            )


def answer_pool(survey: Survey, run_index: int, rng: random.Random) -> dict[str, list]:
    """Per department, 512 answer sets: (JSON without the closing brace, stored scores).

    Each department has a leaning that drifts from run to run, so the figures move.
    """
    pool: dict[str, list[str]] = {}
    for number, department in enumerate(DEPARTMENTS):
        lean = 3 + 1.2 * ((number * 7 + run_index * 3) % 11 - 5) / 5  # 1.8 .. 4.2
        entries = []
        for _ in range(512):
            attitude = rng.gauss(lean, 0.8)
            answers = {}
            for question in survey.scale_questions:
                value = attitude + rng.gauss(0, 0.7)
                if question.dimension == "resistance":
                    value = 6 - value
                if question.reverse:
                    value = 6 - value
                answers[question.id] = min(5, max(1, round(value)))
            fields = response_fields(survey, answers, LABELLER)
            entries.append((json.dumps(answers)[:-1], [fields[name] for name in STORED]))
        pool[department] = entries
    return pool


def generate(args: argparse.Namespace, survey: Survey):
    """Yields (run index, due date, invitations, responses) with rows ready for insert."""
    rng = random.Random(args.seed)
    per_run = args.responses // args.runs
    invited_count = round(per_run / args.participation)
    population = Population(invited_count, rng)
    first = dt.date(2026, 1, 6)
    for index in range(args.runs):
        due = first + dt.timedelta(days=14 * index)
        opens = dt.datetime.combine(due, dt.time(), dt.UTC) - dt.timedelta(hours=14)
        pool = answer_pool(survey, index, rng)
        answered = set(rng.sample(range(invited_count), per_run))
        yield index, due, opens, population, answered, pool, rng


def comment(rng: random.Random) -> str:
    return f"{rng.choice(OPENERS)} {rng.choice(TOPICS)} {rng.choice(VERDICTS)}".strip()


LABELLER = SentimentAnalyzer()
_LABELS: dict[str, str] = {}


def with_comment(stored: list, text: str) -> list:
    """The stored columns of an answer set plus one comment, labelled as submit would."""
    label = _LABELS.get(text) or _LABELS.setdefault(text, LABELLER.label(text))
    row = list(stored)
    row[STORED.index("comments")] = json.dumps([text])
    position = STORED.index(SENTIMENT_COLUMNS[label])
    row[position] = row[position] + 1
    return row


# -- loading --------------------------------------------------------------------------------------
def load(engine, runs: SurveyRuns, survey: Survey, args: argparse.Namespace) -> dict[str, float]:
    started = time.perf_counter()
    spent = defaultdict(float)
    postgres = engine.dialect.name == "postgresql"
    total = 0
    for index, due, opens, population, answered, pool, rng in generate(args, survey):
        closes = opens + dt.timedelta(days=survey.response_window_days, hours=26)
        run, _ = runs.create_run(survey, due, [], opens_at=opens, closes_at=closes)
        if getattr(args, "backfill", False):
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE survey_runs SET scored_with = NULL WHERE id = :id"), {"id": run.id}
                )
        t0 = time.perf_counter()
        invitations, responses = [], []
        for number, (user, attributes) in enumerate(population.people):
            did = number in answered
            invitations.append((run.id, user, opens, True, None))
            if not did:
                continue
            body, stored = rng.choice(pool[attributes["department"]])
            if rng.random() < args.comment_rate:
                said = comment(rng)
                body += ", " + json.dumps({"comment": said})[1:-1]
                stored = with_comment(stored, said)
            if getattr(args, "backfill", False):
                stored = [None] * (len(STORED) - 3) + [0, 0, 0]
            key = hmac.new(SECRET, f"{run.id}:{user}".encode(), hashlib.sha256).hexdigest()
            responses.append(
                (
                    uuid.UUID(int=rng.getrandbits(128)).hex,
                    run.id,
                    key,
                    body + "}",
                    json.dumps(attributes),
                    *stored,
                )
            )
        t1 = time.perf_counter()
        spent["generate"] += t1 - t0
        (_copy if postgres else _executemany)(engine, invitations, responses)
        spent["insert"] += time.perf_counter() - t1
        total += len(responses)
        print(
            f"  run {index + 1}/{args.runs} due {due}: {len(invitations):,} invited, "
            f"{len(responses):,} responses",
            flush=True,
        )
    t0 = time.perf_counter()
    closed = runs.close_due(opens)  # all but the newest run, which stays open as in real use
    spent["close and seal, per run"] = (time.perf_counter() - t0) / max(1, len(closed))
    t0 = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    spent["analyze"] = time.perf_counter() - t0
    spent["total"] = time.perf_counter() - started
    spent["responses"] = total
    return spent


def _sqlite_time(value: dt.datetime | None) -> str | None:
    # The format SQLAlchemy's SQLite DateTime type writes (UTC wall time).
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _executemany(engine, invitations: list[tuple], responses: list[tuple]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.executemany(
            "INSERT INTO survey_invitations (run_id, user_id, invited_at, delivered, "
            "reminded_at) VALUES (?, ?, ?, ?, ?)",
            [(run, user, _sqlite_time(at), 1, None) for run, user, at, _, _ in invitations],
        )
        cursor.executemany(
            f"INSERT INTO survey_responses ({', '.join(COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in COLUMNS)})",
            responses,
        )
        raw.commit()
    finally:
        raw.close()


def _copy(engine, invitations: list[tuple], responses: list[tuple]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(
            "COPY survey_invitations (run_id, user_id, invited_at, delivered, reminded_at) "
            "FROM STDIN"
        ) as copy:
            for row in invitations:
                copy.write_row(row)
        with cursor.copy(f"COPY survey_responses ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in responses:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()


# -- timing ---------------------------------------------------------------------------------------
class TimedRuns(SurveyRuns):
    """SurveyRuns that adds up the time spent in each database call."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spent: dict[str, float] = defaultdict(float)

    def _add(self, name: str, started: float) -> None:
        self.spent[name] += time.perf_counter() - started

    def cells(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return super().cells(*args, **kwargs)
        finally:
            kind = "this run: aggregate + comments" if kwargs.get("comments") else "summary"
            self._add("previous run: aggregate" if kind == "summary" else kind, started)

    def participation(self, run_id: int):
        started = time.perf_counter()
        try:
            return super().participation(run_id)
        finally:
            self._add("participation (both runs)", started)

    def latest_closed_run(self, survey_id: str):
        started = time.perf_counter()
        try:
            return super().latest_closed_run(survey_id)
        finally:
            self._add("find the runs", started)

    def previous_closed_run(self, survey_id: str, before_run_id: int):
        started = time.perf_counter()
        try:
            return super().previous_closed_run(survey_id, before_run_id)
        finally:
            self._add("find the runs", started)


class TimedAnalyzer:
    """The default sentiment analyzer, timed and counted (a report should not call it)."""

    def __init__(self) -> None:
        self.analyzer = LABELLER
        self.spent = 0.0
        self.calls = 0

    def label(self, text: str) -> str:
        started = time.perf_counter()
        self.calls += 1
        try:
            return self.analyzer.label(text)
        finally:
            self.spent += time.perf_counter() - started


def report_once(runs: TimedRuns, survey: Survey, by: str) -> tuple[dict[str, float], str]:
    """What `changebot surveys report <id> --by <by>` does, minus printing."""
    runs.spent.clear()
    analyzer = runs.labeller
    analyzer.spent, analyzer.calls = 0.0, 0
    started = time.perf_counter()
    run = runs.latest_closed_run(survey.id) or runs.open_run(survey.id)
    previous_run = runs.previous_closed_run(survey.id, run.id)
    # As the `report` command calls it: no analyzer, the stored labels are counted.
    result, before = load_reports(runs, survey, run, previous_run, by=by, rng=random.Random(1))
    rendering = time.perf_counter()
    text_out = render_text(result)
    alerts(result, before, rise_points=10, min_participation=0.6)
    done = time.perf_counter()
    figures = {
        "report, wall time": done - started,
        "  without sentiment": done - started - analyzer.spent,
        "  database part": rendering - started - analyzer.spent,
        "  sentiment labelling": analyzer.spent,
        "labelled": analyzer.calls,
        "  render + alerts": done - rendering,
        "queries:": None,
        **{f"  {name}": seconds for name, seconds in sorted(runs.spent.items())},
        "comments": len(result.comments),
    }
    return figures, text_out


def python_path(runs: SurveyRuns, survey: Survey, by: str) -> dict[str, float]:
    """For comparison: every response of the run pulled into Python and scored there."""
    run = runs.latest_closed_run(survey.id)
    started = time.perf_counter()
    responses = runs.responses(run.id)
    fetched = time.perf_counter()
    build_report(
        survey, run, responses, by=by, participation=runs.participation(run.id), analyzer=LABELLER
    )
    done = time.perf_counter()
    return {"fetch": fetched - started, "score": done - fetched, "total": done - started}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    survey = load_surveys(REPO / "knowledge" / "surveys").surveys[SURVEY_ID]
    schema = None
    tempdir = None
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(args.postgres)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in args.postgres else "?"
        engine = make_engine(f"{args.postgres}{separator}options=-csearch_path%3D{schema}")
        where = f"PostgreSQL, schema {schema}"
    else:
        folder = args.workdir or Path(tempfile.mkdtemp(prefix="bench-reports-"))
        tempdir = None if args.workdir else folder
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "bench.db"
        if path.exists():
            path.unlink()
        engine = make_engine(f"sqlite:///{path}")
        where = f"SQLite {path}"
    try:
        migrate(engine)
        runs = TimedRuns(
            session_factory=make_session_factory(engine),
            secret=SECRET,
            surveys=lambda: {survey.id: survey},
            labeller=TimedAnalyzer(),
        )
        print(
            f"Loading {args.responses:,} responses over {args.runs} runs into {where} "
            f"(participation {args.participation:.0%}, comments {args.comment_rate:.0%}) ..."
        )
        loaded = load(engine, runs, survey, args)
        rate = loaded["responses"] / loaded["insert"]
        print(
            f"Loaded {int(loaded['responses']):,} responses in {loaded['total']:.1f} s "
            f"(generate {loaded['generate']:.1f} s, insert {loaded['insert']:.1f} s = "
            f"{rate:,.0f} responses/s with their invitations, ANALYZE {loaded['analyze']:.1f} s; "
            f"closing and sealing a run took {loaded['close and seal, per run']:.1f} s)"
        )
        if not args.postgres:
            print(f"Database file: {path.stat().st_size / 1e6:,.0f} MB")
        report_once(runs, survey, args.by)  # warm-up: caches, the sentiment lexicon
        samples = [report_once(runs, survey, args.by)[0] for _ in range(args.repeat)]
        per_run = args.responses // args.runs
        print(
            f"\n`report {SURVEY_ID} --by {args.by}` on a run of {per_run:,} responses "
            f"({samples[0]['comments']:,} comments released), {args.repeat} repetitions:"
        )
        print(f"  {'':<34}{'p50':>11}{'p95':>11}{'max':>11}")
        for name in samples[0]:
            if name in ("comments", "labelled"):
                continue
            if samples[0][name] is None:
                print(f"  {name}")
                continue
            values = [sample[name] for sample in samples]
            print(f"  {name:<34}{ms(statistics.median(values))}{ms(p95(values))}{ms(max(values))}")
        labelled = sum(sample["labelled"] for sample in samples)
        print(f"  comments labelled during the reports: {labelled}")
        walls = [sample["report, wall time"] for sample in samples]
        p50 = statistics.median(walls)
        verdict = "within" if p50 * 1000 <= TARGET_MS else "over"
        print(f"  whole report p50 is {verdict} the {TARGET_MS:.0f} ms target")
        busy = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(
            json.dumps(
                {
                    "database": engine.dialect.name,
                    "responses_in_run": per_run,
                    "p50_ms": round(p50 * 1000, 1),
                    "p95_ms": round(p95(walls) * 1000, 1),
                    "labelled": labelled,
                    "load": busy,
                }
            )
        )
        if not args.skip_python:
            baseline = python_path(runs, survey, args.by)
            print(
                "\nPure-Python path once, for comparison: "
                f"fetch {ms(baseline['fetch']).strip()}, score {ms(baseline['score']).strip()}, "
                f"total {ms(baseline['total']).strip()}"
            )
        busy = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(
            f"\nMachine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
            f"load average {busy} (other processes' work slows every figure)"
        )
    finally:
        engine.dispose()
        if schema is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
            print(f"Dropped schema {schema}")
        if tempdir is not None:
            for leftover in tempdir.iterdir():
                leftover.unlink()
            tempdir.rmdir()


if __name__ == "__main__":
    main()

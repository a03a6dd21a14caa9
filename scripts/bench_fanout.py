"""Benchmark: fan one campaign out to N people through the delivery worker, with a crash.

A local Slack Web API emulator (tests/slack_emulator.py) runs in this process and fails a
random share of chat.postMessage and conversations.open calls (2% HTTP 429 with
Retry-After: 1, 1% HTTP 500). N envelopes for one campaign are enqueued in a SQLite
database in a temp dir; the delivery worker (bot.delivery.worker.DeliveryWorker, built like
bot.container builds it, at --rate messages per second) runs in a child process. When about
half the rows are sent, the child is SIGKILLed; a fresh child recovers the interrupted rows
(Outbox.recover_interrupted: they are checked against conversations.history before any
resend) and drains the outbox. Then the outcome is read from the emulator and the database:

    N           recipients enqueued
    sent        outbox rows with status sent
    failed      outbox rows with status failed (the worker gave up or Slack said no)
    lost        recipients with no successful chat.postMessage and not failed   (must be 0)
    duplicated  recipients with more than one successful chat.postMessage for
                their delivery key                                              (must be 0)
    429s, 500s  failures the emulator injected (all methods)
    elapsed     first worker start -> nothing pending (restart included)
    floor       N / rate; elapsed / floor should be <= 1.3
    max_rate_per_s  most successful chat.postMessage calls in any one-second window
                (should stay <= 1.05 x rate)

Before the run, the emulator's own capacity is probed with one sequential client (one
conversations.open + one chat.postMessage per row, no database); if it cannot answer --rate
rows per second, the rate is lowered to what it sustains and the script says so.

    .venv/bin/python scripts/bench_fanout.py            # 10,000 recipients at 200/s
    .venv/bin/python scripts/bench_fanout.py --quick    # 1,000 recipients
    .venv/bin/python scripts/bench_fanout.py --rate 100 --p429 0 --p500 0
    .venv/bin/python scripts/bench_fanout.py --limiter database   # the shared budget in SQLite

Nothing leaves 127.0.0.1 (proxy variables are removed from the worker's environment).
Figures are printed, never asserted — the last line is the same figures as JSON; exit 0.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "tests"))

from slack_emulator import SlackEmulator  # noqa: E402
from slack_sdk import WebClient  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.delivery.outbox import FAILED, PENDING, SENDING, SENT, Envelope, Outbox  # noqa: E402
from bot.delivery.worker import METADATA_EVENT, DeliveryWorker  # noqa: E402
from bot.store.db import make_engine, make_session_factory, migrate  # noqa: E402
from bot.store.models import OutboxMessage  # noqa: E402

TOKEN = "xoxb-bench-fanout"
REDIS_URL = os.environ.get("CHANGEBOT_REDIS_URL") or "redis://127.0.0.1:6379/0"
TARGET_RATIO = 1.3  # issue 12 (from 8.9-9.1x when a 429 paused the whole token bucket)
CHAOS_METHODS = ("chat.postMessage", "conversations.open")
PROXY_VARIABLES = frozenset(
    {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"}
)


def log(message: str) -> None:
    print(f"[bench_fanout] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------- child processes
def local_only_env() -> dict[str, str]:
    """The environment for children: slack_sdk reads *_PROXY itself and ignores NO_PROXY."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(*args: str) -> subprocess.Popen:
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    command += ["--spawned-at", repr(time.time())]
    return subprocess.Popen(command, env=local_only_env(), stdout=subprocess.PIPE, text=True)


def last_json_line(text: str) -> dict:
    for line in reversed((text or "").strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {}


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "reached Slack before the restart" in record.getMessage():
            self.count += 1


def make_limiter(kind: str, db_url: str, rate: float, sessions):
    """None (the worker's in-process default), or a budget shared through the database or Redis."""
    from bot.delivery.limiter import DatabaseBudget, RedisBudget, SharedLimiter

    if kind == "database":
        return SharedLimiter(DatabaseBudget(sessions), rate=rate)
    if kind == "redis":
        prefix = f"changebot:bench:{Path(db_url).parent.name}:"
        return SharedLimiter(RedisBudget.from_url(REDIS_URL, prefix=prefix), rate=rate)
    return None


def worker_main(
    db_url: str, base_url: str, rate: float, spawned_at: float, limiter: str, concurrency: int
) -> int:
    """Child entry point: recover what a crash left in `sending`, then drain the outbox."""
    logging.basicConfig(level=logging.WARNING, format="[worker %(process)d] %(message)s")
    found_in_history = _Count()
    worker_log = logging.getLogger("bot.delivery.worker")
    worker_log.setLevel(logging.INFO)
    worker_log.addHandler(found_in_history)
    sessions = make_session_factory(make_engine(db_url))
    outbox = Outbox(session_factory=sessions)
    # As bot.container builds it: a plain WebClient (the worker handles 429 itself).
    client = WebClient(token=TOKEN, base_url=base_url)
    shared = make_limiter(limiter, db_url, rate, sessions)
    worker = DeliveryWorker(
        outbox=outbox,
        client=client,
        rate_per_second=rate,
        limiter=shared,
        concurrency=concurrency,
    )
    recovered = outbox.recover_interrupted()  # what DeliveryWorker.start() does first
    startup = time.time() - spawned_at  # interpreter start, imports, recovery
    ready = time.monotonic()
    worker.drain()
    done = {"recovered": recovered, "found_in_history": found_in_history.count}
    done |= {"startup_s": round(startup, 3), "drain_s": round(time.monotonic() - ready, 3)}
    print(json.dumps(done), flush=True)
    return 0


def probe_main(base_url: str, seconds: float) -> int:
    """Child entry point: one sequential client, open + post per row, as fast as it can.

    Prints the rows answered in each one-second window; the machine may be shared, so the
    caller takes the best window as the emulator's capacity.
    """
    client = WebClient(token=TOKEN, base_url=base_url)
    metadata = {"event_type": METADATA_EVENT, "event_payload": {"delivery": "probe"}}
    windows, rows = [], 0
    for _ in range(max(1, round(seconds))):
        count, started = 0, time.monotonic()
        while time.monotonic() - started < 1.0:
            channel = client.conversations_open(users=f"UPROBE{rows}")["channel"]["id"]
            client.chat_postMessage(channel=channel, text="probe", metadata=metadata)
            count, rows = count + 1, rows + 1
        windows.append(count / (time.monotonic() - started))
    print(json.dumps({"rows_per_s": windows}), flush=True)
    return 0


def probe_emulator(seconds: float = 3.0) -> float:
    """Rows per second (2 calls each) one sequential client gets out of a fresh emulator."""
    with SlackEmulator() as emulator:
        child = spawn("--probe", "--base-url", emulator.base_url, "--seconds", str(seconds))
        out, _ = child.communicate(timeout=60)
    return max(last_json_line(out).get("rows_per_s") or [0.0])


# ------------------------------------------------------------------------- the benchmark
def status_counts(outbox: Outbox, campaign: str) -> Counter:
    return Counter(outbox.counts(campaign))


def run(args: argparse.Namespace) -> dict:
    n = args.recipients
    rate = args.rate
    capacity = probe_emulator() if not args.no_probe else 0.0
    if capacity:
        log(f"emulator capacity: {capacity:.0f} rows/s ({2 * capacity:.0f} req/s), one client")
        if capacity < rate and not args.keep_rate:
            new_rate = max(10.0, float(int(capacity * 0.9) // 10 * 10))
            log(f"WARNING: the emulator cannot sustain {rate:g}/s; using {new_rate:g}/s instead")
            rate = new_rate
    campaign = f"bench-fanout-{int(time.time())}"
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'changebot.db'}"
        engine = make_engine(db_url)
        migrate(engine)
        sessions = make_session_factory(engine)
        outbox = Outbox(session_factory=sessions)
        envelopes = [
            Envelope(f"U{i:07d}", {"text": f"Change update {i}: please read the new playbook."})
            for i in range(n)
        ]
        enqueue_started = time.monotonic()
        enqueued = outbox.enqueue(campaign, envelopes)
        enqueue_s = time.monotonic() - enqueue_started
        log(f"enqueued {enqueued} rows in {enqueue_s:.2f}s; db {db_url}")

        with SlackEmulator() as emulator:
            for offset, method in enumerate(CHAOS_METHODS):
                emulator.chaos(
                    method,
                    p429=args.p429,
                    p500=args.p500,
                    retry_after=args.retry_after,
                    seed=args.seed + offset,
                )
            figures = drive(args, outbox, emulator, campaign, db_url, n, rate)
            time.sleep(0.2)  # let the last answers be recorded
            calls = emulator.calls
        rows = read_rows(sessions, campaign)
        engine.dispose()

    posts = Counter()
    for call in calls:
        if call.method == "chat.postMessage" and call.ok:
            metadata = call.params.get("metadata") or {}
            if metadata.get("event_type") == METADATA_EVENT:
                posts[(metadata.get("event_payload") or {}).get("delivery")] += 1
    statuses = Counter(status for _key, status in rows)
    lost = sum(1 for key, status in rows if posts[key] == 0 and status != FAILED)
    duplicated = sum(1 for key, _status in rows if posts[key] > 1)
    injected = Counter((c.method, c.status) for c in calls if c.status in (429, 500))
    n429 = sum(v for (_m, status), v in injected.items() if status == 429)
    n500 = sum(v for (_m, status), v in injected.items() if status == 500)
    floor = n / rate
    elapsed = figures.pop("elapsed_s")
    pauses = n429 * args.retry_after
    peak = peak_rate(c.time for c in calls if c.method == "chat.postMessage" and c.ok)
    return {
        "N": n,
        "sent": statuses[SENT],
        "failed": statuses[FAILED],
        "lost": lost,
        "duplicated": duplicated,
        "429s": n429,
        "500s": n500,
        "elapsed_s": round(elapsed, 2),
        "floor_s": round(floor, 2),
        "ratio": round(elapsed / floor, 3),
        "target_ratio": TARGET_RATIO,
        "rate": rate,
        "rate_requested": args.rate,
        "pending_left": statuses[PENDING] + statuses[SENDING],
        "injected_by_method": {f"{m} {s}": v for (m, s), v in sorted(injected.items())},
        "retry_after_pause_s": pauses,
        "floor_plus_pauses_s": round(floor + pauses, 2),
        "ratio_vs_floor_plus_pauses": round(elapsed / (floor + pauses), 3),
        "max_rate_per_s": peak,
        "limiter": args.limiter,
        "concurrency": args.concurrency,
        "history_calls": sum(1 for c in calls if c.method == "conversations.history"),
        "api_calls": len(calls),
        "emulator_capacity_rows_per_s": round(capacity, 1),
        "enqueue_s": round(enqueue_s, 2),
        **figures,
    }


def drive(args, outbox, emulator, campaign, db_url, n, rate) -> dict:
    """Worker 1 until ~half is sent, SIGKILL, worker 2 (recover + drain) until nothing is due."""
    worker_args = ("--worker", "--db", db_url, "--base-url", emulator.base_url, "--rate", str(rate))
    worker_args += ("--limiter", args.limiter, "--concurrency", str(args.concurrency))
    kill_at = max(1, int(n * args.kill_at))
    deadline = time.monotonic() + args.timeout
    started = time.monotonic()
    figures: dict = {"killed": False, "restarts": 0, "crashes": 0, "timed_out": False}
    child = spawn(*worker_args)
    last_report = started
    while child.poll() is None:
        counts = status_counts(outbox, campaign)
        if counts[SENT] >= kill_at:
            os.kill(child.pid, signal.SIGKILL)
            child.communicate()
            killed_at = time.monotonic()
            figures |= {"killed": True, "killed_at_s": round(killed_at - started, 2)}
            figures["sent_at_kill"] = status_counts(outbox, campaign)[SENT]
            interrupted = interrupted_keys(outbox, campaign)  # final: the writer is dead
            break
        if time.monotonic() > deadline:
            os.kill(child.pid, signal.SIGKILL)
            child.communicate()
            break
        if time.monotonic() - last_report >= 10:
            last_report = time.monotonic()
            log(f"{last_report - started:6.1f}s  {dict(counts)}")
        time.sleep(0.1)  # counting 10,000 rows 50 times a second took CPU from the worker
    else:
        out, _ = child.communicate()
        if child.returncode != 0:
            figures["crashes"] += 1
        figures["worker_1"] = last_json_line(out)
    if figures["killed"]:
        figures["interrupted_rows"] = len(interrupted)
        log(
            f"SIGKILL at {figures['killed_at_s']}s with {figures['sent_at_kill']} sent; "
            f"{len(interrupted)} rows left in 'sending'"
        )

    while not figures["timed_out"]:
        counts = status_counts(outbox, campaign)
        if counts[PENDING] + counts[SENDING] == 0:
            break
        if time.monotonic() > deadline:
            figures["timed_out"] = True
            log("timed out; giving up with rows still pending")
            break
        figures["restarts"] += 1
        child = spawn(*worker_args)
        while child.poll() is None and time.monotonic() < deadline:
            if time.monotonic() - last_report >= 10:
                last_report = time.monotonic()
                log(f"{last_report - started:6.1f}s  {dict(status_counts(outbox, campaign))}")
            time.sleep(0.1)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate()
        if child.returncode != 0:
            figures["crashes"] += 1
            log(f"worker exited with {child.returncode}")
            if figures["crashes"] > 3:
                break
        figures[f"worker_{figures['restarts'] + 1}"] = last_json_line(out)
    figures["elapsed_s"] = time.monotonic() - started
    if figures["killed"]:  # posts that reached the emulator before the kill
        posted = {
            (c.params.get("metadata") or {}).get("event_payload", {}).get("delivery")
            for c in emulator.successful_calls("chat.postMessage")
            if c.time < killed_at + 0.25  # the next worker needs ~0.5 s to start
        }
        figures["interrupted_already_in_slack"] = len(interrupted & posted)
    return figures


def interrupted_keys(outbox: Outbox, campaign: str) -> set[str]:
    with outbox.sessions() as session:
        return set(
            session.scalars(
                select(OutboxMessage.key).where(
                    OutboxMessage.campaign == campaign, OutboxMessage.status == SENDING
                )
            )
        )


def read_rows(sessions, campaign: str) -> list[tuple[str, str]]:
    with sessions() as session:
        query = select(OutboxMessage.key, OutboxMessage.status)
        result = session.execute(query.where(OutboxMessage.campaign == campaign))
        return [(key, status) for key, status in result]


def peak_rate(times) -> int:
    """The most successful posts seen in any one-second window."""
    ordered, best, start = sorted(times), 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] > 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def report(result: dict) -> None:
    width = 30
    lines = [
        ("N (recipients)", result["N"]),
        ("sent", result["sent"]),
        ("failed", result["failed"]),
        ("lost (must be 0)", result["lost"]),
        ("duplicated (must be 0)", result["duplicated"]),
        ("429s injected", result["429s"]),
        ("500s injected", result["500s"]),
        ("elapsed s", f"{result['elapsed_s']:.2f}"),
        (f"floor s (N / {result['rate']:g}/s)", f"{result['floor_s']:.2f}"),
        ("elapsed / floor", f"{result['ratio']:.3f}x (target <= {TARGET_RATIO}x)"),
        ("", ""),
        ("rows still pending", result["pending_left"]),
        ("SIGKILLed at s / sent", f"{result.get('killed_at_s')} / {result.get('sent_at_kill')}"),
        ("rows left in 'sending'", result.get("interrupted_rows")),
        ("  of them already in Slack", result.get("interrupted_already_in_slack")),
        ("conversations.history calls", result["history_calls"]),
        ("worker restarts / crashes", f"{result['restarts']} / {result['crashes']}"),
        ("Retry-After pauses s", result["retry_after_pause_s"]),
        ("elapsed / (floor + pauses)", f"{result['ratio_vs_floor_plus_pauses']:.3f}x"),
        ("max posts in any 1 s", f"{result['max_rate_per_s']} (<= {1.05 * result['rate']:g})"),
        ("limiter", result["limiter"]),
        ("emulator capacity rows/s", result["emulator_capacity_rows_per_s"]),
        ("API calls answered", result["api_calls"]),
    ]
    for label, value in lines:
        print(f"{label:<{width}} {value}" if label else "")
    first = ("sent", "lost", "duplicated", "elapsed_s", "floor_s", "ratio", "max_rate_per_s")
    print(json.dumps({key: result[key] for key in first} | result, sort_keys=False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", "-n", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 recipients")
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second")
    parser.add_argument("--p429", type=float, default=0.02, help="share of calls answered 429")
    parser.add_argument("--p500", type=float, default=0.01, help="share of calls answered 500")
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--kill-at", type=float, default=0.5, help="share sent before SIGKILL")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up after (s)")
    parser.add_argument("--no-probe", action="store_true", help="skip the capacity probe")
    parser.add_argument("--keep-rate", action="store_true", help="never lower --rate")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="rows in flight at once in the worker (CHANGEBOT_DELIVERY_CONCURRENCY, default 4)",
    )
    parser.add_argument(
        "--limiter",
        choices=("memory", "database", "redis"),
        default="memory",
        help="the worker's send budget: in process (default), shared in the database or Redis",
    )
    # internal entry points for the child processes
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=3.0, help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        spawned_at = args.spawned_at or time.time()
        return worker_main(
            args.db, args.base_url, args.rate, spawned_at, args.limiter, args.concurrency
        )
    if args.probe:
        return probe_main(args.base_url, args.seconds)
    if args.quick:
        args.recipients = 1_000
    report(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

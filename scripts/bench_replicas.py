"""Benchmark: two `changebot run --http` replicas on PostgreSQL send one campaign, one is
SIGKILLed half-way and restarted.

The local Slack Web API emulator (tests/slack_emulator.py) runs in this process and fails
2 % of chat.postMessage and conversations.open calls with HTTP 429 (Retry-After: 1) and
1 % with HTTP 500. N DMs (one campaign, as a survey or an update queues them) are put in
the outbox of a throw-away schema; two replicas (real child processes, the tests' fake
embedder, tests/replica_bed.py) drain it at CHANGEBOT_DELIVERY_RATE = --rate. When half
are sent, replica b is SIGKILLed and started again. Figures, from the emulator and the
database:

    sent            outbox rows sent
    lost            recipients with no successful post and not failed      (target 0)
    duplicated      recipients with more than one successful post           (target 0)
    elapsed_s       all rows queued -> nothing pending
    floor_s         N / rate                    ratio = elapsed / floor     (target <= 1.3)
    max_rate_per_s  most successful posts in any one-second window, both replicas together
                                                                    (target <= 1.05 x rate)

    CHANGEBOT_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        .venv/bin/python scripts/bench_replicas.py            # 10,000 people at 50/s
    ... scripts/bench_replicas.py --quick                     # 1,000 people

Printed, never asserted; the last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(1, str(REPO / "tests"))

from replica_bed import POSTGRES_URL_VAR, Replica, empty_schema  # noqa: E402
from slack_emulator import SlackEmulator  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.delivery.outbox import FAILED, PENDING, SENDING, SENT, Envelope, Outbox  # noqa: E402
from bot.delivery.worker import METADATA_EVENT  # noqa: E402
from bot.store.db import make_engine, make_session_factory, migrate  # noqa: E402
from bot.store.models import OutboxMessage  # noqa: E402

CHAOS_METHODS = ("chat.postMessage", "conversations.open")
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


def log(message: str) -> None:
    print(f"[bench_replicas] {message}", file=sys.stderr, flush=True)


def peak_rate(times) -> int:
    """The most events in any one-second window."""
    ordered, best, start = sorted(times), 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] > 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def run(args: argparse.Namespace) -> dict:
    url = args.database_url or os.environ.get(POSTGRES_URL_VAR)
    if not url:
        raise SystemExit(f"Set {POSTGRES_URL_VAR} (or --database-url) to a PostgreSQL server.")
    for name in PROXY_VARIABLES:
        os.environ.pop(name, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    n, rate = args.recipients, args.rate
    campaign = f"bench-replicas-{int(time.time())}"
    with (
        empty_schema(url) as schema_url,
        tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp,
        SlackEmulator() as slack,
    ):
        root = Path(tmp)
        (root / "kb").mkdir()
        engine = make_engine(schema_url)
        migrate(engine)
        outbox = Outbox(session_factory=make_session_factory(engine))
        for offset, method in enumerate(CHAOS_METHODS):
            slack.chaos(method, p429=args.p429, p500=args.p500, retry_after=1, seed=7 + offset)

        def replica(name: str) -> Replica:
            return Replica(
                name,
                root=root,
                database_url=schema_url,
                slack=slack,
                kb=root / "kb",
                CHANGEBOT_DELIVERY_RATE=rate,
                CHANGEBOT_LOG_LEVEL="WARNING",
            ).start()

        a, b = replica("a"), replica("b")
        a.wait_healthy(timeout=120)
        b.wait_healthy(timeout=120)
        log(f"replicas up (pids {a.pid}, {b.pid}); queueing {n} DMs at {rate:g}/s")
        figures: dict = {"timed_out": False}
        envelopes = [
            Envelope(f"U{i:07d}", {"text": f"Change update {i}: please read the new playbook."})
            for i in range(n)
        ]
        queued_at = time.monotonic()
        outbox.enqueue(campaign, envelopes)
        started = time.monotonic()
        figures["enqueue_s"] = round(started - queued_at, 2)
        killed_at = None
        last_report = started
        try:
            while True:
                counts = Counter(outbox.counts(campaign))
                if killed_at is None and counts[SENT] >= n * args.kill_at:
                    b.kill()
                    killed_at = time.monotonic()
                    figures["killed_at_s"] = round(killed_at - started, 2)
                    figures["sent_at_kill"] = counts[SENT]
                    log(f"SIGKILL replica b at {figures['killed_at_s']} s, {counts[SENT]} sent")
                    b = replica("b")
                if counts[PENDING] + counts[SENDING] == 0:
                    break
                if time.monotonic() - started > args.timeout:
                    figures["timed_out"] = True
                    break
                if time.monotonic() - last_report >= 10:
                    last_report = time.monotonic()
                    log(f"{last_report - started:6.1f}s  {dict(counts)}")
                time.sleep(0.05)
            elapsed = time.monotonic() - started
            time.sleep(0.5)  # the last answers recorded
        finally:
            for one in (a, b):
                one.stop()  # (a SIGTERM to this script leaves them running: kill their pids)
        calls = list(slack.calls)
        with outbox.sessions() as session:
            rows = session.execute(
                select(OutboxMessage.key, OutboxMessage.status).where(
                    OutboxMessage.campaign == campaign
                )
            ).all()
        engine.dispose()

    posts: Counter = Counter()
    post_times = []
    for call in calls:
        if call.method == "chat.postMessage" and call.ok:
            metadata = call.params.get("metadata") or {}
            if metadata.get("event_type") == METADATA_EVENT:
                posts[(metadata.get("event_payload") or {}).get("delivery")] += 1
                post_times.append(call.time)
    statuses = Counter(status for _key, status in rows)
    injected = Counter(c.status for c in calls if c.status in (429, 500))
    floor = n / rate
    peak = peak_rate(post_times)
    return {
        "N": n,
        "replicas": 2,
        "rate": rate,
        "sent": statuses[SENT],
        "failed": statuses[FAILED],
        "lost": sum(1 for key, status in rows if posts[key] == 0 and status != FAILED),
        "duplicated": sum(1 for key, _status in rows if posts[key] > 1),
        "429s": injected[429],
        "500s": injected[500],
        "elapsed_s": round(elapsed, 2),
        "floor_s": round(floor, 2),
        "ratio": round(elapsed / floor, 3),
        "max_rate_per_s": peak,
        "max_rate_vs_configured": round(peak / rate, 3),
        "pending_left": statuses[PENDING] + statuses[SENDING],
        **figures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", "-n", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="1,000 people")
    parser.add_argument("--rate", type=float, default=50.0, help="CHANGEBOT_DELIVERY_RATE")
    parser.add_argument("--p429", type=float, default=0.02)
    parser.add_argument("--p500", type=float, default=0.01)
    parser.add_argument("--kill-at", type=float, default=0.5, help="share sent before SIGKILL")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--database-url", help=f"PostgreSQL (default: ${POSTGRES_URL_VAR})")
    args = parser.parse_args(argv)
    if args.quick:
        args.recipients = 1_000
    result = run(args)
    for key in ("N", "sent", "lost", "duplicated", "elapsed_s", "floor_s", "ratio"):
        print(f"{key:<16} {result[key]}")
    print(f"{'max_rate_per_s':<16} {result['max_rate_per_s']} (configured {args.rate:g}/s)")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

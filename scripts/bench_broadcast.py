"""Benchmark: the leader's side of an update to N people (no Slack, no worker).

Times what a leader waits for, on SQLite in a temp dir (or PostgreSQL with --postgres):

    send      resolve "everyone" (N people in the directory), queue N DMs + 1 channel post
              in the outbox, index the update with the bundled embedding model
    stats     the /broadcast status figures for that update
    remind    queue a reminder to everyone who has not acknowledged (70% of N)
    edit      new text: one chat.update row per delivered copy (N + reminders + channel)
    recall    one chat.delete row per copy, the rest cancelled, removed from the index

Between send and stats, every copy is marked delivered with one SQL UPDATE (what the
delivery worker would have recorded; bench_fanout.py measures the sending itself) and
30% of the people acknowledge through Broadcasts.acknowledge.

    .venv/bin/python scripts/bench_broadcast.py               # 10,000 people
    .venv/bin/python scripts/bench_broadcast.py -n 1000
    .venv/bin/python scripts/bench_broadcast.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

Figures are printed, never asserted; the last line is the same figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import _synthetic  # noqa: E402,F401 - offline model settings
from sqlalchemy import text, update  # noqa: E402

from bot.broadcasts.service import Audience, Draft, post_campaign  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.container import Container  # noqa: E402
from bot.store.models import OutboxMessage  # noqa: E402


def timed(figures: dict, name: str, action):
    started = time.perf_counter()
    result = action()
    figures[f"{name}_s"] = round(time.perf_counter() - started, 3)
    print(f"{name:>8}: {figures[f'{name}_s']:.3f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="people in the directory")
    parser.add_argument("--postgres", help="a PostgreSQL URL (its tables are emptied first)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), database_url=args.postgres or None)
        container = Container(settings)
        if args.postgres:
            with container.engine.begin() as connection:
                for table in ("broadcast_audit", "broadcast_acks", "broadcast_questions"):
                    connection.execute(text(f"DELETE FROM {table}"))
                connection.execute(text("DELETE FROM broadcasts"))
                connection.execute(text("DELETE FROM outbox"))
                connection.execute(text("DELETE FROM people"))
        container.directory.sync(
            {"id": f"U{i:07d}", "real_name": f"Person {i}", "tz": "Europe/Amsterdam"}
            for i in range(args.n)
        )
        container.embeddings.embed_query("warm up")  # the model load is not the leader's wait
        broadcasts = container.broadcasts
        figures: dict = {"n": args.n, "database": "postgresql" if args.postgres else "sqlite"}
        draft = Draft(
            submission_key="bench",
            author="ULEADER",
            title="MLOps platform go-live moves to 9 March",
            body="The go-live of the MLOps platform moves from 2 March to *9 March*. " * 5,
            audience=Audience(channels=("C0000001",), everyone=True),
            ask_ack=True,
        )
        update_, _ = broadcasts.create(draft)
        timed(figures, "send", lambda: broadcasts.send(update_.id))
        with container.session_factory.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.campaign == post_campaign(update_.id))
                .values(status="sent", channel_id="D" + OutboxMessage.recipient, message_ts="1.0")
            )
        for i in range(0, args.n, 10):
            for j in range(3):
                if i + j < args.n:
                    broadcasts.acknowledge(update_.id, f"U{i + j:07d}")
        stats = timed(figures, "stats", lambda: broadcasts.stats(update_.id))
        figures["acknowledged"] = stats.acknowledged
        outcome = timed(figures, "remind", lambda: broadcasts.remind(update_.id, "ULEADER"))
        figures["reminded"] = outcome.count
        with container.session_factory.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.campaign.startswith(post_campaign(update_.id) + "/remind-"))
                .values(status="sent", channel_id="D" + OutboxMessage.recipient, message_ts="2.0")
            )
        outcome = timed(
            figures,
            "edit",
            lambda: broadcasts.edit(
                update_.id, "ULEADER", title="MLOps go-live: 9 March", body="Now 9 March."
            ),
        )
        figures["edited_copies"] = outcome.count
        outcome = timed(figures, "recall", lambda: broadcasts.recall(update_.id, "ULEADER"))
        figures["deleted_copies"] = outcome.count
        print(json.dumps(figures))


if __name__ == "__main__":
    main()

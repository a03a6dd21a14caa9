"""Two workers on one outbox, a worker starting while another is mid-send, a DM channel
remembered twice at once, a database that goes away for two seconds: every message is
sent exactly once, and nothing is left in `sending`.

Each worker gets its own engine, as a second process would (the bot and `changebot
survey run --now`, or two replicas), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
import time

import pytest
from delivery_bed import (
    assert_each_sent_once,
    engine_maker,
    in_threads,
    known_dm_channels,
    people,
    posts_per_key,
    wait_until,
    worker_on,
)
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.delivery.outbox import Outbox
from bot.store.db import make_session_factory


@pytest.fixture
def engines(db_engine):
    with engine_maker(db_engine) as another:
        yield another


# -- the claim ----------------------------------------------------------------------------
def test_two_workers_draining_one_outbox_send_each_of_150_people_once(engines, slack):
    """The issue's race: `survey run --now` drained the outbox while the bot's worker did
    too, and 13 of 150 people got the invitation twice (SQLite ignores SKIP LOCKED)."""
    cli, bot = worker_on(engines(), slack, batch_size=5), worker_on(engines(), slack, batch_size=5)
    known_dm_channels(bot.outbox, 150)
    assert bot.outbox.enqueue("pulse-1", people(150)) == 150
    in_threads(lambda: cli.drain(timeout=60), lambda: bot.drain(timeout=60))
    assert_each_sent_once(slack, bot.outbox, "pulse-1", 150)


def test_a_worker_starting_up_leaves_a_live_workers_messages_alone(engines, slack):
    """Issue 12: a second replica (or a rolling deploy) starting while the first is
    mid-send reset every row the first had claimed, and 12 of 20 people got two DMs."""
    first = worker_on(engines(), slack, rate=8, batch_size=50)
    known_dm_channels(first.outbox, 20)
    first.outbox.enqueue("pulse-2", people(20))
    first.start()
    second = None
    try:
        wait_until(lambda: len(posts_per_key(slack)) >= 3, timeout=10, what="the first DMs")
        second = worker_on(engines(), slack, rate=8, batch_size=50)
        second.start()  # recovers interrupted rows first: there are none, the first is alive
        wait_until(
            lambda: first.outbox.counts("pulse-2") == {"sent": 20}, timeout=20, what="all 20"
        )
        time.sleep(0.3)  # anything sent twice would have landed by now
    finally:
        first.stop()
        if second is not None:
            second.stop()
    assert_each_sent_once(slack, first.outbox, "pulse-2", 20)


# -- one row's failure, a database outage -------------------------------------------------
def test_remembering_a_dm_channel_twice_at_once_never_fails(engines):
    """Two workers open the same person's DM at the same moment; both cache it."""
    outboxes = [Outbox(session_factory=make_session_factory(engines())) for _ in range(4)]
    start = threading.Barrier(len(outboxes))

    def remember(outbox):
        def run():
            for n in range(30):
                start.wait(timeout=10) if n == 0 else None
                outbox.remember_dm_channel(f"U{n}", f"D{n}")

        return run

    in_threads(*(remember(outbox) for outbox in outboxes))
    assert outboxes[0].dm_channel("U29") == "D29"


def test_two_workers_opening_the_same_peoples_dms_at_once_strand_nothing(engines, slack):
    """Look-up, conversations.open, insert: when the other worker inserted in between, the
    IntegrityError aborted the batch and left the rest of it in `sending`."""
    first, second = worker_on(engines(), slack), worker_on(engines(), slack)
    first.outbox.enqueue("broadcast-1", people(30))
    first.outbox.enqueue("pulse-3", people(30))
    in_threads(lambda: first.drain(timeout=60), lambda: second.drain(timeout=60))
    sent = posts_per_key(slack)
    assert len(sent) == 60 and set(sent.values()) == {1}
    assert first.outbox.counts() == {"sent": 60}


def test_one_rows_database_error_does_not_strand_the_rest_of_the_batch(engines, slack):
    worker = worker_on(engines(), slack)
    worker.outbox.enqueue("pulse-3", people(8))
    remember = worker.outbox.remember_dm_channel

    def remember_failing_once(user_id, channel_id):
        if user_id == "U0002":
            raise IntegrityError("INSERT INTO dm_channels", {}, ValueError("UNIQUE constraint"))
        remember(user_id, channel_id)

    worker.outbox.remember_dm_channel = remember_failing_once
    worker.drain(timeout=20)
    assert_each_sent_once(slack, worker.outbox, "pulse-3", 8)


class Outage:
    """Every statement on `engine` fails with OperationalError while it lasts."""

    def __init__(self, engine) -> None:
        self.until = 0.0
        self.failed = 0
        event.listen(engine, "before_cursor_execute", self._check)

    def start(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def _check(self, conn, cursor, statement, parameters, context, executemany):
        if time.monotonic() < self.until:
            self.failed += 1
            raise OperationalError(statement, parameters, ConnectionError("database is down"))


def test_a_two_second_database_outage_delays_delivery_and_loses_nothing(engines, slack):
    """The issue: a 2-second outage left 9 of 20 DMs unsent 20 s later."""
    engine = engines()
    outage = Outage(engine)
    worker = worker_on(engine, slack, rate=5, batch_size=50)
    worker.outbox.enqueue("pulse-4", people(20))
    worker.start()
    try:
        wait_until(lambda: len(posts_per_key(slack)) >= 4, timeout=10, what="the first DMs")
        outage.start(2.0)
        time.sleep(2.0)
        wait_until(
            lambda: worker.outbox.counts("pulse-4") == {"sent": 20},
            timeout=15,
            what="all 20 to be recorded as sent",
        )
    finally:
        worker.stop()
    assert outage.failed > 0, "the outage did not hit the worker"
    assert_each_sent_once(slack, worker.outbox, "pulse-4", 20)

"""Leases on claimed messages: a worker that died has its messages taken over (checked
against the DM history first), a live one never does, and a worker that cannot renew its
lease stops sending before anyone else may take over. Connections killed mid-send on
PostgreSQL lose and double nothing."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from delivery_bed import (
    assert_each_sent_once,
    engine_maker,
    known_dm_channels,
    people,
    posts_per_key,
    wait_until,
    worker_on,
)
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.delivery.leases import Heartbeats, gone_locally, new_worker_id
from bot.delivery.outbox import Outbox
from bot.store.db import make_engine, make_session_factory
from bot.store.models import OutboxMessage

CLAIM_AND_HANG = """
import sys, time
from bot.delivery.outbox import Outbox
from bot.store.db import make_engine, make_session_factory
outbox = Outbox(session_factory=make_session_factory(make_engine(sys.argv[1])), lease_seconds=3600)
print(len(outbox.claim(100)), flush=True)
time.sleep(120)
"""


@pytest.fixture
def engines(db_engine):
    with engine_maker(db_engine) as another:
        yield another


def statuses(outbox: Outbox) -> dict[str, str]:
    with outbox.sessions() as session:
        rows = session.query(OutboxMessage.key, OutboxMessage.status, OutboxMessage.last_error)
        return {key: f"{status} {error}".strip() for key, status, error in rows}


def test_a_worker_killed_on_this_machine_has_its_messages_taken_back_at_once(db_engine):
    """A bot restarted after a crash need not wait for the (hour-long) lease."""
    outbox = Outbox(session_factory=make_session_factory(db_engine), lease_seconds=3600)
    outbox.enqueue("pulse-5", people(5))
    url = db_engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIM_AND_HANG, url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "5"
        assert outbox.recover_interrupted() == 0  # alive: its messages are its own
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert outbox.recover_interrupted() == 5
    assert set(statuses(outbox).values()) == {"pending unverified: worker stopped mid-send"}


def test_only_processes_on_this_machine_can_be_known_gone():
    me = new_worker_id()
    assert not gone_locally(me)
    host, _pid, token = me.rsplit(":", 2)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert gone_locally(f"{host}:{child.pid}:{token}")
    assert not gone_locally(f"elsewhere#0123456789ab:{child.pid}:{token}")
    assert not gone_locally("not a worker id")


def test_a_running_worker_takes_over_a_dead_workers_messages_after_the_lease(engines, slack):
    first = engines()
    dead = Outbox(session_factory=make_session_factory(first), lease_seconds=1.5)
    dead.worker_id = "elsewhere#0123456789ab:4242:dead00"  # another machine: lease decides
    known_dm_channels(dead, 6)
    dead.enqueue("pulse-6", people(6))
    assert len(dead.claim(10)) == 6  # ... and then that machine lost power
    survivor = worker_on(engines(), slack, rate=50)
    survivor.outbox.lease = dead.lease
    survivor.lease_seconds = 1.5  # beats (and recovery) every 0.375 s
    survivor.start()
    try:
        wait_until(
            lambda: survivor.outbox.counts("pulse-6") == {"sent": 6}, timeout=15, what="takeover"
        )
    finally:
        survivor.stop()
    assert_each_sent_once(slack, survivor.outbox, "pulse-6", 6)
    # Each was looked for in the DM history before it was posted.
    assert len(slack.calls_to("conversations.history")) == 6


def test_a_worker_that_cannot_renew_its_lease_stops_before_another_takes_over(engines, slack):
    """The database refuses one worker's renewals (its leases run out) while another worker
    is fine: the first must not post what the second will take over."""
    stuck = worker_on(engines(), slack, rate=4, batch_size=50)
    stuck.outbox.lease = lease = dt.timedelta(seconds=2)
    stuck.lease_seconds = 2

    def refuse():
        raise OperationalError("UPDATE outbox", {}, ConnectionError("database is down"))

    stuck.outbox.renew_leases = refuse
    known_dm_channels(stuck.outbox, 20)
    stuck.outbox.enqueue("pulse-7", people(20))
    other = worker_on(engines(), slack, rate=50, batch_size=50)  # overtakes the stuck one
    other.outbox.lease = lease
    other.lease_seconds = 2
    stuck.start()
    try:
        wait_until(lambda: posts_per_key(slack), timeout=10, what="the stuck worker's first DM")
        other.start()
        wait_until(
            lambda: stuck.outbox.counts("pulse-7") == {"sent": 20}, timeout=30, what="all 20"
        )
        time.sleep(0.5)
    finally:
        stuck.stop()
        other.stop()
    assert_each_sent_once(slack, stuck.outbox, "pulse-7", 20)


def test_a_stopped_worker_signs_off_and_a_live_one_is_seen(db_engine):
    heartbeats = Heartbeats(session_factory=make_session_factory(db_engine))
    heartbeats.beat("host#x:1:aa", "bot")
    heartbeats.beat("host#x:2:bb", "cli")
    assert [w for w, _ in heartbeats.live(role="bot", within=60)] == ["host#x:1:aa"]
    heartbeats.leave("host#x:1:aa")
    assert heartbeats.live(role="bot", within=60) == []


@pytest.mark.postgres
def test_connections_killed_mid_send_lose_and_double_nothing(db_engine, slack):
    """PostgreSQL terminates the worker's connections over and over for two seconds."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    name = f"changebot-test-{uuid.uuid4().hex[:8]}"
    url = db_engine.url.update_query_dict({"application_name": name})
    engine = make_engine(url.render_as_string(hide_password=False))
    admin = create_engine(db_engine.url.render_as_string(hide_password=False))
    worker = worker_on(engine, slack, rate=10, batch_size=50)
    worker.outbox.enqueue("pulse-8", people(20))
    stop = threading.Event()

    def kill_connections():
        while not stop.is_set():
            with admin.begin() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name"
                    ),
                    {"name": name},
                )
            time.sleep(0.1)

    worker.start()
    killer = threading.Thread(target=kill_connections)
    try:
        wait_until(lambda: len(posts_per_key(slack)) >= 3, timeout=10, what="the first DMs")
        killer.start()
        time.sleep(2.0)
        stop.set()
        killer.join()
        wait_until(
            lambda: worker.outbox.counts("pulse-8") == {"sent": 20}, timeout=20, what="all 20"
        )
    finally:
        stop.set()
        worker.stop()
        engine.dispose()
        admin.dispose()
    assert_each_sent_once(slack, worker.outbox, "pulse-8", 20)


def test_the_worker_id_names_host_and_process():
    host, pid, token = new_worker_id().rsplit(":", 2)
    assert int(pid) == os.getpid() and len(token) == 6 and "#" in host

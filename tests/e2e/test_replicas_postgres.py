"""Several `changebot run --http` processes on one PostgreSQL database behave like one bot:
one scheduler lease, jobs run by its holder only, a takeover when the holder dies or
freezes, a scheduled update posted once, start-up together on an empty database.

Real child processes (tests/replica_bed.py), the local Slack emulator, a 3 s lease.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from replica_bed import (
    Replica,
    TcpProxy,
    empty_schema,
    lease_holder,
    pid_of,
    postgres_url,
    through,
    wait_until,
)
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.postgres

PROBE = "replica-probe"  # an every-second job: its runs show which replica runs jobs


@pytest.fixture
def database():
    with empty_schema(postgres_url()) as url:
        engine = create_engine(url)
        yield url, engine
        engine.dispose()


@pytest.fixture
def replicas(tmp_path, database, slack, kb):
    url, _ = database
    started: list[Replica] = []

    def start(name: str, **env) -> Replica:
        replica = Replica(name, root=tmp_path, database_url=url, slack=slack, kb=kb, **env)
        started.append(replica.start())
        return replica

    yield start
    for replica in started:
        if replica.process is not None and replica.process.poll() is None:
            try:
                replica.process.send_signal(signal.SIGCONT)
            except ProcessLookupError:
                pass
        replica.stop()


def shared_job_store(engine) -> BackgroundScheduler:
    """A paused scheduler on the replicas' job store: what a follower's looks like."""
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=engine)})
    scheduler.start(paused=True)
    return scheduler


def add_probe(engine) -> None:
    scheduler = shared_job_store(engine)
    scheduler.add_job("os:getpid", "interval", seconds=1, id=PROBE, name=PROBE)
    scheduler.shutdown(wait=False)


def probe_runs(replica: Replica) -> int:
    return replica.log().count(f'Running job "{PROBE} ')


def both_up(start) -> tuple[Replica, Replica]:
    a, b = start("a"), start("b")
    a.wait_healthy()
    b.wait_healthy()
    return a, b


def leader_and_follower(engine, a: Replica, b: Replica) -> tuple[Replica, Replica]:
    pid = wait_until(
        lambda: pid_of(lease_holder(engine)), timeout=15, what="a replica to take the lease"
    )
    assert pid in {a.pid, b.pid}
    return (a, b) if pid == a.pid else (b, a)


def test_two_replicas_hold_one_lease_and_only_its_holder_runs_jobs(database, replicas):
    _, engine = database
    a, b = both_up(replicas)
    leader, follower = leader_and_follower(engine, a, b)
    add_probe(engine)
    wait_until(lambda: probe_runs(leader) >= 4, timeout=20, what="the leader to run the probe")
    time.sleep(3)  # several renewals of the 3 s lease
    assert pid_of(lease_holder(engine)) == leader.pid
    assert probe_runs(follower) == 0, follower.log()[-3000:]
    assert "holds the scheduler lease" in leader.log()
    assert "holds the scheduler lease" not in follower.log()
    for replica in (leader, follower):
        assert "JobLookupError" not in replica.log()
        assert "The scheduler hit an error" not in replica.log()


def test_the_follower_takes_over_from_a_killed_or_frozen_leader(database, replicas):
    _, engine = database
    a, b = both_up(replicas)
    first, second = leader_and_follower(engine, a, b)
    add_probe(engine)
    wait_until(lambda: probe_runs(first) >= 2, timeout=20, what="the first leader's probe")

    # Frozen (a long pause, a hung VM): its process exists, so only the lease's expiry
    # (3 s) hands the jobs over.
    os.kill(first.pid, signal.SIGSTOP)
    frozen_at = time.monotonic()
    wait_until(
        lambda: pid_of(lease_holder(engine)) == second.pid,
        timeout=15,
        what="the follower to take the lease",
    )
    took = time.monotonic() - frozen_at
    # The last renewal was at most 1 s before the freeze; 4 s of slack for a loaded machine.
    assert 2.0 <= took <= 3 + 1 + 4, f"took over after {took:.1f} s (lease 3 s, renewal 1 s)"
    wait_until(lambda: probe_runs(second) >= 2, timeout=15, what="the new leader's probe")

    # Thawed, the old leader learns it lost the lease and runs nothing more.
    before = probe_runs(first)
    os.kill(first.pid, signal.SIGCONT)
    wait_until(lambda: "Lost the scheduler lease" in first.log(), timeout=10, what="the old leader")
    time.sleep(3)
    assert probe_runs(first) == before, first.log()[-3000:]
    assert pid_of(lease_holder(engine)) == second.pid

    # Killed: a process on this machine that no longer exists is taken over at once.
    second.kill()
    killed_at = time.monotonic()
    wait_until(
        lambda: pid_of(lease_holder(engine)) == first.pid,
        timeout=15,
        what="the old leader to take the lease back",
    )
    assert time.monotonic() - killed_at <= 3
    runs = probe_runs(first)
    wait_until(lambda: probe_runs(first) >= runs + 2, timeout=15, what="the probe on it again")


def test_a_scheduled_update_is_posted_once_with_two_replicas_up(
    database, replicas, make_container, slack
):
    url, engine = database
    a, b = both_up(replicas)
    leader, follower = leader_and_follower(engine, a, b)
    slack.channels["C200"] = {"name": "mlops-rollout"}

    # A leader schedules an update through a third process (a follower's scheduler).
    from bot.broadcasts.service import Audience, Draft

    container = make_container(
        database_url=url,
        slack_bot_token="xoxb-test",
        slack_api_url=slack.base_url,
    )
    container.__dict__["scheduler"] = shared_job_store(container.engine)
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=3)
    title = "Replica town hall"
    update, created = container.broadcasts.create(
        Draft(
            submission_key="replica-1",
            author="ULEAD",
            title=title,
            body="Thursday at 10:00.",
            audience=Audience(channels=("C200",)),
            send_at=at,
        )
    )
    assert created
    container.scheduler.shutdown(wait=False)

    def posted() -> list:
        return [
            call
            for call in slack.calls_to("chat.postMessage")
            if call.ok and call.params.get("channel") == "C200" and title in str(call.params)
        ]

    wait_until(posted, timeout=30, what="the scheduled update in C200")
    time.sleep(4)  # the every-second poll of both replicas, a lease renewal or two
    assert len(posted()) == 1
    job = f"send_scheduled_broadcast (trigger: date[{at:%Y-%m-%d %H:%M:%S}"
    assert f'Running job "{job}' not in follower.log()
    assert leader.log().count(f'Running job "{job}') == 1
    assert container.broadcasts.get(update.id).status == "sent"
    for replica in (leader, follower):
        assert "JobLookupError" not in replica.log()


# -- PostgreSQL not there at start, gone for a few seconds mid-send ------------------------
def dms(slack, text: str) -> dict[str, int]:
    found: dict[str, int] = {}
    for call in slack.calls_to("chat.postMessage"):
        if call.ok and call.params.get("text") == text:
            channel = call.params["channel"]
            found[channel] = found.get(channel, 0) + 1
    return found


def test_a_replica_waits_for_postgres_then_sends_what_was_queued_once(
    database, tmp_path, slack, kb, make_container
):
    from bot.delivery.outbox import Envelope

    url, _ = database
    people = [f"U{n}" for n in range(1, 41)]
    slack.users.update({user: {"id": user, "real_name": user} for user in people})
    queued = make_container(database_url=url).outbox
    first, later = "queued while the database was down", "sent through a short outage"
    queued.enqueue("test-1", [Envelope(user, {"text": first}) for user in people[:5]])

    proxy = TcpProxy(("127.0.0.1", make_url(url).port or 5432))
    replica = Replica(
        "a",
        root=tmp_path,
        database_url=through(url, proxy),
        slack=slack,
        kb=kb,
        CHANGEBOT_DELIVERY_RATE=8,
    ).start()
    try:
        wait_until(
            lambda: "is not answering" in replica.log(), timeout=30, what="the waiting message"
        )
        time.sleep(3)
        assert replica.process.poll() is None, replica.log()[-3000:]  # waiting, not crashing
        assert "trying again in" in replica.log()
        assert dms(slack, first) == {}

        proxy.up()
        replica.wait_healthy(timeout=60)
        wait_until(lambda: len(dms(slack, first)) == 5, timeout=30, what="the queued DMs")
        assert dms(slack, first) == {f"D{user}": 1 for user in people[:5]}

        # A few seconds without the database in the middle of sending 35 DMs at 8/s.
        queued.enqueue("test-2", [Envelope(user, {"text": later}) for user in people[5:]])
        wait_until(lambda: len(dms(slack, later)) >= 5, timeout=30, what="sending to start")
        proxy.down()
        time.sleep(3)
        during = len(dms(slack, later))
        proxy.up()
        wait_until(lambda: len(dms(slack, later)) == 35, timeout=60, what="every DM after it")
        time.sleep(2)
        assert dms(slack, later) == {f"D{user}": 1 for user in people[5:]}
        assert during < 35, "the outage came too late to mean anything"
        assert queued.counts("test-2") == {"sent": 35}
        assert replica.process.poll() is None
    finally:
        replica.stop()
        proxy.down()


# -- one bot across replicas: event de-duplication, the keyword index ----------------------
def test_a_retried_event_landing_on_the_other_replica_is_answered_once(
    database, make_container, kb, slack
):
    """Slack retries an event it thinks failed; the retry may reach another replica."""
    import threading

    from slackbed import SIGNING_SECRET, BotServer, dm_event

    from bot.slack.app import build_app

    url, _ = database
    settings = {
        "database_url": url,
        "slack_bot_token": "xoxb-test",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.base_url,
        "workers": 2,
    }
    first, second = make_container(**settings), make_container(**settings)
    first.indexer.ingest(kb)
    with BotServer(build_app(first)) as one, BotServer(build_app(second)) as other:
        for n in range(5):
            event = dm_event("When does phase 1 run?", event_id=f"EvRetried{n}")
            retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
            threads = [
                threading.Thread(target=one.send_event, args=(event,)),
                threading.Thread(target=other.send_event, args=(event,), kwargs={"headers": retry}),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        slack.wait_for("chat.postMessage", 5, timeout=15)
        time.sleep(1.5)
        answers = [c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == "D111"]
        assert len(answers) == 5
        assert all("3 March to 30 June 2026" in str(c.params.get("blocks")) for c in answers)

        # A new event (not a retry) on either replica is answered.
        other.send_event(dm_event("When does phase 1 run?", event_id="EvFresh"))
        slack.wait_for("chat.postMessage", 6, timeout=15)


QUESTION = "When does phase 1 run?"
OLD, NEW = "3 March to 30 June 2026", "10 March to 7 July 2026"


def test_an_ingest_or_an_update_from_another_process_reaches_the_next_answer(
    database, make_container, kb, slack, tmp_path
):
    """Process A ingests (or sends an update, which is indexed); process B, answering all
    along, answers from the new content on its next question."""
    import subprocess
    import sys
    import textwrap

    import cli_child

    url, _ = database
    answering = make_container(database_url=url)
    answering.indexer.ingest(kb)
    ask = answering.question_service.ask
    assert OLD in ask(QUESTION, user_id="U1", surface="cli").answer.text

    roadmap = kb / "roadmap" / "orion-roadmap.md"
    roadmap.write_text(roadmap.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    data_dir = str(answering.settings.data_dir)
    child = cli_child.start(
        "ingest", str(kb), "--data-dir", data_dir, cwd=tmp_path, env={"CHANGEBOT_DATABASE_URL": url}
    )
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, out + err
    time.sleep(answering.retriever.freshness_seconds)  # how often B looks (2 s)
    assert NEW in ask(QUESTION, user_id="U1", surface="cli").answer.text

    # An update a leader sent through another process is in B's answers too.
    slack.channels["C200"] = {"name": "mlops-rollout"}
    sender = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        from conftest import FakeEmbeddings
        from bot.broadcasts.service import Audience, Draft
        from bot.config import load_settings
        from bot.container import Container

        container = Container(load_settings(), embeddings=FakeEmbeddings(), model_id="fake-model")
        update, _ = container.broadcasts.create(Draft(
            submission_key="other-process-1", author="ULEAD", title="Orion hackathon",
            body="The Orion hackathon is on 14 May 2026 in the Atrium.",
            audience=Audience(channels=("C200",)),
        ))
        assert container.broadcasts.send(update.id).done
        """
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("CHANGEBOT_")} | {
        "CHANGEBOT_DATABASE_URL": url,
        "CHANGEBOT_DATA_DIR": data_dir,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack.base_url,
        "PYTHONPATH": ":".join(sys.path),
    }
    sent = subprocess.run(
        [sys.executable, "-c", sender, str(Path(cli_child.__file__).parent)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    time.sleep(answering.retriever.freshness_seconds)
    # B's keyword index (rebuilt from the shared record manager) has it at the top. (The
    # tests' fake embedder gives the dense side no meaning, so the keyword side is checked.)
    question = "When is the Orion hackathon?"
    keyword = answering.retriever.retrieve(question, mode="keyword").hits
    assert keyword[0].chunk.metadata["source"] == "slack-update:1"
    assert "14 May 2026" in keyword[0].chunk.text
    assert "slack-update:1" in {chunk.metadata["source"] for chunk in answering.retriever.chunks}

"""The scheduler lease (one replica runs the jobs) and a scheduler that survives its errors."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import STATE_PAUSED
from conftest import FrozenClock

from bot.scheduling import LeaderScheduler, SchedulerLease
from bot.store.db import make_session_factory

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
OTHER_MACHINE = "elsewhere#0123456789ab:4242:abcdef"  # never "gone locally"


@pytest.fixture
def sessions(db_engine):
    return make_session_factory(db_engine)


def lease(sessions, clock, holder: str, seconds: float = 30.0) -> SchedulerLease:
    return SchedulerLease(session_factory=sessions, seconds=seconds, holder=holder, clock=clock)


# -- the lease -----------------------------------------------------------------------------
def test_one_holder_at_a_time_until_the_lease_runs_out(sessions):
    clock = FrozenClock(T0)
    first = lease(sessions, clock, OTHER_MACHINE)
    second = lease(sessions, clock, "elsewhere#0123456789ab:4343:fedcba")
    assert first.acquire()
    assert not second.acquire()
    clock.advance(seconds=20)
    assert first.acquire()  # renewed: 30 s from now
    clock.advance(seconds=29)
    assert not second.acquire()
    assert first.current() == (OTHER_MACHINE, T0 + dt.timedelta(seconds=50))
    clock.advance(seconds=2)  # the first holder went silent 31 s ago
    assert second.acquire()
    assert not first.acquire()
    assert second.current()[0] == second.holder


def test_a_released_lease_is_taken_at_once(sessions):
    clock = FrozenClock(T0)
    first = lease(sessions, clock, OTHER_MACHINE)
    second = lease(sessions, clock, "elsewhere#0123456789ab:4343:fedcba")
    assert first.acquire()
    first.release()
    assert first.current() is None
    assert second.acquire()


def test_a_holder_process_that_exited_on_this_machine_is_taken_over_at_once(sessions):
    import subprocess
    import sys

    from bot.delivery.leases import new_worker_id

    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    machine, _pid, token = new_worker_id().rsplit(":", 2)
    dead = f"{machine}:{child.stdout.strip()}:{token}"
    clock = FrozenClock(T0)
    assert lease(sessions, clock, dead).acquire()
    clock.advance(seconds=1)  # 29 s of its lease left, but its process is gone
    restarted = lease(sessions, clock, new_worker_id())
    assert restarted.acquire()
    assert restarted.current()[0] == restarted.holder
    # A live holder elsewhere is waited for (the first test): only the exited one is not.
    assert not lease(sessions, clock, OTHER_MACHINE).acquire()


def test_two_candidates_racing_for_an_empty_lease_table_get_one_holder(sessions):
    clock = FrozenClock(T0)
    candidates = [lease(sessions, clock, f"elsewhere#0123456789ab:{n}:aaaaaa") for n in range(6)]
    results: list[bool] = []
    barrier = threading.Barrier(len(candidates))

    def run(candidate):
        barrier.wait()
        results.append(candidate.acquire())

    threads = [threading.Thread(target=run, args=(c,)) for c in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1


# -- the scheduler -------------------------------------------------------------------------
RUNS: list[str] = []


def record(name: str) -> None:
    RUNS.append(name)


def scheduler_on(engine, sessions, holder: str, *, seconds: float = 3.0) -> LeaderScheduler:
    return LeaderScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine)},
        lease=SchedulerLease(session_factory=sessions, seconds=seconds, holder=holder),
        daemon=True,
    )


def wait_for(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def runs():
    RUNS.clear()
    yield RUNS
    RUNS.clear()


def test_only_the_lease_holders_scheduler_runs_jobs_and_a_follower_takes_over(
    db_engine, sessions, runs
):
    first = scheduler_on(db_engine, sessions, "elsewhere#0123456789ab:1:aaaaaa")
    second = scheduler_on(db_engine, sessions, "elsewhere#0123456789ab:2:bbbbbb")
    first.start()
    second.start()
    try:
        assert first.leading and not second.leading
        # A job added through the follower lands in the shared store; the leader runs it.
        second.add_job(f"{__name__}:record", "interval", seconds=0.2, args=["tick"], id="tick")
        wait_for(lambda: len(runs) >= 3)
        assert second.state == STATE_PAUSED  # runs nothing
        first.shutdown(wait=True)  # a clean stop gives the lease up
        wait_for(lambda: second.leading, timeout=5)
        seen = len(runs)
        wait_for(lambda: len(runs) >= seen + 3)
    finally:
        for scheduler in (first, second):
            if scheduler.running:
                scheduler.shutdown(wait=False)


class FlakyStore(SQLAlchemyJobStore):
    """A job store whose remove_job fails once as when another scheduler removed the job."""

    failed = 0

    def remove_job(self, job_id):
        if job_id.startswith("once") and not FlakyStore.failed:
            FlakyStore.failed += 1
            super().remove_job(job_id)
            raise JobLookupError(job_id)
        return super().remove_job(job_id)


def test_a_job_lookup_error_is_logged_and_the_scheduler_goes_on(db_engine, sessions, runs, caplog):
    """The fault: a second scheduler's remove_job raised JobLookupError and its thread died,
    silently: no more ticks, purges or sends on that process."""
    FlakyStore.failed = 0
    scheduler = LeaderScheduler(
        jobstores={"default": FlakyStore(engine=db_engine)},
        lease=SchedulerLease(session_factory=sessions, seconds=3, holder="x#y:1:z"),
        daemon=True,
    )
    caplog.set_level(logging.ERROR, logger="bot.scheduling")
    scheduler.start()
    try:
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=200)
        scheduler.add_job(f"{__name__}:record", "date", run_date=soon, args=["once"], id="once")
        wait_for(lambda: "once" in runs)
        wait_for(lambda: FlakyStore.failed == 1)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=300)
        scheduler.add_job(f"{__name__}:record", "date", run_date=later, args=["after"], id="a2")
        wait_for(lambda: "after" in runs, timeout=15)
        assert scheduler._thread.is_alive()
    finally:
        scheduler.shutdown(wait=False)
    assert "The scheduler hit an error" in caplog.text
    assert "JobLookupError" in caplog.text


def boom() -> None:
    raise RuntimeError("a job that fails")


def test_a_failing_job_is_logged_and_runs_again(db_engine, sessions, runs, caplog):
    scheduler = scheduler_on(db_engine, sessions, "x#y:1:z")
    caplog.set_level(logging.ERROR)
    scheduler.start()
    try:
        scheduler.add_job(f"{__name__}:boom", "interval", seconds=0.2, id="boom")
        scheduler.add_job(f"{__name__}:record", "interval", seconds=0.2, args=["ok"], id="ok")
        wait_for(lambda: caplog.text.count("a job that fails") >= 2 and len(runs) >= 2)
        assert scheduler._thread.is_alive()
    finally:
        scheduler.shutdown(wait=False)


def test_a_leader_that_cannot_renew_stops_running_jobs_before_its_lease_runs_out(
    db_engine, sessions, runs, monkeypatch
):
    scheduler = scheduler_on(db_engine, sessions, "x#y:1:z", seconds=3.0)
    scheduler.start()
    try:
        assert scheduler.leading
        scheduler.add_job(f"{__name__}:record", "interval", seconds=0.2, args=["t"], id="t")
        wait_for(lambda: len(runs) >= 2)
        from sqlalchemy.exc import OperationalError

        def down():
            raise OperationalError("SELECT", {}, Exception("connection refused"))

        monkeypatch.setattr(scheduler.lease, "acquire", down)
        # Renewals fail; 2 s (lease 3 s less one renewal interval) after the last good one
        # it runs nothing more, well before another replica could take the lease at 3 s.
        time.sleep(2.4)
        stopped = len(runs)
        time.sleep(1.5)
        assert len(runs) == stopped
        assert not scheduler.leading
        monkeypatch.undo()
        wait_for(lambda: scheduler.leading, timeout=5)  # the database is back: it leads again
        wait_for(lambda: len(runs) >= stopped + 2)
    finally:
        scheduler.shutdown(wait=False)

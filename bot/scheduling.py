"""One scheduler for the whole deployment: a lease row decides which replica runs the jobs.

Every replica starts its APScheduler on the shared SQLAlchemy job store, but paused: jobs
it adds or removes (a leader scheduling or cancelling an update through it) go straight
to the shared table, and it runs none. The replica holding the `scheduler_lease` row runs
them. The holder renews the lease every third of its length; when the holder dies,
another replica takes the lease once it has expired (at once when the holder was a
process on the same machine that no longer exists) and resumes its scheduler. A holder
that cannot renew pauses its own scheduler a renewal interval before the lease runs out,
so two schedulers never run jobs at once while the replicas' clocks agree.

A row (not a PostgreSQL advisory lock) so that it works the same on SQLite and on
PostgreSQL, survives a connection drop, and shows who leads (`SELECT * FROM
scheduler_lease`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery.leases import gone_locally, new_worker_id
from bot.store.models import SchedulerLeaseRow
from bot.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
POLL_SECONDS = 5.0  # the leader looks at the shared job store at least this often
ERROR_RETRY_SECONDS = 10.0  # after an error in the scheduler's loop
NEVER = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class SchedulerLease:
    """The `scheduler_lease` row: who runs the scheduled jobs, and until when."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        seconds: float,
        holder: str | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        name: str = LEASE_NAME,
    ) -> None:
        self.sessions = session_factory
        self.seconds = seconds
        self.holder = holder or new_worker_id()
        self.clock = clock
        self.name = name

    def acquire(self) -> bool:
        """Take the lease, or renew it if ours; True when we hold it for `seconds` from now."""
        now = self.clock()
        until = now + dt.timedelta(seconds=self.seconds)
        row = SchedulerLeaseRow
        with self.sessions.begin() as session:
            taken = session.execute(
                update(row)
                .where(
                    row.name == self.name,
                    or_(row.holder == self.holder, row.holder == "", row.expires_at < now),
                )
                .values(holder=self.holder, expires_at=until, renewed_at=now)
            ).rowcount
            if taken == 1:
                return True
            current = session.execute(select(row.holder).where(row.name == self.name)).scalar()
            if current is None:
                dialect = session.get_bind().dialect.name
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT.
                inserted = session.execute(
                    insert(row.__table__)
                    .values(name=self.name, holder=self.holder, expires_at=until, renewed_at=now)
                    .on_conflict_do_nothing(index_elements=["name"])
                    .returning(row.__table__.c.name)
                ).first()
                return inserted is not None
            if gone_locally(current):  # a crashed process on this machine: no need to wait
                log.info("Scheduler lease holder %s has exited; taking over", current)
                return (
                    session.execute(
                        update(row)
                        .where(row.name == self.name, row.holder == current)
                        .values(holder=self.holder, expires_at=until, renewed_at=now)
                    ).rowcount
                    == 1
                )
        return False

    def release(self) -> None:
        """Give the lease up now (a clean stop): the next replica need not wait for expiry."""
        with self.sessions.begin() as session:
            session.execute(
                update(SchedulerLeaseRow)
                .where(SchedulerLeaseRow.name == self.name, SchedulerLeaseRow.holder == self.holder)
                .values(holder="", expires_at=NEVER)
            )

    def current(self) -> tuple[str, dt.datetime] | None:
        """(holder, expiry) as stored; None before anyone took the lease."""
        with self.sessions() as session:
            found = session.execute(
                select(SchedulerLeaseRow.holder, SchedulerLeaseRow.expires_at).where(
                    SchedulerLeaseRow.name == self.name
                )
            ).first()
        if found is None or not found[0]:
            return None
        return found[0], as_utc(found[1])


class LeaderScheduler(BackgroundScheduler):
    """APScheduler that runs jobs only while it holds the lease, and survives its errors.

    `start()` starts it paused, tries the lease once and then keeps trying every third of
    the lease in a thread; `on_lead` callbacks run each time it becomes the leader (the
    runner adds the recurring jobs and purges there). `shutdown()` gives the lease up.
    An error in the scheduler's loop (a job store failure, a `JobLookupError` when a job
    was removed meanwhile) is logged and the loop carries on; an error in a job is logged
    by APScheduler and the job runs again at its next time.
    """

    def __init__(self, *args, lease: SchedulerLease, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lease = lease
        self.on_lead: list[Callable[[], object]] = []
        self.leading = False
        self._held_until = 0.0  # time.monotonic() until which the lease is surely ours
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def renew_every(self) -> float:
        return self.lease.seconds / 3

    # -- start and stop ------------------------------------------------------------------
    def start(self, *args, **kwargs) -> None:
        kwargs.pop("paused", None)
        super().start(*args, paused=True, **kwargs)
        self._stop = threading.Event()
        self._campaign()
        self._renewer = threading.Thread(
            target=self._renew_loop, name="scheduler-lease", daemon=True
        )
        self._renewer.start()

    def shutdown(self, *args, **kwargs) -> None:
        self._stop.set()
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join(timeout=5)
        was_leading, self.leading = self.leading, False
        super().shutdown(*args, **kwargs)
        if was_leading:
            try:
                self.lease.release()
            except SQLAlchemyError as exc:  # it expires on its own
                log.warning("Could not release the scheduler lease (%s)", exc)

    # -- the lease -----------------------------------------------------------------------
    def surely_leading(self) -> bool:
        """Leading, and the lease cannot have run out yet (a renewal interval to spare)."""
        return self.leading and time.monotonic() < self._held_until - self.renew_every

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.renew_every):
            self._campaign()

    def _campaign(self) -> None:
        """One attempt to take or renew the lease; resume or pause the scheduler to match."""
        asked = time.monotonic()
        try:
            held = self.lease.acquire()
        except SQLAlchemyError as exc:
            # Unknown: we may still hold it. Keep running jobs only while surely ours.
            held = self.surely_leading()
            log.warning(
                "Could not renew the scheduler lease (%s); %s",
                str(exc).splitlines()[0],
                "still leading until it runs out" if held else "not running scheduled jobs",
            )
        except Exception:
            log.exception("Scheduler lease check failed")
            held = False
        else:
            if held:
                self._held_until = asked + self.lease.seconds
        if self._stop.is_set():
            return
        if held and not self.leading:
            self._lead()
        elif not held and self.leading:
            log.warning("Lost the scheduler lease: this replica stops running scheduled jobs")
            self.leading = False
            if self.state == STATE_RUNNING:
                self.pause()

    def _lead(self) -> None:
        log.info("This replica holds the scheduler lease (%s) and runs the jobs", self.lease.holder)
        self.leading = True
        for callback in self.on_lead:
            try:
                callback()
            except Exception:
                log.exception("A start-of-leadership step failed; the scheduler runs anyway")
        if self.state == STATE_PAUSED:
            self.resume()

    # -- the loop ------------------------------------------------------------------------
    def _process_jobs(self):
        """Run due jobs; never let an error end the scheduler's thread.

        The leader also wakes every POLL_SECONDS: jobs other replicas added to the shared
        store do not wake this scheduler by themselves.
        """
        if self.state == STATE_RUNNING and not self.surely_leading():
            # A lease not renewed in time (a slow database, a process frozen and thawed):
            # run nothing until the renewal thread knows whether it is still ours.
            return min(POLL_SECONDS, self.renew_every)
        try:
            wait = super()._process_jobs()
        except Exception:
            log.exception("The scheduler hit an error; it carries on in %s s", ERROR_RETRY_SECONDS)
            return ERROR_RETRY_SECONDS
        if self.state != STATE_RUNNING:
            return wait
        return POLL_SECONDS if wait is None else min(wait, POLL_SECONDS)

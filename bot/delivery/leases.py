"""Who is sending: delivery worker ids, their heartbeats, and whether a worker is gone.

Every process that drains the outbox (the bot, or `changebot survey run --now`) has a
worker id and a row in `delivery_workers` that it renews while it runs and deletes when
it stops. Rows it claimed carry its id and a lease it renews with the same beat. Another
worker may take a `sending` row back only when its lease ran out, or when its owner is
a process on this machine (same kernel boot, same PID namespace) that no longer exists:
a bot restarted after a crash need not wait for the lease.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import DeliveryHeartbeat
from bot.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

BOT, CLI = "bot", "cli"
FORGET_AFTER = dt.timedelta(days=1)  # a worker silent this long crashed; drop its row


def _this_machine() -> str:
    """Host, kernel boot and PID namespace: where a process id means the same process.

    Empty when they cannot be read (not Linux): then only leases decide.
    """
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    digest = hashlib.sha256(f"{socket.gethostname()}|{boot}|{namespace}".encode()).hexdigest()
    return digest[:12]


_MACHINE = _this_machine()


def new_worker_id() -> str:
    """`host#machine:pid:token`, unique per process and per Outbox within it."""
    host = socket.gethostname()[:40] or "host"
    return f"{host}#{_MACHINE or 'unknown'}:{os.getpid()}:{secrets.token_hex(3)}"


def gone_locally(worker_id: str) -> bool:
    """True only when `worker_id` was a process on this machine that has exited."""
    try:
        machine, pid, _token = worker_id.rsplit(":", 2)
        pid_number = int(pid)
    except ValueError:
        return False
    if not _MACHINE or machine.rsplit("#", 1)[-1] != _MACHINE or pid_number == os.getpid():
        return False
    try:
        os.kill(pid_number, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but is not ours to signal
        return False
    return False


class Heartbeats:
    """The `delivery_workers` table: live workers announce themselves here."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions = session_factory
        self.clock = clock

    def beat(self, worker_id: str, role: str) -> None:
        """Announce (or renew) a live worker."""
        now = self.clock()
        with self.sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(DeliveryHeartbeat).values(
                worker_id=worker_id, role=role, started_at=now, heartbeat_at=now
            )
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["worker_id"], set_={"heartbeat_at": now}
                )
            )
            session.execute(
                delete(DeliveryHeartbeat).where(DeliveryHeartbeat.heartbeat_at < now - FORGET_AFTER)
            )

    def leave(self, worker_id: str) -> None:
        with self.sessions.begin() as session:
            session.execute(
                delete(DeliveryHeartbeat).where(DeliveryHeartbeat.worker_id == worker_id)
            )

    def live(self, *, role: str | None = None, within: float) -> list[tuple[str, dt.datetime]]:
        """(worker id, last beat) of workers heard from in the last `within` seconds whose
        process is not known to be gone."""
        since = self.clock() - dt.timedelta(seconds=within)
        query = select(DeliveryHeartbeat.worker_id, DeliveryHeartbeat.heartbeat_at).where(
            DeliveryHeartbeat.heartbeat_at >= since
        )
        if role is not None:
            query = query.where(DeliveryHeartbeat.role == role)
        with self.sessions() as session:
            rows = session.execute(query).all()
        return [(worker, as_utc(at)) for worker, at in rows if not gone_locally(worker)]

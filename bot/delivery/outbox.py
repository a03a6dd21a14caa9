"""Outbox rows in the database: enqueue once, claim what is due, record the outcome.

A row moves pending -> sending -> sent | failed (or pending -> cancelled).

- claim: one atomic UPDATE takes due `pending` rows and marks them `sending`, with the
  claiming worker's id in `claimed_by` and `lease_until` = now + the lease (PostgreSQL
  skips rows another worker is claiming; SQLite runs the statement under its write
  lock). Two workers, or the bot and `changebot survey run --now`, never get one row.
- While a worker holds rows it renews their lease (and its `delivery_workers`
  heartbeat, see leases.py) every quarter lease; it stops sending from a batch whose
  lease it could not renew for half a lease.
- The outcome (sent, retry later, failed) is written only while the row is still
  `sending` and claimed by that worker: a row someone else has recovered meanwhile is
  theirs.
- recover_interrupted (at start and every beat): a `sending` row whose lease ran out, or
  whose worker was a process on this machine that has exited, goes back to `pending`,
  flagged "unverified". `sending` is written before the Slack call, so such a row is
  looked for in the recipient's DM history before it is ever sent again. A live
  worker's rows are never taken.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Text, cast, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery.leases import gone_locally, new_worker_id
from bot.store.models import DmChannel, OutboxMessage
from bot.timeutil import as_utc, utcnow

Clock = Callable[[], dt.datetime]
PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"
# A row whose last attempt may have reached Slack: look for it in the DM before posting.
VERIFY_PREFIX = "unverified: "


@dataclass(frozen=True)
class Envelope:
    """What to send to one recipient. `op` post | update | delete (edits target channel/ts)."""

    recipient: str
    payload: dict
    op: str = "post"


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    campaign: str
    recipient: str
    op: str
    payload: dict
    attempts: int
    channel_id: str
    was_interrupted: bool  # it was "sending" when the process stopped


@dataclass(frozen=True)
class Row:
    """A queued or finished message as callers see it (no payload)."""

    campaign: str
    recipient: str
    op: str
    status: str
    channel_id: str
    message_ts: str
    last_error: str


class Outbox:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock = utcnow,
        lease_seconds: float = 60.0,
        worker_id: str | None = None,
    ):
        """`lease_seconds`: how long a claimed row stays this worker's without a renewal.
        `worker_id`: who claims through this outbox (default: new for this process)."""
        self.sessions = session_factory
        self.clock = clock
        self.lease = dt.timedelta(seconds=lease_seconds)
        self.worker_id = worker_id or new_worker_id()

    def enqueue(self, campaign: str, envelopes: Iterable[Envelope], *, at=None) -> int:
        """Add one row per (campaign, recipient, op); existing keys are left alone.

        Returns how many rows were new — a double click enqueues nothing the second time.
        """
        now = self.clock()
        rows = [
            {
                "key": delivery_key(campaign, e.recipient, e.op),
                "campaign": campaign,
                "recipient": e.recipient,
                "op": e.op,
                "payload": e.payload,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": at or now,
                "channel_id": "",
                "message_ts": "",
                "last_error": "",
                "created_at": now,
            }
            for e in envelopes
        ]
        if not rows:
            return 0
        with self.sessions.begin() as session:
            connection = session.connection()
            insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
            # One cached statement, executed many times: SQLAlchemy batches the rows into
            # multi-row INSERTs itself ("insertmanyvalues"), without compiling each batch.
            statement = (
                insert(OutboxMessage.__table__)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(OutboxMessage.id)
            )
            result = connection.execute(statement, rows)
            return len(result.all())

    def recover_interrupted(self) -> int:
        """Rows whose worker is gone go back to `pending`, flagged for the DM-history check.

        Gone: the lease ran out (nobody renewed it), or the owner was a process on this
        machine that has exited. Rows of a live worker are left alone.
        """
        now = self.clock()
        with self.sessions.begin() as session:
            owners = session.scalars(
                select(OutboxMessage.claimed_by)
                .where(OutboxMessage.status == SENDING, OutboxMessage.lease_until >= now)
                .distinct()
            ).all()
            dead = [owner for owner in owners if gone_locally(owner)]
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == SENDING,
                    or_(
                        OutboxMessage.lease_until.is_(None),
                        OutboxMessage.lease_until < now,
                        OutboxMessage.claimed_by.in_(dead),
                    ),
                )
                .values(
                    status=PENDING,
                    claimed_by="",
                    lease_until=None,
                    last_error=VERIFY_PREFIX + "worker stopped mid-send",
                )
            )
            return result.rowcount or 0

    def claim(self, limit: int) -> list[Claimed]:
        """Take up to `limit` due rows for this worker: one atomic UPDATE … RETURNING."""
        now = self.clock()
        due = (
            select(OutboxMessage.id)
            .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        with self.sessions.begin() as session:
            connection = session.connection()
            if connection.dialect.name == "postgresql":
                # Evaluated once, into a materialised CTE: as a plain IN (…) subquery,
                # PostgreSQL may run a LIMIT … SKIP LOCKED subquery again and claim more.
                locked = due.with_for_update(skip_locked=True).cte("due")
                due = select(locked.prefix_with("MATERIALIZED").c.id)
            rows = connection.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(due))
                .where(OutboxMessage.status == PENDING)  # re-checked under the row lock
                .values(status=SENDING, claimed_by=self.worker_id, lease_until=now + self.lease)
                .returning(
                    OutboxMessage.id,
                    OutboxMessage.key,
                    OutboxMessage.campaign,
                    OutboxMessage.recipient,
                    OutboxMessage.op,
                    OutboxMessage.payload,
                    OutboxMessage.attempts,
                    OutboxMessage.channel_id,
                    OutboxMessage.last_error,
                    OutboxMessage.next_attempt_at,
                )
            ).all()
        rows = sorted(rows, key=lambda r: (as_utc(r.next_attempt_at), r.id))
        return [
            Claimed(
                id=row.id,
                key=row.key,
                campaign=row.campaign,
                recipient=row.recipient,
                op=row.op,
                payload=row.payload,
                attempts=row.attempts,
                channel_id=row.channel_id,
                was_interrupted=row.last_error.startswith(VERIFY_PREFIX),
            )
            for row in rows
        ]

    def renew_leases(self) -> int:
        """Extend the lease of every row this worker holds; returns how many."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == SENDING, OutboxMessage.claimed_by == self.worker_id)
                .values(lease_until=self.clock() + self.lease)
            )
            return result.rowcount or 0

    def mark_sent(self, row_id: int, channel_id: str, ts: str) -> bool:
        return self._settle(
            row_id,
            status=SENT,
            channel_id=channel_id,
            message_ts=ts,
            sent_at=self.clock(),
            last_error="",
            lease_until=None,
        )

    def mark_retry(
        self,
        row_id: int,
        error: str,
        *,
        delay: float,
        count_attempt: bool = True,
        verify: bool = False,
    ) -> bool:
        """Due again after `delay`. `verify`: Slack may already have it — check before posting."""
        return self._settle(
            row_id,
            status=PENDING,
            last_error=((VERIFY_PREFIX if verify else "") + error)[:255],
            next_attempt_at=self.clock() + dt.timedelta(seconds=delay),
            attempts=OutboxMessage.attempts + (1 if count_attempt else 0),
            claimed_by="",
            lease_until=None,
        )

    def mark_failed(self, row_id: int, error: str) -> bool:
        return self._settle(
            row_id,
            status=FAILED,
            last_error=error[:255],
            attempts=OutboxMessage.attempts + 1,
            lease_until=None,
        )

    def _settle(self, row_id: int, **values) -> bool:
        """Record an outcome if the row is still ours; False when another worker took it
        back meanwhile (it re-checks the DM history, so nothing is sent twice)."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == row_id,
                    OutboxMessage.status == SENDING,
                    OutboxMessage.claimed_by == self.worker_id,
                )
                .values(**values)
            )
            return bool(result.rowcount)

    def cancel(self, campaign: str) -> int:
        """Stop what has not gone out yet (e.g. a recalled broadcast)."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.campaign == campaign, OutboxMessage.status == PENDING)
                .values(status=CANCELLED)
            )
            return result.rowcount or 0

    def cancel_family(self, campaign: str) -> int:
        """Cancel `campaign` and every `campaign/…` follow-up (reminders, edits) still pending."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(_family(campaign), OutboxMessage.status == PENDING)
                .values(status=CANCELLED)
            )
            return result.rowcount or 0

    def forget(self, campaign: str) -> int:
        """Delete a campaign's finished rows (sent, failed, cancelled): a closed pulse run's."""
        with self.sessions.begin() as session:
            result = session.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.campaign == campaign,
                    OutboxMessage.status.in_((SENT, FAILED, CANCELLED)),
                )
            )
            return result.rowcount or 0

    def rows(self, campaign: str) -> list[Row]:
        """Every row of one campaign, in the order they were queued."""
        return self._rows(OutboxMessage.campaign == campaign)

    def rows_like(self, prefix: str) -> list[Row]:
        """Every row of the campaigns whose name starts with `prefix`."""
        return self._rows(OutboxMessage.campaign.startswith(prefix, autoescape=True))

    def replace_pending_payloads(self, campaign: str, payload_for: Callable[[str], dict]) -> int:
        """New content for rows not yet claimed (an edit before they went out)."""
        with self.sessions.begin() as session:
            rows = session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.campaign == campaign, OutboxMessage.status == PENDING
                )
            ).all()
            for row in rows:
                row.payload = payload_for(row.recipient)
            return len(rows)

    def _rows(self, condition) -> list[Row]:
        columns = [getattr(OutboxMessage, name) for name in Row.__dataclass_fields__]
        with self.sessions() as session:
            return [
                Row(*values)
                for values in session.execute(
                    select(*columns).where(condition).order_by(OutboxMessage.id)
                )
            ]

    def counts(self, campaign: str | None = None) -> dict[str, int]:
        query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        if campaign is not None:
            query = query.where(OutboxMessage.campaign == campaign)
        with self.sessions() as session:
            return {status: count for status, count in session.execute(query)}

    def due_count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).where(OutboxMessage.status == PENDING))

    # -- retention ---------------------------------------------------------------------
    def blank_payloads(self, before: dt.datetime) -> int:
        """Empty the payload (names, text) of finished rows queued before `before`.

        The row's facts — campaign, recipient, status, channel and ts of the message —
        stay: delivery figures, edits and recalls of what was sent still need them.
        """
        with self.sessions.begin() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status.in_((SENT, FAILED, CANCELLED)),
                    OutboxMessage.created_at < before,
                    cast(OutboxMessage.payload, Text) != "{}",
                )
                .values(payload={})
            )
            return result.rowcount or 0

    def forget_dm_channels(self, user_ids: Iterable[str]) -> int:
        """Drop the cached DM channel of people who left."""
        ids = list(user_ids)
        if not ids:
            return 0
        with self.sessions.begin() as session:
            result = session.execute(delete(DmChannel).where(DmChannel.user_id.in_(ids)))
            return result.rowcount or 0

    # -- DM channel cache --------------------------------------------------------------
    def dm_channel(self, user_id: str) -> str | None:
        with self.sessions() as session:
            row = session.get(DmChannel, user_id)
            return row.channel_id if row else None

    def dm_channels(self, user_ids: list[str]) -> dict[str, str]:
        """The cached DM channels of a batch's recipients, in one query."""
        with self.sessions() as session:
            rows = session.execute(
                select(DmChannel.user_id, DmChannel.channel_id).where(
                    DmChannel.user_id.in_(set(user_ids))
                )
            )
            return {user: channel for user, channel in rows}

    def remember_dm_channel(self, user_id: str, channel_id: str) -> None:
        """One upsert: two workers opening the same person's DM at once both succeed."""
        with self.sessions.begin() as session:
            connection = session.connection()
            insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
            statement = insert(DmChannel).values(user_id=user_id, channel_id=channel_id)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["user_id"], set_={"channel_id": channel_id}
                )
            )


def _family(campaign: str):
    return (OutboxMessage.campaign == campaign) | OutboxMessage.campaign.startswith(
        campaign + "/", autoescape=True
    )


def delivery_key(campaign: str, recipient: str, op: str = "post") -> str:
    return f"{campaign}:{recipient}" if op == "post" else f"{campaign}:{recipient}:{op}"

"""Outbox rows in the database: enqueue once, claim what is due, record the outcome.

A row moves pending -> sending -> sent | failed. `sending` is written before the
Slack call, so a crash leaves evidence: such a row is verified against the
recipient's DM history before it is ever sent again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Text, cast, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import DmChannel, OutboxMessage
from bot.timeutil import utcnow

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
    def __init__(self, *, session_factory: sessionmaker[Session], clock: Clock = utcnow):
        self.sessions = session_factory
        self.clock = clock

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
        """After a restart: rows left in `sending` become due again, flagged for a check."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == SENDING)
                .values(status=PENDING, last_error=VERIFY_PREFIX + "process stopped mid-send")
            )
            return result.rowcount or 0

    def claim(self, limit: int) -> list[Claimed]:
        """Take up to `limit` due rows and mark them `sending` (one worker per database)."""
        now = self.clock()
        with self.sessions.begin() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            claimed = []
            for row in rows:
                claimed.append(
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
                )
                row.status = SENDING
        return claimed

    def mark_sent(self, row_id: int, channel_id: str, ts: str) -> None:
        self._set(
            row_id,
            status=SENT,
            channel_id=channel_id,
            message_ts=ts,
            sent_at=self.clock(),
            last_error="",
        )

    def mark_retry(
        self,
        row_id: int,
        error: str,
        *,
        delay: float,
        count_attempt: bool = True,
        verify: bool = False,
    ):
        """Due again after `delay`. `verify`: Slack may already have it — check before posting."""
        with self.sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            row.status = PENDING
            row.last_error = ((VERIFY_PREFIX if verify else "") + error)[:255]
            row.next_attempt_at = self.clock() + dt.timedelta(seconds=delay)
            if count_attempt:
                row.attempts += 1

    def mark_failed(self, row_id: int, error: str) -> None:
        with self.sessions.begin() as session:
            row = session.get(OutboxMessage, row_id)
            row.status = FAILED
            row.last_error = error[:255]
            row.attempts += 1

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

    def remember_dm_channel(self, user_id: str, channel_id: str) -> None:
        with self.sessions.begin() as session:
            row = session.get(DmChannel, user_id)
            if row is None:
                session.add(DmChannel(user_id=user_id, channel_id=channel_id))
            else:
                row.channel_id = channel_id

    def _set(self, row_id: int, **values) -> None:
        with self.sessions.begin() as session:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values)
            )


def _family(campaign: str):
    return (OutboxMessage.campaign == campaign) | OutboxMessage.campaign.startswith(
        campaign + "/", autoescape=True
    )


def delivery_key(campaign: str, recipient: str, op: str = "post") -> str:
    return f"{campaign}:{recipient}" if op == "post" else f"{campaign}:{recipient}:{op}"

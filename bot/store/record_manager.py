"""LangChain RecordManager backed by our own database table (`index_records`).

Using our table (created by an Alembic migration) instead of a private one keeps
one database and one migration history for everything changebot stores.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from langchain_core.indexing import RecordManager
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import IndexRecord

_CHUNK = 500  # keep IN (...) lists well under SQLite's variable limit


def _chunks(items: Sequence[str], size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SQLRecordManager(RecordManager):
    """Timestamped set of chunk keys per namespace (one namespace per collection)."""

    def __init__(self, namespace: str, *, session_factory: sessionmaker[Session]) -> None:
        super().__init__(namespace=namespace)
        self._sessions = session_factory
        self._last_time = 0.0

    # -- schema is owned by Alembic -------------------------------------------------
    def create_schema(self) -> None:
        """No-op: `bot.store.db.migrate` creates the table."""

    async def acreate_schema(self) -> None:
        """No-op: `bot.store.db.migrate` creates the table."""

    def get_time(self) -> float:
        # Monotonic even if the wall clock steps back, as index() requires.
        now = max(time.time(), self._last_time + 1e-6)
        self._last_time = now
        return now

    async def aget_time(self) -> float:
        return self.get_time()

    def update(
        self,
        keys: Sequence[str],
        *,
        group_ids: Sequence[str | None] | None = None,
        time_at_least: float | None = None,
    ) -> None:
        if not keys:
            return
        if group_ids is None:
            group_ids = [None] * len(keys)
        if len(group_ids) != len(keys):
            raise ValueError("keys and group_ids must have the same length")
        now = self.get_time()
        if time_at_least and now < time_at_least:
            raise AssertionError(f"Time sync issue: {now} < {time_at_least}")
        latest = dict(zip(keys, group_ids, strict=True))  # a repeated key: the last one wins
        rows = [
            {"namespace": self.namespace, "key": key, "group_id": group, "updated_at": now}
            for key, group in latest.items()
        ]
        with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            for start in range(0, len(rows), _CHUNK):
                statement = insert(IndexRecord).values(rows[start : start + _CHUNK])
                statement = statement.on_conflict_do_update(
                    index_elements=["namespace", "key"],
                    set_={
                        "updated_at": statement.excluded.updated_at,
                        "group_id": statement.excluded.group_id,
                    },
                )
                session.execute(statement)

    async def aupdate(self, keys, *, group_ids=None, time_at_least=None) -> None:
        await asyncio.to_thread(self.update, keys, group_ids=group_ids, time_at_least=time_at_least)

    def exists(self, keys: Sequence[str]) -> list[bool]:
        found: set[str] = set()
        with self._sessions() as session:
            for part in _chunks(list(keys)):
                found.update(
                    session.scalars(
                        select(IndexRecord.key).where(
                            IndexRecord.namespace == self.namespace, IndexRecord.key.in_(part)
                        )
                    )
                )
        return [key in found for key in keys]

    async def aexists(self, keys: Sequence[str]) -> list[bool]:
        return await asyncio.to_thread(self.exists, keys)

    def list_keys(
        self,
        *,
        before: float | None = None,
        after: float | None = None,
        group_ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[str]:
        query = select(IndexRecord.key).where(IndexRecord.namespace == self.namespace)
        if before is not None:
            query = query.where(IndexRecord.updated_at < before)
        if after is not None:
            query = query.where(IndexRecord.updated_at > after)
        if group_ids is not None:
            query = query.where(IndexRecord.group_id.in_(list(group_ids)))
        if limit is not None:
            query = query.limit(limit)
        with self._sessions() as session:
            return list(session.scalars(query))

    async def alist_keys(self, *, before=None, after=None, group_ids=None, limit=None):
        return await asyncio.to_thread(
            self.list_keys, before=before, after=after, group_ids=group_ids, limit=limit
        )

    def delete_keys(self, keys: Sequence[str]) -> None:
        with self._sessions.begin() as session:
            for part in _chunks(list(keys)):
                session.execute(
                    delete(IndexRecord).where(
                        IndexRecord.namespace == self.namespace, IndexRecord.key.in_(part)
                    )
                )

    async def adelete_keys(self, keys: Sequence[str]) -> None:
        await asyncio.to_thread(self.delete_keys, keys)

    # -- helpers beyond the RecordManager interface ----------------------------------
    def keys_by_group(self) -> dict[str, set[str]]:
        """Every indexed key, grouped by source path (for per-document summaries)."""
        grouped: dict[str, set[str]] = {}
        with self._sessions() as session:
            rows = session.execute(
                select(IndexRecord.group_id, IndexRecord.key).where(
                    IndexRecord.namespace == self.namespace
                )
            )
            for group, key in rows:
                grouped.setdefault(group or "", set()).add(key)
        return grouped

    def count(self) -> int:
        with self._sessions() as session:
            return session.scalar(
                select(func.count()).where(IndexRecord.namespace == self.namespace)
            )

    def count_groups(self) -> int:
        """How many sources (documents) have chunks in the index."""
        with self._sessions() as session:
            return session.scalar(
                select(func.count(func.distinct(IndexRecord.group_id))).where(
                    IndexRecord.namespace == self.namespace
                )
            )

    def clear(self) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(IndexRecord).where(IndexRecord.namespace == self.namespace))

    def fingerprint(self) -> tuple[int, int]:
        """Changes when chunks were added or removed (not when an ingest changed nothing).

        Refreshing a key updates it in place (same row id); a new chunk gets a new id.
        """
        with self._sessions() as session:
            count, newest = session.execute(
                select(func.count(), func.max(IndexRecord.id)).where(
                    IndexRecord.namespace == self.namespace
                )
            ).one()
        return int(count), int(newest or 0)

"""Index generations: which Chroma collection holds the playbook index readers use.

An ingest never writes into the collection the bot is reading. It builds the next
generation (a new collection with its own record-manager namespace), copying the stored
vectors of unchanged chunks from the active one, and then flips one pointer row in the
database. Readers look at the pointer on their freshness check and open the new
collection. A replaced generation is dropped by a later ingest, only once it has been
retired for the grace period, so a reader still on it never finds it gone.

Why: embedded Chroma breaks when one process reads HNSW segments another process is
writing ("Error finding id" on every query until a restart); a collection nobody writes
any more is safe to read from any number of processes. A Chroma server takes the same
path, so both deployments behave alike.

Generation 0 is the collection named like the setting, without a row: an index built
before generations existed is used until the first ingest replaces it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import IndexGeneration
from bot.store.record_manager import SQLRecordManager
from bot.timeutil import as_utc, utcnow

BUILDING, ACTIVE, RETIRED = "building", "active", "retired"
# An ingest that died mid-build leaves its generation behind; nobody can be reading it.
ABANDONED_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class Generation:
    number: int
    collection: str

    @property
    def namespace(self) -> str:
        """The record-manager namespace of this generation's chunk keys."""
        return f"chroma/{self.collection}"


class GenerationConflict(RuntimeError):
    """Another ingest flipped the pointer while this one was building."""


class Generations:
    """The pointer rows of one index (`base` = CHANGEBOT_CHROMA_COLLECTION)."""

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        base: str,
        grace_seconds: float = 600.0,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions = session_factory
        self.base = base
        self.grace = dt.timedelta(seconds=grace_seconds)
        self.clock = clock
        self._record_managers: dict[str, SQLRecordManager] = {}

    def active(self) -> Generation:
        """The generation readers should use now (one indexed query)."""
        with self.sessions() as session:
            row = session.execute(
                select(IndexGeneration.id, IndexGeneration.collection)
                .where(IndexGeneration.base == self.base, IndexGeneration.status == ACTIVE)
                .order_by(IndexGeneration.id.desc())
                .limit(1)
            ).first()
        return Generation(row.id, row.collection) if row else Generation(0, self.base)

    def create(self) -> Generation:
        """A new generation for an ingest to build; nobody reads it until `activate`."""
        with self.sessions.begin() as session:
            row = IndexGeneration(
                base=self.base,
                collection=f"{self.base}-building-{uuid.uuid4().hex}",  # renamed below
                status=BUILDING,
                created_at=self.clock(),
            )
            session.add(row)
            session.flush()
            row.collection = f"{self.base}-g{row.id}"  # Chroma: [a-zA-Z0-9._-], 3-512 chars
            return Generation(row.id, row.collection)

    def activate(self, new: Generation, *, replacing: Generation) -> None:
        """Flip the pointer to `new` if `replacing` is still the active generation."""
        now = self.clock()
        with self.sessions.begin() as session:
            if replacing.number == 0:
                active = session.scalar(
                    select(func.count()).where(
                        IndexGeneration.base == self.base, IndexGeneration.status == ACTIVE
                    )
                )
                flipped = active == 0
                if flipped and session.get(IndexGeneration, 0) is None:
                    # Generation 0 (the setting's own name) gets a row so it is dropped later.
                    session.execute(
                        insert(IndexGeneration).values(
                            id=0,
                            base=self.base,
                            collection=self.base,
                            status=RETIRED,
                            created_at=now,
                            retired_at=now,
                        )
                    )
            else:
                flipped = (
                    session.execute(
                        update(IndexGeneration)
                        .where(
                            IndexGeneration.id == replacing.number,
                            IndexGeneration.status == ACTIVE,
                        )
                        .values(status=RETIRED, retired_at=now)
                    ).rowcount
                    == 1
                )
            if not flipped:
                raise GenerationConflict(
                    "Another ingest finished while this one was running; its index is live."
                )
            session.execute(
                update(IndexGeneration)
                .where(IndexGeneration.id == new.number)
                .values(status=ACTIVE, activated_at=now)
            )

    def expired(self) -> list[Generation]:
        """Generations nobody can still be reading: retired past the grace period, or
        abandoned mid-build long ago."""
        now = self.clock()
        with self.sessions() as session:
            rows = session.execute(
                select(
                    IndexGeneration.id,
                    IndexGeneration.collection,
                    IndexGeneration.status,
                    IndexGeneration.created_at,
                    IndexGeneration.retired_at,
                ).where(IndexGeneration.base == self.base, IndexGeneration.status != ACTIVE)
            ).all()
        return [
            Generation(row.id, row.collection)
            for row in rows
            if (row.status == RETIRED and as_utc(row.retired_at) <= now - self.grace)
            or (row.status == BUILDING and as_utc(row.created_at) <= now - ABANDONED_AFTER)
        ]

    def forget(self, generation: Generation) -> None:
        """The generation's collection is gone: drop its keys and its row."""
        self.record_manager(generation).clear()
        with self.sessions.begin() as session:
            session.execute(delete(IndexGeneration).where(IndexGeneration.id == generation.number))

    def record_manager(self, generation: Generation) -> SQLRecordManager:
        """LangChain's record manager for this generation's chunks (one namespace each)."""
        manager = self._record_managers.get(generation.namespace)
        if manager is None:
            manager = SQLRecordManager(generation.namespace, session_factory=self.sessions)
            self._record_managers[generation.namespace] = manager
        return manager

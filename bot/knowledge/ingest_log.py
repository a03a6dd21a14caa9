"""A record of each `changebot ingest`: when it ended, what it indexed, what it passed over.

The console's Playbook page shows the newest one; the index itself (Chroma plus the record
manager) stays the truth about what can be retrieved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.knowledge.index import IngestReport
from bot.store.models import IngestRun
from bot.timeutil import as_utc, utcnow

KEPT = 50  # ingest records kept; older ones are dropped when a new one is written


@dataclass(frozen=True)
class PassedOver:
    path: str
    kind: str  # "skipped" (not a playbook file) | "failed" (could not be read)
    reason: str


@dataclass(frozen=True)
class IngestRecord:
    finished_at: dt.datetime
    root: str
    indexed_files: int
    chunks_total: int
    counts: dict[str, int]
    passed_over: list[PassedOver]


class IngestLog:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessions = session_factory
        self.clock = clock

    def record(self, report: IngestReport, root: Path | str) -> None:
        passed = [[path, "failed", reason] for path, reason in report.failed]
        passed += [[path, "skipped", reason] for path, reason in report.skipped]
        counts = {
            "added": len(report.added),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "deleted": len(report.deleted),
        }
        with self.sessions.begin() as session:
            session.add(
                IngestRun(
                    finished_at=self.clock(),
                    root=str(root)[:1024],
                    indexed_files=report.indexed_files,
                    chunks_total=report.chunks_total,
                    counts=counts,
                    passed_over=passed,
                )
            )
            session.flush()
            newest = select(IngestRun.id).order_by(IngestRun.id.desc()).limit(KEPT)
            session.execute(delete(IngestRun).where(IngestRun.id.not_in(newest)))

    def latest(self) -> IngestRecord | None:
        with self.sessions() as session:
            row = session.scalars(select(IngestRun).order_by(IngestRun.id.desc()).limit(1)).first()
        if row is None:
            return None
        return IngestRecord(
            finished_at=as_utc(row.finished_at),
            root=row.root,
            indexed_files=row.indexed_files,
            chunks_total=row.chunks_total,
            counts=dict(row.counts or {}),
            passed_over=[PassedOver(*item) for item in row.passed_over or []],
        )

    def count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(IngestRun)) or 0

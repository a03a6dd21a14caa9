"""Typed SQLAlchemy models. Every change here needs an Alembic revision."""

from __future__ import annotations

from sqlalchemy import Float, Index, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class IndexRecord(Base):
    """One indexed chunk, as LangChain's indexing API tracks it (key = content hash)."""

    __tablename__ = "index_records"
    __table_args__ = (
        UniqueConstraint("namespace", "key", name="uq_index_records_namespace_key"),
        Index("ix_index_records_namespace_group", "namespace", "group_id"),
        Index("ix_index_records_namespace_updated", "namespace", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    group_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)

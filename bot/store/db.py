"""Engine, sessions and schema migration for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from bot.private_files import create_empty, private_dir, tighten

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so workers do not trip on locks.

    A SQLite file is created 0600 before SQLite opens it (SQLite gives its -wal, -shm and
    -journal files the database file's mode), and an existing one readable by others is
    tightened: it holds survey answers and who asked what.
    """
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            private_dir(path.parent)
            create_empty(path)
            for suffix in SQLITE_COMPANIONS:
                tighten(path.with_name(path.name + suffix))
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Deleted rows (a sealed run's old rows, purged personal data) are overwritten,
            # not left readable in free pages of the file.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection_engine"] = engine
    return config


def migrate(
    engine: Engine, *, surveys: Callable | None = None, labeller: Callable | None = None
) -> None:
    """Bring the schema to the newest Alembic revision (idempotent).

    Args:
        surveys: returns the survey definitions by id, for migrations that compute stored
            figures from answers (0011 backfills each response's scores); without it
            those runs are scored when they are first reported. Called only if needed.
        labeller: returns the comment sentiment analyzer for the same backfill.
    """
    config = alembic_config(engine)
    config.attributes["surveys"] = surveys
    config.attributes["labeller"] = labeller
    command.upgrade(config, "head")

"""Engine, sessions and schema migration for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.private_files import create_empty, private_dir, tighten

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal", ".migrate.lock")
MIGRATION_LOCK = "changebot-migrate"  # + the schema: one lock per database schema
FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 15.0

log = logging.getLogger(__name__)


class DatabaseUnavailable(RuntimeError):
    """The database did not answer within the configured wait; the message says which."""


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

    Under a lock, so that processes starting together on an empty database take turns:
    the first migrates, the others wait and then find nothing left to do.

    Args:
        surveys: returns the survey definitions by id, for migrations that compute stored
            figures from answers (0011 backfills each response's scores); without it
            those runs are scored when they are first reported. Called only if needed.
        labeller: returns the comment sentiment analyzer for the same backfill.
    """
    config = alembic_config(engine)
    config.attributes["surveys"] = surveys
    config.attributes["labeller"] = labeller
    with migration_lock(engine):
        command.upgrade(config, "head")


@contextlib.contextmanager
def migration_lock(engine: Engine) -> Iterator[None]:
    """PostgreSQL: a session advisory lock keyed by the schema. SQLite: an flock on a
    `<database>.migrate.lock` file next to it (nothing for an in-memory database)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            key = text("SELECT hashtext(:name || ':' || current_schema())")
            lock_id = connection.execute(key, {"name": MIGRATION_LOCK}).scalar_one()
            connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
            connection.commit()  # the lock is the session's; no transaction stays open
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                connection.commit()
        return
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    import fcntl  # POSIX; the bot runs on Linux and macOS

    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def wait_for_database(
    engine: Engine,
    *,
    wait_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Return once the database answers; retry with a growing pause while it does not.

    A database that is still starting (a deployment bringing everything up at once) or
    restarting is waited for, `wait_seconds` at most; then DatabaseUnavailable says which
    database and why. Nothing queued is lost either way: the outbox lives in the database.
    """
    deadline = clock() + wait_seconds
    pause = FIRST_RETRY_SECONDS
    where = engine.url.render_as_string(hide_password=True)
    attempt = 0
    while True:
        attempt += 1
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except DBAPIError as exc:
            reason = str(exc.orig or exc).strip().splitlines()[0] if str(exc) else repr(exc)
            left = deadline - clock()
            if left <= 0:
                raise DatabaseUnavailable(
                    f"The database at {where} did not answer for {wait_seconds:.0f} s "
                    f"({attempt} attempts; last error: {reason}). Check that it is running "
                    "and that CHANGEBOT_DATABASE_URL points at it; "
                    "CHANGEBOT_DATABASE_WAIT_SECONDS sets how long the bot waits."
                ) from exc
            pause = min(pause, left)
            log.warning(
                "The database at %s is not answering (%s); trying again in %.0f s "
                "(giving up in %.0f s)",
                where,
                reason,
                pause,
                left,
            )
            sleep(pause)
            pause = min(pause * 2, LONGEST_RETRY_SECONDS)
            continue
        if attempt > 1:
            log.info("The database at %s answers now (attempt %d)", where, attempt)
        return

"""Alembic migrations on SQLite and PostgreSQL: create index_records, idempotent."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.store.db import alembic_config, make_engine, migrate
from bot.store.models import Base


def test_migrations_create_index_records(db_engine):
    inspector = inspect(db_engine)
    assert "index_records" in inspector.get_table_names()
    columns = {column["name"] for column in inspector.get_columns("index_records")}
    assert columns == {"id", "namespace", "key", "group_id", "updated_at"}
    indexes = {index["name"] for index in inspector.get_indexes("index_records")}
    assert {"ix_index_records_namespace_group", "ix_index_records_namespace_updated"} <= indexes
    uniques = inspector.get_unique_constraints("index_records")
    assert any(set(u["column_names"]) == {"namespace", "key"} for u in uniques)


def test_migrations_are_idempotent_and_keep_data(db_engine):
    with db_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO index_records (namespace, key, group_id, updated_at) "
                "VALUES ('ns', 'k', 'g', 1.5)"
            )
        )
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    migrate(db_engine)
    migrate(db_engine)
    with db_engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        rows = connection.execute(text("SELECT namespace, key FROM index_records")).all()
    assert versions == [(head,)]
    assert head == ScriptDirectory.from_config(alembic_config(db_engine)).get_current_head()
    assert rows == [("ns", "k")]


def test_unique_key_per_namespace_is_enforced(db_engine):
    insert = text(
        "INSERT INTO index_records (namespace, key, group_id, updated_at) "
        "VALUES (:ns, 'k', NULL, 1.0)"
    )
    with db_engine.begin() as connection:
        connection.execute(insert, {"ns": "a"})
        connection.execute(insert, {"ns": "b"})  # same key, other namespace: fine
    with pytest.raises(IntegrityError), db_engine.begin() as connection:
        connection.execute(insert, {"ns": "a"})


def test_sqlite_database_folder_is_created(tmp_path):
    path = tmp_path / "deep" / "er" / "changebot.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    assert path.exists()
    with engine.connect() as connection:
        mode = connection.execute(text("PRAGMA journal_mode")).scalar_one()
    assert mode.lower() == "wal"
    engine.dispose()


def test_models_and_migrations_agree(db_engine):
    """A model change without an Alembic revision shows up here as a difference."""
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []

"""The survey secret and the database on disk: readable by their owner only, from the
moment they exist (a copy of a world-readable `data/` re-identifies every response)."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import event, text

from bot.store.db import make_engine, migrate

OTHERS = 0o077  # group and world bits


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask():
    """The umask most systems start processes with: files come out 0644 unless asked."""
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.fixture
def modes_before_chmod(monkeypatch) -> list[tuple[str, int]]:
    """Every chmod records the mode the file had just before: a file created readable
    and tightened afterwards shows up here."""
    seen: list[tuple[str, int]] = []
    real = os.chmod

    def watching(path, new_mode, *args, **kwargs):
        try:
            seen.append((str(path), stat.S_IMODE(os.stat(path).st_mode)))
        except (FileNotFoundError, TypeError):
            pass
        return real(path, new_mode, *args, **kwargs)

    monkeypatch.setattr(os, "chmod", watching)
    return seen


@pytest.fixture
def creations(monkeypatch) -> list[tuple[str, str]]:
    """Files created, and how: os.open with O_CREAT and its mode, or a plain open() for
    writing (which takes the umask's 0644)."""
    made: list[tuple[str, str]] = []
    real_os_open, real_io_open = os.open, io.open

    def watching_os_open(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT:
            made.append((str(path), oct(mode)))
        return real_os_open(path, flags, mode, *args, **kwargs)

    def watching_io_open(file, mode="r", *args, **kwargs):
        if isinstance(file, str | os.PathLike) and any(m in mode for m in "wax"):
            made.append((str(file), f"open({mode!r})"))
        return real_io_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", watching_os_open)
    monkeypatch.setattr(io, "open", watching_io_open)
    return made


def test_secret_file_is_never_world_readable(
    make_container, settings, usual_umask, modes_before_chmod, creations
):
    secret = make_container().survey_secret
    path = settings.data_dir / "survey-secret"
    made = [(p, how) for p, how in creations if "survey-secret" in p]
    assert made and all(how == oct(0o600) for _, how in made), made  # 0600 from creation
    assert len(secret) == 64 and path.read_bytes().strip() == secret
    assert mode(path) & OTHERS == 0
    assert [m for p, m in modes_before_chmod if p.endswith("survey-secret") and m & OTHERS] == []
    assert make_container().survey_secret == secret  # read back, not made again


def test_an_existing_readable_secret_file_is_tightened(make_container, settings, usual_umask):
    settings.data_dir.mkdir(parents=True)
    path = settings.data_dir / "survey-secret"
    path.write_text("a" * 64)
    path.chmod(0o644)
    assert make_container().survey_secret == b"a" * 64
    assert mode(path) == 0o600


def test_the_secret_from_the_environment_writes_no_file(make_container, settings):
    assert make_container(survey_secret="from-env").survey_secret == b"from-env"
    assert not (settings.data_dir / "survey-secret").exists()


def test_database_files_are_never_readable_by_others(tmp_path, usual_umask):
    path = tmp_path / "data" / "changebot.db"
    engine = make_engine(f"sqlite:///{path}")
    at_first_connect: list[int] = []

    @event.listens_for(engine, "connect")
    def record(dbapi_connection, _record):
        at_first_connect.append(mode(path))

    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE scratch (x TEXT)"))
        connection.execute(text("INSERT INTO scratch VALUES ('private')"))
    files = [p for p in path.parent.iterdir() if p.name.startswith("changebot.db")]
    assert {p.name for p in files} >= {"changebot.db", "changebot.db-wal", "changebot.db-shm"}
    assert {p.name: mode(p) & OTHERS for p in files} == {p.name: 0 for p in files}
    assert at_first_connect and at_first_connect[0] & OTHERS == 0  # 0600 before SQLite wrote
    assert mode(path.parent) & OTHERS == 0  # the data dir we created is ours only
    engine.dispose()


def test_an_existing_readable_database_is_tightened(tmp_path, usual_umask):
    path = tmp_path / "changebot.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    for found in tmp_path.iterdir():
        found.chmod(0o644)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == {
        p.name: 0o600 for p in tmp_path.iterdir()
    }
    engine.dispose()

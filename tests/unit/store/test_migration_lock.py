"""Processes starting together on an empty database: one migrates, the others wait; the
job store's table is there for all of them. And a database that is not up yet is waited
for, with a message that says which one and why."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from replica_bed import empty_schema, postgres_url
from sqlalchemy import create_engine, inspect, text

from bot.store.db import MIGRATIONS_DIR, DatabaseUnavailable, make_engine, wait_for_database

STARTERS = 4

# What a replica does with the database when it starts: migrate, then start its scheduler
# on the job store (which used to create its own table, racing the other replicas).
START = textwrap.dedent(
    """
    import sys
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from bot.store.db import make_engine, migrate

    engine = make_engine(sys.argv[1])
    migrate(engine)
    scheduler = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=engine)})
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
    print("started")
    """
)


def start_together(url: str) -> list[subprocess.CompletedProcess]:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", START, url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(STARTERS)
    ]
    done = []
    for child in children:
        out, err = child.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return done


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


HEAD = _head()


def assert_all_started(url: str, finished: list[subprocess.CompletedProcess]) -> None:
    for child in finished:
        assert child.returncode == 0, child.stderr[-3000:]
        assert child.stdout.strip() == "started"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            [version] = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert version[0] == HEAD  # every process found the schema at the newest revision
        assert {"apscheduler_jobs", "scheduler_lease"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_replicas_starting_together_on_an_empty_postgres_schema_all_start():
    with empty_schema(postgres_url()) as url:
        assert_all_started(url, start_together(url))


def test_processes_starting_together_on_a_new_sqlite_file_all_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'data' / 'changebot.db'}"
    assert_all_started(url, start_together(url))


# -- a database that is not there yet ------------------------------------------------------
def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nobody listens once the socket is closed


def test_a_database_that_never_answers_stops_the_start_with_a_clear_message(caplog):
    engine = make_engine(f"postgresql+psycopg://bot:hunter2@127.0.0.1:{closed_port()}/changebot")
    now = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    with pytest.raises(DatabaseUnavailable) as failure:
        wait_for_database(engine, wait_seconds=40, sleep=sleep, clock=lambda: now[0])
    message = str(failure.value)
    assert "did not answer for 40 s" in message
    assert "127.0.0.1" in message and "hunter2" not in message  # no password in logs
    assert "CHANGEBOT_DATABASE_URL" in message
    assert "CHANGEBOT_DATABASE_WAIT_SECONDS" in message
    assert pauses == [1, 2, 4, 8, 15, 10]  # growing pauses, capped, up to the deadline
    assert "is not answering" in caplog.text and "trying again in 1 s" in caplog.text


def test_a_database_that_answers_is_not_waited_for(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    wait_for_database(engine, wait_seconds=0, sleep=lambda s: pytest.fail("slept"))


def test_the_cli_says_which_database_did_not_answer_and_exits(tmp_path):
    import cli_child

    url = f"postgresql+psycopg://bot:hunter2@127.0.0.1:{closed_port()}/changebot"
    child = cli_child.start(
        "ask",
        "When does phase 1 run?",
        cwd=tmp_path,
        env={
            "CHANGEBOT_DATABASE_URL": url,
            "CHANGEBOT_DATABASE_WAIT_SECONDS": "2",
            "CHANGEBOT_DATA_DIR": str(tmp_path / "data"),
        },
    )
    out, err = child.communicate(timeout=60)
    assert child.returncode == 3, out + err
    said = " ".join(err.split())
    assert "is not answering" in said and "trying again in 1 s" in said  # while it waited
    assert "did not answer for 2 s" in said and "CHANGEBOT_DATABASE_URL" in said
    assert "hunter2" not in out + err
    assert "Traceback" not in err

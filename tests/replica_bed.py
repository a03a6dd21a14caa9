"""Real replicas: `changebot run --http` started as child processes on one PostgreSQL schema.

Each replica has its own data dir (as on its own machine), the tests' fake embedder (see
cli_child.py), the local Slack emulator, and a short scheduler lease so that a takeover
happens in seconds. Their logs go to files (a pipe nobody reads would fill and block them).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import cli_child
import pytest
from slackbed import SIGNING_SECRET
from sqlalchemy import create_engine, text

SURVEY_SECRET = "0123456789abcdef" * 4
POSTGRES_URL_VAR = "CHANGEBOT_TEST_POSTGRES_URL"


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VAR} is not set; multi-replica tests need a PostgreSQL server")
    try:
        with create_engine(url).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means: no server to test against
        pytest.skip(f"PostgreSQL at {POSTGRES_URL_VAR} does not answer ({type(exc).__name__})")
    return url


def with_schema(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@contextmanager
def empty_schema(url: str):
    """A throw-away, empty (unmigrated) schema; yields the URL whose search_path is it."""
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_schema(url, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Replica:
    """One `changebot run --http` child process."""

    def __init__(self, name: str, *, root: Path, database_url: str, slack, kb: Path, **env):
        self.name = name
        self.port = free_port()
        self.data_dir = root / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = root / f"{name}.log"
        self.env = {
            "CHANGEBOT_DATA_DIR": str(self.data_dir),
            "CHANGEBOT_KNOWLEDGE_DIR": str(kb),
            "CHANGEBOT_DATABASE_URL": database_url,
            "CHANGEBOT_SURVEY_SECRET": SURVEY_SECRET,
            "CHANGEBOT_CONSOLE_SECRET": SURVEY_SECRET[::-1],
            "CHANGEBOT_SCHEDULER_LEASE_SECONDS": "3",
            "CHANGEBOT_DELIVERY_RATE": "50",
            "CHANGEBOT_LOG_LEVEL": "INFO",
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.base_url,
            **{key: str(value) for key, value in env.items()},
        }
        self.root = root
        self.process: subprocess.Popen | None = None

    def start(self) -> Replica:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHANGEBOT_", "SLACK_"))}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(cli_child.__file__)),
                    "run",
                    "--http",
                    "--port",
                    str(self.port),
                ],
                env=clean | self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            assert self.process is not None and self.process.poll() is None, (
                f"{self.name} exited:\n{self.log()[-4000:]}"
            )
            assert time.monotonic() < deadline, f"{self.name} not up:\n{self.log()[-4000:]}"
            time.sleep(0.2)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def lease_holder(engine) -> str | None:
    """The scheduler lease's holder as stored ("" when released), None before anyone."""
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT holder FROM scheduler_lease WHERE name = 'scheduler'")
        ).scalar()


def pid_of(holder: str | None) -> int | None:
    """The process id inside a holder id (`host#machine:pid:token`)."""
    if not holder:
        return None
    return int(holder.rsplit(":", 2)[1])


def wait_until(check, *, timeout: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


class TcpProxy:
    """A TCP forwarder to PostgreSQL that the test can take down and bring back: the
    replicas see a database that is not there, or one that drops every connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._server: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and cut the open ones."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def through(url: str, proxy: TcpProxy) -> str:
    """`url` with its host and port replaced by the proxy's."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)

"""Shared fixtures: a deterministic fake embedder, isolated settings, a small playbook
folder and a record-manager database on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
import textwrap
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from broadcast_bed import leaders, start_leaders_bot  # noqa: F401 - fixtures for every test
from browser_bed import browser, playwright_driver  # noqa: F401 - fixtures for tests/browser
from langchain_core.embeddings import Embeddings
from slack_emulator import SlackEmulator
from slackbed import SIGNING_SECRET, TEAM_CHANNEL, BotServer

from bot.config import Settings
from bot.container import Container
from bot.slack.app import build_app
from bot.timeutil import as_utc  # noqa: F401 - tests import it from here

REPO_ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL_VAR = "CHANGEBOT_TEST_POSTGRES_URL"
FAKE_DIM = 256
FAKE_ABSTAIN_THRESHOLD = 0.54
_WORD = re.compile(r"[a-z0-9]+")


class FakeEmbeddings(Embeddings):
    """Hashed bag of words: texts that share words get similar vectors. No model needed."""

    def __init__(self, dim: int = FAKE_DIM) -> None:
        self.dim = dim
        self.document_calls = 0
        self.query_calls = 0
        self.texts_embedded = 0

    def vector(self, text: str) -> list[float]:
        values = [0.0] * self.dim
        for word in _WORD.findall(text.lower()):
            bucket = int(hashlib.md5(word.encode("utf-8")).hexdigest(), 16) % self.dim
            values[bucket] += 1.0
        norm = math.sqrt(sum(v * v for v in values))
        if norm == 0.0:  # no words at all: a fixed unit vector rather than NaNs
            values[0] = 1.0
            return values
        return [v / norm for v in values]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.document_calls += 1
        self.texts_embedded += len(texts)
        return [self.vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        self.query_calls += 1
        return self.vector(text)

    def embed_with_sentences(self, texts, spans):
        """Chunk and sentence vectors in one "pass", as the real model gives them."""
        sentence_vectors = [
            [self.vector(text[a:b]) for a, b in ss] for text, ss in zip(texts, spans, strict=True)
        ]
        return self.embed_documents(texts), sentence_vectors


class FrozenClock:
    """Time stands still until the test moves it (schedules, retention, closing)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def make_settings(**values) -> Settings:
    """Settings from the given values and defaults only: no `.env` file is read."""
    return Settings(_env_file=None, **values)


@pytest.fixture(autouse=True)
def _no_changebot_env(monkeypatch):
    """A developer's own CHANGEBOT_* variables must not leak into the tests."""
    for name in list(os.environ):
        if (name.startswith("CHANGEBOT_") and name != POSTGRES_URL_VAR) or name.startswith(
            "SLACK_"
        ):
            monkeypatch.delenv(name)


@pytest.fixture
def fake_embeddings() -> FakeEmbeddings:
    return FakeEmbeddings()


@pytest.fixture
def settings(tmp_path) -> Settings:
    # The fake embedder's similarities are on another scale than the real model's: these
    # tests keep the abstain threshold they were written for, whatever the shipped default.
    return make_settings(
        data_dir=tmp_path / "data",
        knowledge_dir=tmp_path / "kb",
        abstain_threshold=FAKE_ABSTAIN_THRESHOLD,
    )


@pytest.fixture
def make_container(settings, fake_embeddings):
    """Build containers on the test's data dir; keyword arguments override settings."""

    def build(*, model_id: str = "fake-model", llm=None, embeddings=None, **overrides):
        chosen = settings.model_copy(update=overrides) if overrides else settings
        return Container(
            chosen,
            embeddings=embeddings or fake_embeddings,
            model_id=model_id,
            llm=llm,
        )

    return build


@pytest.fixture
def container(make_container) -> Container:
    return make_container()


def write(path: Path, text: str) -> Path:
    """Write dedented text, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


FAQ_MD = """
---
title: Orion FAQ
type: faq
owner: Orion Programme Office
audience: everyone
updated: 2026-03-01
---

# Orion FAQ

Answers to the questions people ask most about Orion.

### How do I request a training voucher?

Fill in the voucher form on the intranet; your manager approves it within five working days.

### Can I keep using spreadsheets for forecasting?

Only until your team's migration wave ends. After that the Orion platform is the one
supported tool for forecasting.
"""

ROADMAP_MD = """
---
owner: Mina Park
audience: managers, data scientists
updated: 2026-02-01
url: https://intranet.example/orion/roadmap
---

# Orion Roadmap

Orion moves every forecasting model onto one shared platform.

## Phase 1

The platform build phase.

### Dates

Phase 1 runs from 3 March to 30 June 2026.

### Exit criteria

- The model registry is live.
- The feature store is live.

## Phase 2

### Dates

Phase 2 runs from 1 July to 30 November 2026.
"""

NOTES_TXT = """
Getting help with Orion

Office hours are held every Thursday afternoon in the atrium.

The Orion help desk answers tickets within one working day.
"""

OLD_UPDATE = "2025-11-pilot-update.md"
NEW_UPDATE = "2026-01-pilot-update.md"
OLD_UPDATE_MD = """
---
title: Pilot launch update
updated: 2025-11-01
---

# Pilot launch update

The pilot launch is on 9 March. Pilot teams get their access a week before.
"""

NEW_UPDATE_MD = """
---
title: Pilot launch update
updated: 2026-01-15
---

# Pilot launch update

The pilot launch is on 14 May. Pilot teams get their access a week before.
"""


@pytest.fixture
def kb(tmp_path) -> Path:
    """A small playbook folder: an FAQ, a roadmap, a plain text file, and two
    announcements that contradict each other on a date (the newer one is right).

    The announcements are identical but for the date, so they tie on relevance; the
    newer one's file name sorts last, so only the recency rule can put it first."""
    root = tmp_path / "kb"
    write(root / "orion-faq.md", FAQ_MD)
    write(root / "roadmap" / "orion-roadmap.md", ROADMAP_MD)
    write(root / "notes.txt", NOTES_TXT)
    write(root / "announcements" / OLD_UPDATE, OLD_UPDATE_MD)
    write(root / "announcements" / NEW_UPDATE, NEW_UPDATE_MD)
    return root


# -- database ------------------------------------------------------------------------------
def _postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VAR} is not set; PostgreSQL store tests need a server")
    return url


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_engine(request, tmp_path):
    """A migrated engine: a temp SQLite file, or a throw-away schema on PostgreSQL."""
    from sqlalchemy import create_engine, text

    from bot.store.db import make_engine, migrate

    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return

    url = _postgres_url()
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    engine = make_engine(f"{url}{separator}options=-csearch_path%3D{schema}")
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# -- Slack scenarios: the emulator and the app over real HTTP ------------------------------
@pytest.fixture
def slack():
    with SlackEmulator() as emulator:
        emulator.users.update(
            {"U1": {"id": "U1", "real_name": "Ana"}, "U2": {"id": "U2", "real_name": "Ben"}}
        )
        yield emulator


@pytest.fixture
def slack_container(make_container, kb, slack):
    container = make_container(
        slack_bot_token="xoxb-test",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.base_url,
        change_team_channel=TEAM_CHANNEL,
        workers=4,
        slack_retries=2,
    )
    container.indexer.ingest(kb)
    return container


@pytest.fixture
def bot(slack_container, slack):
    app = build_app(slack_container)
    with BotServer(app) as server:
        server.container = slack_container
        server.slack = slack
        yield server


# -- response_url receiver (Bolt's respond) ---------------------------------------------


class ResponseUrls:
    """Stands in for hooks.slack.com: records what the app posts to a command's or a button's
    `response_url` (Bolt's `respond`)."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self._cond = threading.Condition()
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {"raw": raw}
                with received._cond:
                    received.posts.append({"path": self.path, "body": body})
                    received._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, name: str = "hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[dict]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.posts) >= count, timeout):
                raise AssertionError(f"expected {count} response_url post(s), got {self.posts}")
            return list(self.posts)


@pytest.fixture
def response_urls():
    receiver = ResponseUrls()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()

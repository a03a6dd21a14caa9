"""`CHANGEBOT_CHROMA_URL` against a real Chroma server, the way several replicas use it.

The server is the one the installed `chromadb` package ships (`chroma run`), started on a free
local port for this module and stopped after it. Every test uses its own collection name, so
the tests share the server but not an index. The processes share one SQLite database file
here (the index-generation pointer lives in the database); the embedding model is the tests'
fake one, everything else is real.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import cli_child
import httpx
import pytest
from conftest import ROADMAP_MD, write
from test_ingest_while_answering import NEW, OLD, QUESTION, Answering, assert_switched

pytestmark = pytest.mark.integration

STARTUP_TIMEOUT = 60.0


def _chroma_command() -> str | None:
    beside_python = Path(sys.executable).parent / "chroma"
    return str(beside_python) if beside_python.exists() else shutil.which("chroma")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    command = _chroma_command()
    if command is None:
        pytest.skip("the `chroma` command of the chromadb package is not installed")
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("w")
    server = subprocess.Popen(
        [command, "run", "--path", str(path / "data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError(
                    f"chroma run did not start: {(path / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def on_server(make_container, chroma_url):
    """A container on the Chroma server with a collection of its own, and the environment a
    second process needs to reach the same index."""
    collection = f"t{uuid.uuid4().hex[:12]}"
    container = make_container(chroma_url=chroma_url, chroma_collection=collection)
    env = {"CHANGEBOT_CHROMA_URL": chroma_url, "CHANGEBOT_CHROMA_COLLECTION": collection}
    return container, env


def _in_another_process(tmp_path, container, env, *args: str) -> str:
    child = cli_child.start(
        *args, "--data-dir", str(container.settings.data_dir), cwd=tmp_path, env=env
    )
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, f"{args[0]} failed:\n{out}\n{err}"
    return out


def test_the_index_lives_on_the_server_not_in_the_data_dir(on_server, kb):
    container, _ = on_server
    container.indexer.ingest(kb)
    assert not (container.settings.data_dir / "chroma").exists()
    asked = container.question_service.ask(QUESTION, user_id="U1", surface="cli")
    assert OLD in asked.answer.text and asked.answer.sources


def test_ingest_in_one_process_answers_from_another(on_server, kb, tmp_path):
    container, env = on_server
    out = _in_another_process(tmp_path, container, env, "ingest", str(kb))
    assert "5 added" in out
    asked = container.question_service.ask(QUESTION, user_id="U1", surface="cli")
    assert OLD in asked.answer.text
    assert "orion-roadmap.md" in json.dumps([s.to_json() for s in asked.answer.sources])


def test_ingest_here_answers_from_a_second_process(on_server, kb, tmp_path):
    container, env = on_server
    container.indexer.ingest(kb)
    out = _in_another_process(tmp_path, container, env, "ask", QUESTION, "--json")
    answer = json.loads(out)
    assert OLD in answer["answer"] and answer["sources"]


@pytest.mark.parametrize("extra", [(), ("--rebuild",)], ids=["ingest", "rebuild"])
def test_reindexing_on_the_server_while_answering_never_fails_an_answer(
    on_server, kb, tmp_path, extra
):
    container, env = on_server
    container.indexer.ingest(kb)
    assert OLD in container.question_service.ask(QUESTION, user_id="U1", surface="cli").answer.text
    write(kb / "roadmap" / "orion-roadmap.md", ROADMAP_MD.replace(OLD, NEW))
    with Answering(container.question_service) as answering:
        time.sleep(0.5)
        _in_another_process(tmp_path, container, env, "ingest", str(kb), *extra)
        ended = time.monotonic()
        time.sleep(7)
    assert answering.failures == [], answering.failures[:3]
    assert len(answering.answers) > 20
    assert_switched(answering, ended)

"""Browser tests of the console: Debian's Chromium driven by Playwright, the console served by
uvicorn on a free port of 127.0.0.1. Playwright never downloads a browser here; without
/usr/bin/chromium the browser tests are skipped with how to get one."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

CHROMIUM = os.environ.get("CHANGEBOT_TEST_CHROMIUM") or shutil.which("chromium") or ""
if not CHROMIUM and Path("/usr/bin/chromium").exists():
    CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO_GET_ONE = (
    "no Chromium found: install Debian's package (`apt-get install -y chromium`, as .ci/run "
    "does) or point CHANGEBOT_TEST_CHROMIUM at a Chromium binary"
)


def bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class AsgiServer:
    """Any ASGI app under uvicorn on an already bound socket (so its URL is known early)."""

    def __init__(self, app, sock: socket.socket) -> None:
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture(scope="module")
def playwright_driver():
    """Playwright's sync API runs an event loop in this thread while it is open: closed
    after the browser tests' module, so later tests can use asyncio.run again."""
    if not CHROMIUM:
        pytest.skip(HOW_TO_GET_ONE)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright_driver, tmp_path):
    """A fresh Chromium profile per test; screenshots go to the test's tmp dir."""
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1200, "height": 900},
    )
    context.set_default_timeout(15_000)
    page = context.pages[0] if context.pages else context.new_page()
    page.shots = tmp_path / "screenshots"
    page.shots.mkdir()
    yield page
    context.close()


def shot(page, name: str) -> Path:
    """A full-page screenshot kept under the test's tmp dir (the test run's artifact)."""
    path = page.shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path

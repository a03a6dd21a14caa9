"""Run the real `changebot` CLI in a child process, with the tests' fake embedder.

    python tests/cli_child.py ingest KB --data-dir DATA

Everything but the embedding model is the real thing (settings, database, Chroma), so a
test can run a command in another process exactly as an operator would, in a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    sys.path.insert(0, str(HERE))
    from conftest import FakeEmbeddings

    import bot.container
    from bot import cli

    real = bot.container.Container

    def container(settings, **kwargs):
        return real(settings, embeddings=FakeEmbeddings(), model_id="fake-model")

    bot.container.Container = container
    sys.argv = ["changebot", *sys.argv[1:]]
    cli.main()


def start(*args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """Start `changebot *args` in a child process (fake embedder) in `cwd` (where no `.env`
    lies); the caller waits for it."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHANGEBOT_", "SLACK_"))}
    return subprocess.Popen(
        [sys.executable, str(HERE / "cli_child.py"), *args],
        env=clean | {"COLUMNS": "200"} | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


if __name__ == "__main__":
    main()

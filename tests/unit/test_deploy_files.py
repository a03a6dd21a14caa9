"""The Dockerfile and deploy/compose.yaml cannot be built here (no container daemon on these
machines), so their promises are checked as files: the image installs exactly what the
Makefile installs, runs as a non-root user, checks `/health`; the compose file has two HTTP
replicas on PostgreSQL and a Chroma server, and every setting it names exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()
COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def _pip_installs(text: str) -> list[str]:
    """What each `pip install` asks for, in order, without pip's own options."""
    found = []
    for line in re.findall(r"pip install ([^\n\\&]+)", text):
        words = [w for w in line.split() if not w.startswith("-") and "download.pytorch" not in w]
        words = [w.strip("'\"") for w in words if w not in {"$(BIN)/pip"}]
        if words and words != ["pip"]:
            found.append(" ".join(words))
    return found


def test_the_image_installs_what_the_makefile_installs_in_the_same_order():
    make = _pip_installs(MAKEFILE.split("$(DEV_STAMP):")[0])  # `make run`'s install
    image = _pip_installs(DOCKERFILE)
    assert make == ["torch==2.13.0", "."]
    assert image == ["torch==2.13.0", ".[postgres]"]
    pinned = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in pinned
    assert "--index-url https://download.pytorch.org/whl/cpu" in DOCKERFILE  # the CPU build


def test_the_image_runs_as_a_non_root_user_with_a_health_check():
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", DOCKERFILE, re.M)
    assert 'CMD ["changebot", "run", "--http"]' in DOCKERFILE
    assert "HF_HUB_OFFLINE=1" in DOCKERFILE  # the model comes from the PyPI package


def test_compose_runs_two_http_replicas_on_postgresql_and_a_chroma_server():
    services = COMPOSE["services"]
    bots = [name for name in services if name.startswith("bot-")]
    assert len(bots) == 2
    for name in bots:
        env = services[name]["environment"]
        assert env["CHANGEBOT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["CHANGEBOT_CHROMA_URL"].startswith("http://chroma:")
    assert services["db"]["image"].startswith("postgres:")
    assert services["chroma"]["image"].startswith("chromadb/chroma:")


def test_every_setting_the_deploy_files_name_exists():
    known = {f"CHANGEBOT_{name.upper()}" for name in Settings.model_fields}
    example = (ROOT / "deploy" / "example.env").read_text()
    named = set(re.findall(r"^(CHANGEBOT_[A-Z_]+)=", example, re.M))
    for service in COMPOSE["services"].values():
        named |= {k for k in service.get("environment", {}) if k.startswith("CHANGEBOT_")}
    named |= set(re.findall(r"(CHANGEBOT_[A-Z_]+)=", DOCKERFILE))
    assert named and named <= known, named - known
    # the secrets HTTP mode refuses to start without are in the example
    assert {"CHANGEBOT_SURVEY_SECRET", "CHANGEBOT_CONSOLE_SECRET"} <= named

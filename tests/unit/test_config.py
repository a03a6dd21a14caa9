"""Settings: documented, overridable from the environment, and clear when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO_ROOT

from bot.config import BUNDLED_MODEL, Settings, SettingsError, load_settings


@pytest.fixture
def no_dotenv(tmp_path, monkeypatch):
    """Run from an empty folder so a developer's `.env` cannot interfere."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented_in_the_readme(name):
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"CHANGEBOT_{name.upper()}" in readme


def test_every_setting_has_a_description():
    for name, field in Settings.model_fields.items():
        assert field.description, name


def test_defaults(no_dotenv):
    settings = load_settings()
    assert settings.data_dir == Path("data")
    assert settings.knowledge_dir == Path("knowledge")
    assert settings.embedding_model == BUNDLED_MODEL
    assert settings.llm is None
    assert settings.chroma_collection == "playbook"
    expected_db = (Path("data") / "changebot.db").resolve()
    assert settings.resolved_database_url == f"sqlite:///{expected_db}"
    assert settings.chroma_path == Path("data") / "chroma"


def test_environment_overrides(no_dotenv, monkeypatch):
    monkeypatch.setenv("CHANGEBOT_RETRIEVAL_K", "7")
    monkeypatch.setenv("CHANGEBOT_DATA_DIR", "/srv/changebot")
    monkeypatch.setenv("CHANGEBOT_DATABASE_URL", "postgresql+psycopg://bot@db/changebot")
    monkeypatch.setenv("CHANGEBOT_LLM", "ollama:llama3.1")
    monkeypatch.setenv("CHANGEBOT_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.retrieval_k == 7
    assert settings.data_dir == Path("/srv/changebot")
    assert settings.chroma_path == Path("/srv/changebot/chroma")
    assert settings.resolved_database_url == "postgresql+psycopg://bot@db/changebot"
    assert settings.llm == "ollama:llama3.1"
    assert settings.log_level == "DEBUG"


def test_dotenv_file_is_read_and_environment_wins(no_dotenv, monkeypatch):
    (no_dotenv / ".env").write_text(
        "CHANGEBOT_HELP_CHANNEL=#from-dotenv\nCHANGEBOT_RETRIEVAL_K=5\n", encoding="utf-8"
    )
    monkeypatch.setenv("CHANGEBOT_RETRIEVAL_K", "9")
    settings = load_settings()
    assert settings.help_channel == "#from-dotenv"
    assert settings.retrieval_k == 9


def test_cli_overrides_beat_the_environment_and_none_is_ignored(no_dotenv, monkeypatch):
    monkeypatch.setenv("CHANGEBOT_DATA_DIR", "/from/env")
    assert load_settings(data_dir=Path("/from/cli")).data_dir == Path("/from/cli")
    assert load_settings(data_dir=None).data_dir == Path("/from/env")


def test_invalid_value_names_the_variable(no_dotenv, monkeypatch):
    monkeypatch.setenv("CHANGEBOT_RETRIEVAL_K", "abc")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "CHANGEBOT_RETRIEVAL_K" in message
    assert Settings.model_fields["retrieval_k"].description in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CHANGEBOT_RETRIEVAL_K", "0"),
        ("CHANGEBOT_CHUNK_SIZE", "10"),
        ("CHANGEBOT_LLM_TIMEOUT", "-1"),
        ("CHANGEBOT_EMBEDDING_BATCH_SIZE", "many"),
    ],
)
def test_out_of_range_values_are_refused(no_dotenv, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_all_errors_are_listed_at_once(no_dotenv, monkeypatch):
    monkeypatch.setenv("CHANGEBOT_RETRIEVAL_K", "abc")
    monkeypatch.setenv("CHANGEBOT_CHUNK_SIZE", "xyz")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "CHANGEBOT_RETRIEVAL_K" in str(caught.value)
    assert "CHANGEBOT_CHUNK_SIZE" in str(caught.value)

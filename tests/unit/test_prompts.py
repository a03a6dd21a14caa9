"""Prompt templates: all shipped ones load; a broken one is refused with PromptError."""

from __future__ import annotations

import shutil

import pytest

from bot.prompts import DEFAULT_PROMPTS_DIR, EXPECTED_FIELDS, PromptError, PromptLibrary

SHIPPED = sorted(path.stem for path in DEFAULT_PROMPTS_DIR.glob("*.md"))


@pytest.fixture
def prompt_dir(tmp_path):
    target = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, target)
    return target


def test_every_expected_template_is_shipped():
    assert set(EXPECTED_FIELDS) <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_template_loads_and_renders(name):
    template = PromptLibrary().get(name)
    values = {field: f"<{field}>" for field in EXPECTED_FIELDS.get(name, ())}
    rendered = template.render(**values)
    assert rendered.strip()
    for value in values.values():
        assert value in rendered
    assert "{" not in rendered.replace("{{", "")  # no placeholder left unfilled


def test_validate_all_passes_for_the_shipped_templates():
    PromptLibrary().validate_all()


def test_abstain_names_the_help_channel():
    text = PromptLibrary().get("abstain").render(help_channel="#orion-help")
    assert "#orion-help" in text
    assert "couldn't find" in text


def test_wrong_placeholder_is_refused(prompt_dir):
    (prompt_dir / "abstain.md").write_text("Ask in {channel}.", encoding="utf-8")
    with pytest.raises(PromptError) as caught:
        PromptLibrary(prompt_dir).get("abstain")
    assert "help_channel" in str(caught.value)
    assert "channel" in str(caught.value)


def test_missing_placeholder_is_refused(prompt_dir):
    (prompt_dir / "answer_user.md").write_text("Question: {question}\n", encoding="utf-8")
    with pytest.raises(PromptError, match="passages"):
        PromptLibrary(prompt_dir).validate_all()


def test_malformed_template_is_refused(prompt_dir):
    (prompt_dir / "answer_user.md").write_text("{question} {passages", encoding="utf-8")
    with pytest.raises(PromptError, match="malformed"):
        PromptLibrary(prompt_dir).get("answer_user")


def test_missing_template_is_refused(prompt_dir):
    (prompt_dir / "empty_index.md").unlink()
    with pytest.raises(PromptError, match="missing"):
        PromptLibrary(prompt_dir).validate_all()


def test_placeholder_in_a_template_that_takes_none_is_refused(prompt_dir):
    (prompt_dir / "empty_index.md").write_text("Run ingest in {data_dir}.", encoding="utf-8")
    with pytest.raises(PromptError):
        PromptLibrary(prompt_dir).get("empty_index")


def test_edits_to_a_template_are_used(prompt_dir):
    (prompt_dir / "abstain.md").write_text("Nope. Try {help_channel}!", encoding="utf-8")
    assert PromptLibrary(prompt_dir).get("abstain").render(help_channel="#x") == "Nope. Try #x!"

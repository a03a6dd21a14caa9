"""Every YAML file we read refuses aliases: a few hundred bytes must not expand into
millions of nodes ("billion laughs"), and the message names the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.evaluate import EvalFileError, load_questions
from bot.knowledge.loaders import LoadError, load_file
from bot.surveys.definitions import load_surveys

# Nine levels of nine: 9^9 (387 million) strings once expanded, from under 500 bytes.
LAUGHS = "\n".join(
    [f"l0: &l0 [{','.join(['lol'] * 9)}]"]
    + [f"l{n}: &l{n} [{','.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 9)]
)


def _survey(folder: Path) -> str:
    path = folder / "laughs.yaml"
    path.write_text(
        "id: laughs\ntitle: Laughs\nintro: hi\ncadence:\n  weekly: {day: mon}\n"
        "questions:\n  - id: q\n    text: Q?\n    type: likert5\n    dimension: resistance\n"
        + LAUGHS
        + "\n",
        encoding="utf-8",
    )
    result = load_surveys(folder)
    assert not result.surveys
    return "\n".join(str(e) for e in result.errors)


def _front_matter(folder: Path) -> str:
    path = folder / "laughs.md"
    path.write_text(f"---\ntitle: Laughs\n{LAUGHS}\n---\n# Laughs\n\nText.\n", encoding="utf-8")
    with pytest.raises(LoadError) as caught:
        load_file(path, folder)
    return f"{path}: {caught.value}"  # the ingest report puts the path in front


def _eval_file(folder: Path) -> str:
    path = folder / "laughs-eval.yaml"
    path.write_text(LAUGHS + "\nquestions:\n  - *l8\n", encoding="utf-8")
    with pytest.raises(EvalFileError) as caught:
        load_questions(path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("reader", "name"),
    [(_survey, "laughs.yaml"), (_front_matter, "laughs.md"), (_eval_file, "laughs-eval.yaml")],
    ids=["survey", "front-matter", "eval-file"],
)
def test_yaml_aliases_are_refused_fast_with_a_message_naming_the_file(tmp_path, reader, name):
    message = reader(tmp_path)
    assert name in message
    assert "aliases" in message
    assert "line" in message  # where the first alias is, so the author can find it

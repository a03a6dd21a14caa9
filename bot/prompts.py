"""Prompt and message templates: files under `prompts/`, loaded by name and validated."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"

# name -> the placeholders the code fills in; a template must use exactly these.
EXPECTED_FIELDS: dict[str, frozenset[str]] = {
    "abstain": frozenset({"help_channel"}),
    "empty_index": frozenset(),
    "answer_system": frozenset(),
    "answer_user": frozenset({"question", "passages"}),
    # Slack replies
    "slack_error": frozenset(),
    "attachments": frozenset(),
    "escalated": frozenset(),
    "already_escalated": frozenset(),
    "no_team_channel": frozenset({"help_channel"}),
    "feedback_thanks": frozenset(),
    "feedback_unhelpful": frozenset(),
    "ask_usage": frozenset(),
    "greeting": frozenset(),
    "expired": frozenset(),
    "console_link": frozenset({"url", "minutes"}),
    "console_no_role": frozenset(),
}


class PromptError(RuntimeError):
    """A template file is missing or uses placeholders the code does not provide."""


@dataclass(frozen=True)
class Template:
    name: str
    text: str

    def render(self, **values: str) -> str:
        return self.text.format(**values)


class PromptLibrary:
    def __init__(self, directory: Path = DEFAULT_PROMPTS_DIR) -> None:
        self.directory = directory
        self._cache: dict[str, Template] = {}

    def get(self, name: str) -> Template:
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def validate_all(self) -> None:
        for name in EXPECTED_FIELDS:
            self.get(name)

    def _load(self, name: str) -> Template:
        path = self.directory / f"{name}.md"
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise PromptError(f"Prompt template {path} is missing ({exc.strerror}).") from exc
        expected = EXPECTED_FIELDS.get(name, frozenset())
        try:
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError as exc:
            raise PromptError(f"Prompt template {path} is malformed: {exc}") from exc
        if used != expected:
            raise PromptError(
                f"Prompt template {path} must use the placeholders "
                f"{sorted(expected)}, found {sorted(used)}."
            )
        return Template(name, text)

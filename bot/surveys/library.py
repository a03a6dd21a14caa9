"""The question library: change items (resistance, readiness, ADKAR) a survey references by id.

The items live in ``question_library.yaml`` next to this module, each with the published
instrument it is adapted from. ``expand`` turns ``{library: adkar-awareness}`` into the full
question before a survey file is validated, so a referenced item is checked like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from bot.yamlfiles import read_yaml_list

LIBRARY_FILE = Path(__file__).with_name("question_library.yaml")
QUESTION_KEYS = ("text", "type", "dimension", "reverse")  # taken from the library, never the survey
OWN_KEYS = frozenset({"library", "id", "required"})  # a survey may set these on a reference


class LibraryError(ValueError):
    """The library file itself is broken (a packaging error, not the survey author's)."""


@cache
def library_items() -> Mapping[str, dict[str, Any]]:
    """Item id -> its fields (id, text, type, dimension, reverse, source)."""
    items: dict[str, dict[str, Any]] = {}
    for item in read_yaml_list(LIBRARY_FILE, "items", LibraryError):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise LibraryError(f"{LIBRARY_FILE}: every item needs an id")
        if item["id"] in items:
            raise LibraryError(f"{LIBRARY_FILE}: '{item['id']}' appears twice")
        items[item["id"]] = item
    return items


def expand(data: Any) -> Any:
    """A question mapping with its ``library:`` reference replaced by the item's fields."""
    if not isinstance(data, dict) or "library" not in data:
        return data
    ref = data["library"]
    items = library_items()
    if not isinstance(ref, str) or ref not in items:
        raise ValueError(f"'{ref}' is not in the question library; use one of {', '.join(items)}")
    extra = sorted(set(data) - OWN_KEYS)
    if extra:
        raise ValueError(
            "a library item's wording and scoring come from the library; remove "
            f"{', '.join(extra)} (a reference may only set id and required)"
        )
    item = items[ref]
    question = {key: item[key] for key in QUESTION_KEYS if key in item}
    question["id"] = data.get("id", ref)
    if "required" in data:
        question["required"] = data["required"]
    return question

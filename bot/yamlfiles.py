"""Reading the small YAML files people hand us (front matter, survey definitions, eval sets),
with one safe loader and messages that say what to fix.

Every YAML we read goes through `SafeLoader` below: PyYAML's safe loader without aliases.
An alias (`*name`) repeats an anchored value; nested aliases expand exponentially ("billion
laughs": a 459-byte survey file became 176 MiB and seconds of work on every reload), and
none of our files needs them.
"""

from __future__ import annotations

from pathlib import Path

import yaml

ALIAS_REFUSED = (
    "YAML aliases (*name) are not allowed here: they can make a small file expand "
    "into a huge one; write the value out instead"
)


class SafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses aliases as soon as it meets one (before expanding)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, ALIAS_REFUSED, event.start_mark)
        return super().compose_node(parent, index)


def safe_load(text: str):
    """yaml.safe_load without aliases; raises yaml.YAMLError (a MarkedYAMLError for an alias)."""
    return yaml.load(text, Loader=SafeLoader)


def read_yaml_list(path: str | Path, key: str, error: type[Exception]) -> list:
    """The non-empty list under `key` in the YAML file at `path`; `error` says what is wrong."""
    path = Path(path)
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"Cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path} is not valid YAML: {exc}") from exc
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise error(f"{path} needs a non-empty '{key}:' list")
    return items

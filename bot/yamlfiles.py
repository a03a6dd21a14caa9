"""Reading the small YAML files people hand us (eval sets), with messages that say what to fix."""

from __future__ import annotations

from pathlib import Path

import yaml


def read_yaml_list(path: str | Path, key: str, error: type[Exception]) -> list:
    """The non-empty list under `key` in the YAML file at `path`; `error` says what is wrong."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"Cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path} is not valid YAML: {exc}") from exc
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise error(f"{path} needs a non-empty '{key}:' list")
    return items

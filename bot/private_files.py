"""Files only their owner may read (the survey secret, the SQLite database), readable by
nobody else from the moment they exist: created with mode 0600 rather than tightened
after a moment at the umask's 0644."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
_OTHERS = 0o077


def private_dir(path: Path) -> None:
    """Create the folder (0700) if it is missing; an existing one is left as it is."""
    if not path.exists():
        path.mkdir(parents=True, mode=DIR_MODE, exist_ok=True)


def tighten(path: Path) -> bool:
    """Make an existing file 0600 if group or others could read it; True when changed."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    if not current & _OTHERS:
        return False
    os.chmod(path, FILE_MODE)
    log.warning("%s was readable by other users (mode %o); it is now 0600", path, current)
    return True


def create_empty(path: Path) -> bool:
    """Create an empty file with mode 0600 unless it exists; True when this call made it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        return False
    return True


def create_with(path: Path, content: str) -> bool:
    """Create `path` holding `content`, mode 0600 throughout, unless it exists.

    Written to a private temporary file first and then linked into place, so another
    process never reads it half-written, and of two processes racing exactly one wins.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
    finally:
        temporary.unlink(missing_ok=True)
    return True

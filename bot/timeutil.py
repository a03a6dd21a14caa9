"""Time helpers every service shares: the clock, UTC from the database, time zones."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    """The default clock of every service (tests hand in a frozen one)."""
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """Aware UTC. SQLite hands back naive datetimes (stored as UTC), PostgreSQL aware ones."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The IANA zone `name`; `fallback` (logged) when it is empty or unknown."""
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("Unknown time zone %r; using %s", name, fallback)
        return ZoneInfo(fallback)

"""When a pulse reminder may be sent: never at a recipient's weekend."""

from __future__ import annotations

import datetime as dt

from bot.timeutil import as_utc, zone

REMINDER_TIME = dt.time(9, 0)  # a reminder due at the weekend waits for Monday, 09:00 local


def reminder_moment(moment: dt.datetime, tz: str) -> dt.datetime:
    """`moment`, or Monday 09:00 in `tz` when it falls on a Saturday or Sunday there (UTC)."""
    local_zone = zone(tz)
    local = as_utc(moment).astimezone(local_zone)
    if local.weekday() < 5:
        return as_utc(moment)
    monday = local.date() + dt.timedelta(days=7 - local.weekday())
    return dt.datetime.combine(monday, REMINDER_TIME, tzinfo=local_zone).astimezone(dt.UTC)

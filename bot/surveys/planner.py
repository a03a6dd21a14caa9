"""When pulse surveys go out: runs created once per due date, DMs at 09:00 local time.

A single APScheduler job (kept in the SQLAlchemy job store) calls `tick()` every
minute. `tick` is idempotent — a run is unique per (survey, due date) and every DM
is an outbox row with a unique key — so a restart, a second tick or a late tick
never sends anything twice. Each recipient's DM waits in the outbox until their
own send time (zoneinfo handles daylight saving); a due date missed while the bot
was down is still sent when it comes back within the grace period.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.delivery.outbox import Envelope, Outbox
from bot.surveys.definitions import Survey
from bot.timeutil import zone

log = logging.getLogger(__name__)

EARLIEST = dt.timedelta(hours=14)  # UTC+14: the first place a local date begins
LATEST = dt.timedelta(hours=12)  # UTC-12: the last place it ends


@dataclass(frozen=True)
class Recipient:
    user_id: str
    tz: str


def local_moment(day: dt.date, hhmm: str, tz: str, fallback: str = "UTC") -> dt.datetime:
    """`hhmm` on `day` in time zone `tz`, as an aware UTC datetime (DST-correct)."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone(tz, fallback)).astimezone(
        dt.UTC
    )


class PulsePlanner:
    def __init__(
        self,
        *,
        surveys: Callable[[], dict[str, Survey]],
        runs,
        outbox: Outbox,
        audience: Callable[[Survey], list[Recipient]],
        invitation: Callable[[Survey, object], dict],
        reminder: Callable[[Survey, object], dict],
        on_close: Callable[[object], None] | None = None,
        tz_of: Callable[[str], str] = lambda user_id: "UTC",
        grace: dt.timedelta = dt.timedelta(hours=12),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        default_tz: str = "UTC",
    ) -> None:
        self.surveys = surveys
        self.runs = runs
        self.outbox = outbox
        self.audience = audience
        self.invitation = invitation
        self.reminder = reminder
        self.on_close = on_close
        self.tz_of = tz_of
        self.grace = grace
        self.clock = clock
        self.default_tz = default_tz

    # -- the scheduled job -----------------------------------------------------------------
    def tick(self) -> dict[str, int]:
        now = self.clock()
        created = reminded = 0
        surveys = self.surveys()
        for survey in surveys.values():
            for day in self._candidate_dates(survey, now):
                if self._start_run(survey, day, now) is not None:
                    created += 1
        for run_id, user_id in self.runs.due_reminders(now, self.tz_of):
            run = self.runs.get_run(run_id)
            survey = surveys.get(run.survey_id)
            if survey is None or not survey.reminders:
                continue
            self.outbox.enqueue(
                f"pulse-{run_id}-reminder", [Envelope(user_id, self.reminder(survey, run))]
            )
            self.runs.mark_reminded(run_id, user_id)
            reminded += 1
        closed = self.runs.close_due(now)
        for run in closed:
            # Who was sent the DM, and who was reminded (had not answered by half-way), is
            # forgotten with the invitations. A row still being sent right now is left.
            for campaign in (f"pulse-{run.id}", f"pulse-{run.id}-reminder"):
                self.outbox.cancel(campaign)
                self.outbox.forget(campaign)
            if self.on_close is not None:
                try:
                    self.on_close(run)
                except Exception:
                    log.exception("Alerting after run %s closed failed", run.id)
        return {"created": created, "reminded": reminded, "closed": len(closed)}

    def _candidate_dates(self, survey: Survey, now: dt.datetime) -> list[dt.date]:
        """Due dates whose first local send time has begun and whose grace has not run out."""
        start = (now - self.grace - LATEST - dt.timedelta(days=2)).date()
        dates = []
        for day in survey.cadence.next_dates(start - dt.timedelta(days=1), count=4):
            opens = local_moment(day, survey.send_time, "UTC") - EARLIEST
            if opens > now:
                break
            last_send = local_moment(day, survey.send_time, "UTC") + LATEST
            if now > last_send + self.grace:
                if self.runs.find_run(survey.id, day) is None:
                    log.warning("Missed %s due %s: the bot was down past the grace", survey.id, day)
                continue
            dates.append(day)
        return dates

    # -- starting a run --------------------------------------------------------------------
    def _start_run(self, survey: Survey, day: dt.date, now: dt.datetime, *, immediately=False):
        recipients = self.audience(survey)
        if not recipients:
            log.warning("Survey %s has nobody in its audience; no run created", survey.id)
            return None
        window = dt.timedelta(days=survey.response_window_days)
        if immediately:
            opens, closes = now, now + window
        else:
            opens = local_moment(day, survey.send_time, "UTC") - EARLIEST
            closes = local_moment(day, survey.send_time, "UTC") + LATEST + window
        run, created = self.runs.create_run(
            survey, day, [r.user_id for r in recipients], opens_at=opens, closes_at=closes
        )
        if not created:
            # A second tick (or one after a crash between the run and its queue): queue the
            # people the run invited, never someone who joined the audience since — their
            # answer would be refused as "not invited". A closed run queues nothing.
            invited = self.runs.invited(run.id) if run.status == "open" else set()
            recipients = [r for r in recipients if r.user_id in invited]
        payload = self.invitation(survey, run)
        by_time: dict[dt.datetime, list[Envelope]] = {}
        for recipient in recipients:
            at = (
                now
                if immediately
                else max(now, local_moment(day, survey.send_time, recipient.tz, self.default_tz))
            )
            by_time.setdefault(at, []).append(Envelope(recipient.user_id, payload))
        for at, envelopes in by_time.items():
            self.outbox.enqueue(f"pulse-{run.id}", envelopes, at=at)
        return run if created else None

    def send_now(self, survey: Survey):
        """HR's send-now: a run for today that goes out at once (still never twice a day)."""
        now = self.clock()
        today = now.astimezone(ZoneInfo(self.default_tz)).date()
        existing = self.runs.find_run(survey.id, today)
        if existing is not None:
            return existing, False
        return self._start_run(survey, today, now, immediately=True), True

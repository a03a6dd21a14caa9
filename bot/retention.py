"""One purge for everything kept about people, run by the hourly housekeeping job.

Each domain owns its rule; this only calls them in turn with the cut-off from settings:

- questions, answers, feedback and escalations: `CHANGEBOT_RETENTION_DAYS`
  (bot.questions.service), plus handled Slack event ids after two hours;
- survey runs: who was invited, the respondent keys and the run's DM queue go when the
  run closes; a closed run not sealed yet (closed before sealing existed, or while its
  survey file was broken) is sealed here (bot.surveys.runs);
- outbox payloads (names and text) of finished messages:
  `CHANGEBOT_OUTBOX_PAYLOAD_RETENTION_DAYS` (bot.delivery.outbox);
- who acknowledged or asked about a leader's update: `CHANGEBOT_ACK_RETENTION_DAYS`
  after it was sent, counts kept (bot.broadcasts.retention);
- people who left (inactive in the directory): `CHANGEBOT_LEAVER_RETENTION_DAYS` after
  they became inactive, their personal data and cached DM channel (bot.directory).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from bot.broadcasts.retention import forget_acknowledgements
from bot.broadcasts.service import is_channel, post_campaign
from bot.timeutil import utcnow

log = logging.getLogger(__name__)


class Retention:
    def __init__(
        self,
        *,
        questions,
        survey_runs,
        outbox,
        broadcast_sessions,
        directory,
        payload_days: int,
        ack_days: int,
        leaver_days: int,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.questions = questions
        self.survey_runs = survey_runs
        self.outbox = outbox
        self.broadcast_sessions = broadcast_sessions
        self.directory = directory
        self.payload_days = payload_days
        self.ack_days = ack_days
        self.leaver_days = leaver_days
        self.clock = clock

    def purge(self) -> dict[str, int]:
        """Apply every retention rule once; returns how much each one removed."""
        now = self.clock()
        events, questions = self.questions.purge()
        done = {"slack_events": events, "questions": questions}
        done["survey_runs_sealed"] = self.survey_runs.seal_closed()
        done["outbox_payloads"] = self.outbox.blank_payloads(
            now - dt.timedelta(days=self.payload_days)
        )
        done["acknowledged_updates"] = forget_acknowledgements(
            sessions=self.broadcast_sessions,
            dm_recipients=self._dm_recipients,
            before=now - dt.timedelta(days=self.ack_days),
            now=now,
        )
        leavers = self.directory.forget_leavers(now - dt.timedelta(days=self.leaver_days))
        self.outbox.forget_dm_channels(leavers)
        done["leavers"] = len(leavers)
        if any(done.values()):
            log.info("Retention purge: %s", done)
        return done

    def _dm_recipients(self, broadcast_id: int) -> set[str]:
        return {
            row.recipient
            for row in self.outbox.rows(post_campaign(broadcast_id))
            if row.status == "sent" and not is_channel(row.recipient)
        }

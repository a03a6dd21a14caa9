"""Broadcasts: a leader's update from the modal to every copy in Slack, and back.

The audience is resolved when the update goes out (directory departments, Slack user
groups, everyone), de-duplicated, and handed to the outbox: channel posts first, then
one DM per person. Nothing here talks to Slack; rendering, user-group lookups, the
scheduler and the playbook index come in through the constructor.

Outbox campaigns of update N:
    broadcast-N                 the copies (channel posts and DMs)
    broadcast-N/remind-YYYYMMDD the day's reminder to those who had not acknowledged
    broadcast-N/edit-V          chat.update of every copy to version V
    broadcast-N/recall          chat.delete of every copy
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.broadcasts.authority import Authority
from bot.broadcasts.retention import FORGOTTEN, frozen_acknowledgements
from bot.broadcasts.tracking import delivery_stats
from bot.delivery.outbox import Envelope, Outbox
from bot.knowledge.loaders import LoadedDocument
from bot.store.models import Broadcast, BroadcastAck, BroadcastAudit, BroadcastQuestion
from bot.timeutil import as_utc, utcnow, zone

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
SCHEDULED, SENT, CANCELLED, RECALLED = "scheduled", "sent", "cancelled", "recalled"
NOT_SENT = "not sent"  # a scheduled update whose audience could not be resolved any more
TITLE_LIMIT = 150  # Slack's header block limit
BODY_LIMIT = 3000  # Slack's section text limit
STRANDED_AFTER = dt.timedelta(minutes=1)
SOURCE_PREFIX = "slack-update:"  # index source ids of updates; never a playbook file path


class NotFound(LookupError):
    """No such update (or it is not in a state that allows this)."""


@dataclass(frozen=True)
class Audience:
    channels: tuple[str, ...] = ()
    usergroups: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    everyone: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.channels or self.usergroups or self.departments or self.everyone)

    @property
    def has_people(self) -> bool:
        """Whether anyone gets a DM (and so can be reminded)."""
        return bool(self.usergroups or self.departments or self.everyone)

    def to_json(self) -> dict:
        return {
            "channels": list(self.channels),
            "usergroups": list(self.usergroups),
            "departments": list(self.departments),
            "everyone": self.everyone,
        }

    @classmethod
    def from_json(cls, data: dict) -> Audience:
        return cls(
            channels=tuple(data.get("channels") or ()),
            usergroups=tuple(data.get("usergroups") or ()),
            departments=tuple(data.get("departments") or ()),
            everyone=bool(data.get("everyone")),
        )

    def describe(self) -> str:
        parts = [f"<#{c}>" for c in self.channels]
        parts += [f"<!subteam^{g}>" for g in self.usergroups]
        parts += list(self.departments)
        if self.everyone:
            parts.append("everyone (DM)")
        return ", ".join(parts) or "nobody"


@dataclass(frozen=True)
class Draft:
    """What the compose modal gives: validated by `problems` before anything is stored."""

    submission_key: str
    author: str
    title: str
    body: str
    audience: Audience
    ask_ack: bool = False
    send_at: dt.datetime | None = None  # None: now
    local_time: bool = False
    author_tz: str = "UTC"


@dataclass(frozen=True)
class Update:
    """A broadcast as the rest of the code sees it (a snapshot, not a live row)."""

    id: int
    author: str
    title: str
    body: str
    audience: Audience
    ask_ack: bool
    status: str
    send_at: dt.datetime | None
    local_time: bool
    author_tz: str
    version: int
    dm_count: int
    channel_count: int
    created_at: dt.datetime
    sent_at: dt.datetime | None
    edited_at: dt.datetime | None
    recalled_at: dt.datetime | None
    edited_by: str | None = None  # who last edited it (the author, or an admin)

    @property
    def source(self) -> str:
        return f"{SOURCE_PREFIX}{self.id}"


@dataclass
class Stats:
    delivered_dms: int = 0
    delivered_channels: int = 0
    failed: int = 0
    waiting: int = 0
    acknowledged: int = 0  # by people who got a DM
    acknowledged_elsewhere: int = 0  # from a channel post only
    questions: int = 0
    reminded: int = 0

    @property
    def ack_share(self) -> float | None:
        return self.acknowledged / self.delivered_dms if self.delivered_dms else None


@dataclass(frozen=True)
class Copy:
    """One delivered message of an update: what an edit or a recall must reach."""

    recipient: str  # user id (DM) or channel id
    channel: str
    ts: str
    reminder: bool


@dataclass
class Outcome:
    """What an action did, for the leader's confirmation and the audit."""

    done: bool
    count: int = 0
    message: str = ""
    detail: dict = field(default_factory=dict)


# What renders a copy: (update, recipient user id or None for a channel, acknowledged at,
# is a reminder) -> {"text", "blocks"}.
Render = Callable[[Update, str | None, dt.datetime | None, bool], dict]


def problems(draft: Draft, *, now: dt.datetime) -> dict[str, str]:
    """What is wrong with a draft, by field (title, body, audience, when); {} when fine."""
    found = text_problems(draft.title, draft.body)
    if draft.audience.is_empty:
        found["audience"] = "Choose who gets it: channels, user groups, departments or everyone."
    if draft.send_at is not None and draft.send_at <= now:
        local = draft.send_at.astimezone(zone(draft.author_tz))
        found["when"] = f"{local:%d %b %Y %H:%M} is in the past; pick a later time or send now."
    return found


def text_problems(title: str, body: str) -> dict[str, str]:
    """What is wrong with an update's title and message (composing or editing)."""
    found: dict[str, str] = {}
    if not title.strip():
        found["title"] = "Give the update a title."
    elif len(title) > TITLE_LIMIT:
        found["title"] = f"Keep the title under {TITLE_LIMIT} characters."
    if not body.strip():
        found["body"] = "Write the message: it is empty."
    elif len(body) > BODY_LIMIT:
        found["body"] = f"Slack shows at most {BODY_LIMIT} characters here; shorten the message."
    return found


class Broadcasts:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        outbox: Outbox,
        people: Callable[[Audience], list[str]],
        timezone_of: Callable[[str], str],
        render: Render,
        index: Callable[[Update], None] | None = None,
        unindex: Callable[[Update], None] | None = None,
        schedule: Callable[[int, dt.datetime], None] | None = None,
        unschedule: Callable[[int], None] | None = None,
        name_of: Callable[[str], str] | None = None,
        notify: Callable[[str, str], None] | None = None,
        admins: Iterable[str] = (),
        clock: Clock = utcnow,
    ) -> None:
        """`admins`: user ids who may change anyone's update; everyone else only their own."""
        self.sessions = session_factory
        self.name_of = name_of or (lambda user_id: user_id)
        self.authority = Authority(admins=admins, name_of=self.name_of)
        self.notify = notify or (lambda user_id, text: None)
        self.outbox = outbox
        self.people = people
        self.timezone_of = timezone_of
        self.render = render
        self.index = index or (lambda update: None)
        self.unindex = unindex or (lambda update: None)
        self.schedule = schedule or (lambda broadcast_id, at: None)
        self.unschedule = unschedule or (lambda broadcast_id: None)
        self.clock = clock

    # -- compose and send ------------------------------------------------------------------
    def create(self, draft: Draft) -> tuple[Update, bool]:
        """Store the draft once per modal submission. (update, False) for a repeat submit."""
        now = self.clock()
        row = Broadcast(
            submission_key=draft.submission_key,
            author=draft.author,
            title=draft.title.strip(),
            body=draft.body.strip(),
            audience=draft.audience.to_json(),
            ask_ack=draft.ask_ack,
            status=SCHEDULED,
            send_at=draft.send_at.astimezone(dt.UTC) if draft.send_at else None,
            local_time=draft.local_time and draft.send_at is not None,
            author_tz=draft.author_tz,
            version=1,
            dm_count=0,
            channel_count=0,
            created_at=now,
        )
        try:
            with self.sessions.begin() as session:
                session.add(row)
                session.flush()
                created = _snapshot(row)
        except IntegrityError:
            with self.sessions() as session:
                existing = session.scalar(
                    select(Broadcast).where(Broadcast.submission_key == draft.submission_key)
                )
                if existing is None:
                    raise
                return _snapshot(existing), False
        if draft.send_at is not None:
            self.schedule(created.id, self.first_moment(created))
            self._audit(created.id, draft.author, "scheduled", created)
        return created, True

    def preview(self, draft: Draft) -> Update:
        """The draft as an update, without storing or sending anything."""
        now = self.clock()
        return Update(
            id=0,
            author=draft.author,
            title=draft.title.strip(),
            body=draft.body.strip(),
            audience=draft.audience,
            ask_ack=draft.ask_ack,
            status="preview",
            send_at=None,
            local_time=False,
            author_tz=draft.author_tz,
            version=1,
            dm_count=0,
            channel_count=0,
            created_at=now,
            sent_at=None,
            edited_at=None,
            recalled_at=None,
        )

    def first_moment(self, update: Update) -> dt.datetime:
        """When the scheduler must wake for this update: the earliest recipient's moment."""
        assert update.send_at is not None
        if not update.local_time:
            return update.send_at
        zones = {self.timezone_of(user) for user in self.people(update.audience)}
        moments = [self._moment(update, tz) for tz in zones]
        if update.audience.channels or not moments:
            moments.append(update.send_at)
        return min(moments)

    def send(self, broadcast_id: int) -> Outcome:
        """Resolve the audience and queue every copy; a second call does nothing.

        Copies are queued before the status flips, and keys are unique, so a crash half-way
        is finished by the next call without anyone getting two.
        """
        update_ = self.get(broadcast_id)
        if update_.status != SCHEDULED:
            return Outcome(False, message=f"This update is already {update_.status}.")
        audience = update_.audience
        try:
            users = [u for u in dict.fromkeys(self.people(audience))]
        except LookupError as gone:
            # E.g. a user group deleted since the update was scheduled: send nothing
            # half-way; tell the author. (Other errors propagate and are retried.)
            return self._not_sent(update_, str(gone))
        campaign = post_campaign(broadcast_id)
        now = self.clock()
        channel_envelopes = [
            Envelope(channel, self._payload(update_, None, None, False))
            for channel in dict.fromkeys(audience.channels)
        ]
        # Channel posts go at the author's time (already now, unless per-recipient zones
        # woke the scheduler early for someone further east).
        channel_at = max(now, update_.send_at) if update_.local_time and update_.send_at else now
        self.outbox.enqueue(campaign, channel_envelopes, at=channel_at)
        by_moment: dict[dt.datetime, list[Envelope]] = {}
        for user in users:
            at = now
            if update_.local_time:
                at = max(now, self._moment(update_, self.timezone_of(user)))
            envelope = Envelope(user, self._payload(update_, user, None, False))
            by_moment.setdefault(at, []).append(envelope)
        for at, envelopes in sorted(by_moment.items()):
            self.outbox.enqueue(campaign, envelopes, at=at)
        with self.sessions.begin() as session:
            flipped = session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == SCHEDULED)
                .values(
                    status=SENT,
                    sent_at=now,
                    dm_count=len(users),
                    channel_count=len(channel_envelopes),
                )
            ).rowcount
        if not flipped:
            # Cancelled (or sent by a twin call) while the copies were being queued.
            current = self.get(broadcast_id)
            if current.status == CANCELLED:
                self.outbox.cancel(campaign)
            return Outcome(False, message=f"This update is already {current.status}.")
        sent = self.get(broadcast_id)
        self.index(sent)
        detail = {"dms": len(users), "channels": len(channel_envelopes)}
        self._audit(broadcast_id, sent.author, "sent", sent, **detail)
        return Outcome(True, len(users) + len(channel_envelopes), detail=detail)

    def _not_sent(self, update_: Update, reason: str) -> Outcome:
        with self.sessions.begin() as session:
            flipped = session.execute(
                update(Broadcast)
                .where(Broadcast.id == update_.id, Broadcast.status == SCHEDULED)
                .values(status=NOT_SENT)
            ).rowcount
        if not flipped:
            return Outcome(False, message=f"This update is already {self.get(update_.id).status}.")
        self._audit(update_.id, update_.author, "not sent", update_, reason=reason)
        message = (
            f"Your update “{update_.title}” could not go out, and nothing was sent: {reason} "
            "Send it again with /broadcast."
        )
        self.notify(update_.author, message)
        return Outcome(False, message=message)

    def send_due(self) -> list[int]:
        """Scheduled updates whose time has come (a safety net next to the job store), and
        "send now" updates left unsent by a stop between the modal and the send."""
        now = self.clock()
        # "Send now" updates the process stopped before sending are picked up too.
        stranded = and_(Broadcast.send_at.is_(None), Broadcast.created_at <= now - STRANDED_AFTER)
        with self.sessions() as session:
            due = session.scalars(
                select(Broadcast.id).where(
                    Broadcast.status == SCHEDULED, or_(Broadcast.send_at <= now, stranded)
                )
            ).all()
        return [broadcast_id for broadcast_id in due if self.send(broadcast_id).done]

    def may_change(self, update_: Update, actor: str) -> bool:
        return self.authority.may_change(update_, actor)

    def _refused(self, broadcast_id: int, actor: str) -> Outcome | None:
        """None when `actor` may change the update; else the polite refusal (see authority)."""
        try:
            current = self.get(broadcast_id)
        except NotFound:
            return None  # each action says "gone" in its own words
        if self.authority.may_change(current, actor):
            return None
        log.info("Refused %s changing update %s of %s", actor, broadcast_id, current.author)
        return Outcome(False, message=self.authority.refusal(current), detail={"refused": True})

    def cancel(self, broadcast_id: int, actor: str) -> Outcome:
        """Cancel a scheduled update before it goes out."""
        refused = self._refused(broadcast_id, actor)
        if refused:
            return refused
        with self.sessions.begin() as session:
            cancelled = session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == SCHEDULED)
                .values(status=CANCELLED)
            ).rowcount
        current = self.get(broadcast_id)
        if not cancelled:
            return Outcome(False, message=f"Too late to cancel: it is {current.status}.")
        self.unschedule(broadcast_id)
        self.outbox.cancel(post_campaign(broadcast_id))
        self._audit(broadcast_id, actor, "cancelled", current)
        return Outcome(True, message=f"Cancelled “{current.title}”: it will not be sent.")

    # -- reading ---------------------------------------------------------------------------
    def get(self, broadcast_id: int) -> Update:
        with self.sessions() as session:
            row = session.get(Broadcast, broadcast_id)
            if row is None:
                raise NotFound(f"No update {broadcast_id}.")
            return _snapshot(row)

    def recent(self, *, author: str | None = None, limit: int = 10) -> list[Update]:
        """Sent, recalled and not-sent updates, newest first (all leaders' when `author`
        is None)."""
        query = select(Broadcast).where(Broadcast.status.in_((SENT, RECALLED, NOT_SENT)))
        if author:
            query = query.where(Broadcast.author == author)
        query = query.order_by(Broadcast.sent_at.desc(), Broadcast.id.desc()).limit(limit)
        with self.sessions() as session:
            return [_snapshot(row) for row in session.scalars(query)]

    def scheduled(self) -> list[Update]:
        query = (
            select(Broadcast)
            .where(Broadcast.status == SCHEDULED)
            .order_by(Broadcast.send_at, Broadcast.id)
        )
        with self.sessions() as session:
            return [_snapshot(row) for row in session.scalars(query)]

    def stats(self, broadcast_id: int) -> Stats:
        return self.stats_of([broadcast_id])[broadcast_id]

    def stats_of(self, broadcast_ids) -> dict[int, Stats]:
        """Delivery, acknowledgement, question and reminder figures per update (in SQL)."""
        with self.sessions() as session:
            return delivery_stats(session, broadcast_ids, Stats)

    def acknowledged_by(self, broadcast_id: int) -> set[str]:
        return set(self.acknowledgements(broadcast_id))

    def acknowledged_at(self, broadcast_id: int, user_id: str) -> dt.datetime | None:
        return self.acknowledgements(broadcast_id, user_id).get(user_id)

    def acknowledgements(
        self, broadcast_id: int, user_id: str | None = None
    ) -> dict[str, dt.datetime]:
        """Who pressed "Got it" and when (one person's, with `user_id`)."""
        query = select(BroadcastAck.user_id, BroadcastAck.acknowledged_at).where(
            BroadcastAck.broadcast_id == broadcast_id
        )
        if user_id is not None:
            query = query.where(BroadcastAck.user_id == user_id)
        with self.sessions() as session:
            return {user: as_utc(at) for user, at in session.execute(query)}

    def copies(self, broadcast_id: int) -> list[Copy]:
        """Every delivered message of the update: channel posts, DMs and reminders."""
        campaign = post_campaign(broadcast_id)
        found = []
        for row in [*self.outbox.rows(campaign), *self.outbox.rows_like(f"{campaign}/remind-")]:
            if row.op == "post" and row.status == "sent" and row.message_ts:
                found.append(
                    Copy(row.recipient, row.channel_id, row.message_ts, row.campaign != campaign)
                )
        return found

    def audit_log(self, broadcast_id: int | None = None) -> list[dict]:
        query = select(BroadcastAudit).order_by(BroadcastAudit.id)
        if broadcast_id is not None:
            query = query.where(BroadcastAudit.broadcast_id == broadcast_id)
        with self.sessions() as session:
            return [
                {
                    "broadcast_id": row.broadcast_id,
                    "actor": row.actor,
                    "action": row.action,
                    "at": as_utc(row.at),
                    "detail": row.detail,
                }
                for row in session.scalars(query)
            ]

    # -- people's responses ----------------------------------------------------------------
    def acknowledge(self, broadcast_id: int, user_id: str) -> tuple[dt.datetime, bool]:
        """Record "Got it" once: (when, first time?). NotFound for a recalled update."""
        current = self.get(broadcast_id)
        if current.status != SENT:
            raise NotFound(f"Update {broadcast_id} is {current.status}.")
        now = self.clock()
        if frozen_acknowledgements(self.sessions, broadcast_id):
            return now, True  # past the retention: thanked, not recorded per person
        try:
            with self.sessions.begin() as session:
                session.add(
                    BroadcastAck(broadcast_id=broadcast_id, user_id=user_id, acknowledged_at=now)
                )
        except IntegrityError:
            earlier = self.acknowledged_at(broadcast_id, user_id)
            return (earlier or now), False
        return now, True

    def record_question(self, broadcast_id: int, user_id: str, interaction_id: int | None) -> None:
        with self.sessions.begin() as session:
            session.add(
                BroadcastQuestion(
                    broadcast_id=broadcast_id,
                    user_id=user_id,
                    interaction_id=interaction_id,
                    asked_at=self.clock(),
                )
            )

    # -- follow-ups by the leader ----------------------------------------------------------
    def remind(self, broadcast_id: int, actor: str) -> Outcome:
        """DM those who got the update and have not acknowledged it: at most once a day."""
        refused = self._refused(broadcast_id, actor)
        if refused:
            return refused
        current = self.get(broadcast_id)
        if current.status != SENT:
            return Outcome(False, message=f"This update is {current.status}; nothing to remind.")
        if not current.ask_ack:
            return Outcome(False, message="This update did not ask people to acknowledge it.")
        if frozen_acknowledgements(self.sessions, broadcast_id):
            return Outcome(False, message=FORGOTTEN)
        acked = self.acknowledged_by(broadcast_id)
        targets = [
            row.recipient
            for row in self.outbox.rows(post_campaign(broadcast_id))
            if row.status == "sent" and not is_channel(row.recipient)
        ]
        targets = [user for user in dict.fromkeys(targets) if user not in acked]
        if not targets:
            return Outcome(False, message="Everyone who got it by DM has acknowledged it.")
        campaign = f"{post_campaign(broadcast_id)}/remind-{self.clock():%Y%m%d}"
        already = Outcome(False, message="A reminder already went out today; try tomorrow.")
        if self.outbox.rows(campaign):
            return already
        added = self.outbox.enqueue(
            campaign,
            [Envelope(user, self._payload(current, user, None, True)) for user in targets],
        )
        if not added:  # a double click: the other click queued them a moment ago
            return already
        self._audit(broadcast_id, actor, "reminded", current, reminded=added)
        return Outcome(True, added, f"Reminding {added} people who have not acknowledged yet.")

    def edit(self, broadcast_id: int, actor: str, *, title: str, body: str) -> Outcome:
        """New title/text: every delivered copy is updated, queued copies go out new."""
        refused = self._refused(broadcast_id, actor)
        if refused:
            return refused
        wrong = text_problems(title, body)
        if wrong:
            return Outcome(False, message=" ".join(wrong.values()), detail=wrong)
        title, body = title.strip(), body.strip()
        if frozen_acknowledgements(self.sessions, broadcast_id):
            return Outcome(False, message=FORGOTTEN)
        with self.sessions.begin() as session:
            # One statement decides: a double-submitted edit (same text) changes nothing.
            changed = session.execute(
                update(Broadcast)
                .where(
                    Broadcast.id == broadcast_id,
                    Broadcast.status.in_((SENT, SCHEDULED)),
                    or_(Broadcast.title != title, Broadcast.body != body),
                )
                .values(
                    title=title,
                    body=body,
                    version=Broadcast.version + 1,
                    edited_at=self.clock(),
                    edited_by=actor,
                )
            ).rowcount
            row = session.get(Broadcast, broadcast_id)
            if row is None or row.status not in {SENT, SCHEDULED}:
                state = row.status if row else "gone"
                return Outcome(False, message=f"This update is {state}; it cannot be edited.")
            if not changed:
                return Outcome(False, message="No change: the update already says this.")
            edited = _snapshot(row)
        if edited.status == SCHEDULED:
            self._audit(broadcast_id, actor, "edited", edited, updated=0)
            return Outcome(True, 0, "Saved: the scheduled update will go out with the new text.")
        # Copies and reminders still waiting in the outbox go out with the new text …
        base = post_campaign(broadcast_id)
        reminders = {row.campaign for row in self.outbox.rows_like(f"{base}/remind-")}
        for campaign in [base, *sorted(reminders)]:
            self.outbox.replace_pending_payloads(
                campaign,
                lambda recipient, again=campaign != base: self._payload(
                    edited, _user_of(recipient), None, again
                ),
            )
        # … and every delivered copy is updated in place.
        copies = self.copies(broadcast_id)
        acked = self.acknowledgements(broadcast_id)
        envelopes = [self._edit_envelope(edited, copy, acked) for copy in copies]
        self.outbox.enqueue(f"{post_campaign(broadcast_id)}/edit-{edited.version}", envelopes)
        self.index(edited)
        self._audit(broadcast_id, actor, "edited", edited, updated=len(envelopes))
        return Outcome(True, len(envelopes), f"Updating {len(envelopes)} delivered copies.")

    def recall(self, broadcast_id: int, actor: str) -> Outcome:
        """Delete every copy, stop what has not gone out, and drop it from the playbook."""
        refused = self._refused(broadcast_id, actor)
        if refused:
            return refused
        with self.sessions.begin() as session:
            recalled = session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id, Broadcast.status == SENT)
                .values(status=RECALLED, recalled_at=self.clock())
            ).rowcount
        current = self.get(broadcast_id)
        if not recalled:
            return Outcome(False, message=f"This update is {current.status}; nothing to recall.")
        campaign = post_campaign(broadcast_id)
        stopped = self.outbox.cancel_family(campaign)
        envelopes = [_delete_envelope(copy) for copy in self.copies(broadcast_id)]
        self.outbox.enqueue(f"{campaign}/recall", envelopes)
        self.unindex(current)
        self._audit(
            broadcast_id, actor, "recalled", current, deleted=len(envelopes), stopped=stopped
        )
        return Outcome(
            True, len(envelopes), f"Recalling: deleting {len(envelopes)} delivered copies."
        )

    def after_delivery(self, campaign: str, recipient: str, payload: dict, channel, ts) -> None:
        """A copy landed: if the update changed or was recalled meanwhile, catch it up."""
        broadcast_id = campaign_broadcast(campaign)
        if broadcast_id is None or not _is_copy_campaign(campaign, broadcast_id):
            return
        try:
            current = self.get(broadcast_id)
        except NotFound:
            return
        copy = Copy(recipient, channel, ts, campaign != post_campaign(broadcast_id))
        if current.status == RECALLED:
            self.outbox.enqueue(f"{post_campaign(broadcast_id)}/recall", [_delete_envelope(copy)])
        elif int(payload.get("version", 1)) < current.version:
            envelope = self._edit_envelope(current, copy, self.acknowledgements(broadcast_id))
            self.outbox.enqueue(f"{post_campaign(broadcast_id)}/edit-{current.version}", [envelope])

    # -- the playbook ----------------------------------------------------------------------
    def documents(self) -> list[LoadedDocument]:
        """Every sent update as a playbook document of type `announcement`."""
        with self.sessions() as session:
            rows = session.scalars(select(Broadcast).where(Broadcast.status == SENT)).all()
            updates = [_snapshot(row) for row in rows]
        return [self.document(update_) for update_ in updates]

    def document(self, update_: Update) -> LoadedDocument:
        """The update as a playbook document, its author by name."""
        return as_document(update_, self.name_of(update_.author))

    # -- pieces ----------------------------------------------------------------------------
    def _moment(self, update_: Update, tz: str) -> dt.datetime:
        """The update's wall-clock time (in the author's zone) as an instant in `tz`."""
        assert update_.send_at is not None
        wall = update_.send_at.astimezone(zone(update_.author_tz)).replace(tzinfo=None)
        return wall.replace(tzinfo=zone(tz)).astimezone(dt.UTC)

    def _payload(self, update_: Update, user: str | None, acked, reminder: bool) -> dict:
        return {**self.render(update_, user, acked, reminder), "version": update_.version}

    def _edit_envelope(self, update_: Update, copy: Copy, acked: dict) -> Envelope:
        user = None if is_channel(copy.recipient) else copy.recipient
        message = self._payload(update_, user, acked.get(user) if user else None, copy.reminder)
        return Envelope(
            f"{copy.recipient}@{copy.ts}",
            {**message, "channel": copy.channel, "ts": copy.ts},
            op="update",
        )

    def _audit(self, broadcast_id: int, actor: str, action: str, update_: Update, **counts):
        detail = {
            "title": update_.title,
            "audience": update_.audience.to_json(),
            "version": update_.version,
            **counts,
        }
        if update_.send_at is not None:
            detail["send_at"] = update_.send_at.isoformat()
            detail["local_time"] = update_.local_time
        with self.sessions.begin() as session:
            session.add(
                BroadcastAudit(
                    broadcast_id=broadcast_id,
                    actor=actor,
                    action=action,
                    at=self.clock(),
                    detail=detail,
                )
            )
        log.info("Update %s %s by %s: %s", broadcast_id, action, actor, counts or "")


# -- helpers -------------------------------------------------------------------------------
def post_campaign(broadcast_id: int) -> str:
    return f"broadcast-{broadcast_id}"


_CAMPAIGN = re.compile(r"^broadcast-(\d+)(?:/.*)?$")


def campaign_broadcast(campaign: str) -> int | None:
    match = _CAMPAIGN.match(campaign)
    return int(match.group(1)) if match else None


def _is_copy_campaign(campaign: str, broadcast_id: int) -> bool:
    base = post_campaign(broadcast_id)
    return campaign == base or campaign.startswith(f"{base}/remind-")


def is_channel(recipient: str) -> bool:
    return recipient[:1] in {"C", "G"}


def _user_of(recipient: str) -> str | None:
    return None if is_channel(recipient) else recipient


def _delete_envelope(copy: Copy) -> Envelope:
    return Envelope(
        f"{copy.recipient}@{copy.ts}", {"channel": copy.channel, "ts": copy.ts}, op="delete"
    )


def _snapshot(row: Broadcast) -> Update:
    return Update(
        id=row.id,
        author=row.author,
        title=row.title,
        body=row.body,
        audience=Audience.from_json(row.audience or {}),
        ask_ack=bool(row.ask_ack),
        status=row.status,
        send_at=as_utc(row.send_at),
        local_time=bool(row.local_time),
        author_tz=row.author_tz or "UTC",
        version=row.version,
        dm_count=row.dm_count,
        channel_count=row.channel_count,
        created_at=as_utc(row.created_at),
        sent_at=as_utc(row.sent_at),
        edited_at=as_utc(row.edited_at),
        recalled_at=as_utc(row.recalled_at),
        edited_by=row.edited_by,
    )


_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_SPECIAL = re.compile(r"<!(?:here|channel|everyone)(?:\|[^>]*)?>")
_LABELLED = re.compile(r"<[@#!][^|>]*\|([^>]+)>")
_BARE_REF = re.compile(r" ?<[@#!][^>]*>")


def plain_markdown(mrkdwn: str) -> str:
    """Slack mrkdwn as the playbook's Markdown: links kept, pings and ids dropped."""
    text = _LINK.sub(r"[\2](\1)", mrkdwn)
    text = _BARE_LINK.sub(r"\1", text)
    text = _SPECIAL.sub("", text)
    text = _LABELLED.sub(r"\1", text)  # <@U1|ana> -> ana, <#C1|general> -> general
    text = _BARE_REF.sub("", text)  # a bare member or channel id means nothing to a reader
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def as_document(update_: Update, author_name: str = "") -> LoadedDocument:
    sent = update_.sent_at or update_.created_at
    return LoadedDocument(
        path=update_.source,
        text=f"# {update_.title}\n\n{plain_markdown(update_.body)}\n",
        title=update_.title,
        doc_type="announcement",
        markup=True,
        owner=author_name or update_.author,
        updated=sent.date().isoformat(),
    )

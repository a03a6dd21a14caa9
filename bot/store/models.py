"""Typed SQLAlchemy models. Every change here needs an Alembic revision."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class IndexRecord(Base):
    """One indexed chunk, as LangChain's indexing API tracks it (key = content hash)."""

    __tablename__ = "index_records"
    __table_args__ = (
        UniqueConstraint("namespace", "key", name="uq_index_records_namespace_key"),
        Index("ix_index_records_namespace_group", "namespace", "group_id"),
        Index("ix_index_records_namespace_updated", "namespace", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(255))
    group_id: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    updated_at: Mapped[float] = mapped_column(Float)


class SlackEvent(Base):
    """Event ids already handled, so Slack's retries of one event give one answer."""

    __tablename__ = "slack_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class Interaction(Base):
    """One question and the answer the bot gave (the knowledge-gap report reads these)."""

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_thread", "channel_id", "thread_ts"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    surface: Mapped[str] = mapped_column(String(32))  # dm | mention | command | assistant | cli
    user_id: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str] = mapped_column(String(64), default="")
    thread_ts: Mapped[str] = mapped_column(String(32), default="")
    reply_ts: Mapped[str] = mapped_column(String(32), default="")
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    confident: Mapped[bool] = mapped_column(Boolean)
    evidence: Mapped[float] = mapped_column(Float, default=0.0)
    sources: Mapped[list] = mapped_column(JSON, default=list)


class Feedback(Base):
    """👍 / 👎 on an answer; one per person per answer (a second click changes it)."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("interaction_id", "user_id", name="uq_feedback_once"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Escalation(Base):
    """A question handed to the change team; one per answer, however often it is clicked."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    interaction_id: Mapped[int] = mapped_column(
        ForeignKey("interactions.id", ondelete="CASCADE"), unique=True
    )
    requested_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    team_channel_id: Mapped[str] = mapped_column(String(64), default="")
    team_message_ts: Mapped[str] = mapped_column(String(32), default="", index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | answered
    answered_by: Mapped[str] = mapped_column(String(64), default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class IndexGeneration(Base):
    """One generation of the playbook index: a Chroma collection that one ingest built.

    building -> active -> retired, then dropped (row deleted) by a later ingest once the
    grace period is over. Readers use the newest active row of their base name; see
    bot/knowledge/generations.py.
    """

    __tablename__ = "index_generations"
    __table_args__ = (Index("ix_index_generations_base_status", "base", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    base: Mapped[str] = mapped_column(String(255))  # CHANGEBOT_CHROMA_COLLECTION
    collection: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    activated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OutboxMessage(Base):
    """One message to one recipient of one campaign; the unit the delivery worker sends.

    `key` (campaign:recipient[:op]) is unique, so enqueueing twice never sends twice.
    A row in `sending` belongs to `claimed_by` until `lease_until` (see delivery/outbox.py).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    campaign: Mapped[str] = mapped_column(String(128), index=True)
    recipient: Mapped[str] = mapped_column(String(64))  # user id (DM) or channel id
    op: Mapped[str] = mapped_column(String(16), default="post")  # post | update | delete
    payload: Mapped[dict] = mapped_column(JSON)  # text, blocks, target channel/ts for edits
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    channel_id: Mapped[str] = mapped_column(String(64), default="")
    message_ts: Mapped[str] = mapped_column(String(32), default="")
    last_error: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(128), default="")  # worker id, while sending
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DeliveryHeartbeat(Base):
    """A live delivery worker (the bot's, or a CLI draining the outbox): renewed while it
    runs, removed when it stops; a stale row is a process that died."""

    __tablename__ = "delivery_workers"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))  # bot | cli
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class DmChannel(Base):
    """Cached DM channel ids: conversations.open once per person, not once per message."""

    __tablename__ = "dm_channels"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64))


class Person(Base):
    """One person in the Slack workspace: the directory surveys and broadcasts draw on.

    Slack owns email, real_name, tz and is_guest (overwritten by every sync); the HR CSV
    owns department, team and location (a sync never touches them). People are never
    deleted, only made inactive, so past survey runs and broadcasts keep their meaning.
    """

    __tablename__ = "people"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(255), default="", index=True)  # lower-cased
    real_name: Mapped[str] = mapped_column(String(255), default="")
    tz: Mapped[str] = mapped_column(String(64), default="")  # IANA name; "" = default
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    department: Mapped[str] = mapped_column(String(255), default="")
    team: Mapped[str] = mapped_column(String(255), default="")
    location: Mapped[str] = mapped_column(String(255), default="")
    synced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SurveyRun(Base):
    """One sending of a pulse survey for one local due date; (survey, date) exists once."""

    __tablename__ = "survey_runs"
    __table_args__ = (
        UniqueConstraint("survey_id", "due_date", name="uq_survey_runs_once"),
        Index("ix_survey_runs_status_closes", "status", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    survey_id: Mapped[str] = mapped_column(String(64))
    due_date: Mapped[dt.date] = mapped_column()  # the local calendar date the run is for
    opens_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Set when the run closes, as its invitations are deleted then.
    invited_count: Mapped[int | None] = mapped_column(nullable=True)
    delivered_count: Mapped[int | None] = mapped_column(nullable=True)
    answered_count: Mapped[int | None] = mapped_column(nullable=True)
    # The responses were rewritten at block level (bot/surveys/sealing.py).
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Which scoring of the definition every response's stored scores and comment labels
    # were computed with (bot/surveys/stored_scores.py); NULL: some are missing or stale.
    scored_with: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The scoring its `survey_run_cells` rows were summed under (NULL: none kept yet).
    cells_with: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SurveyInvitation(Base):
    """Who an open run asked, whether the DM reached them and whether they were reminded.

    Nothing here says who answered (that is worked out from the respondent keys, with
    the secret); the rows are deleted when the run closes.
    """

    __tablename__ = "survey_invitations"
    __table_args__ = (UniqueConstraint("run_id", "user_id", name="uq_survey_invitations_once"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("survey_runs.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    invited_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SurveyResponse(Base):
    """One person's answers to one run: never a user id, never a time.

    While the run is open, `respondent_key` is HMAC-SHA256 of "run_id:user_id" under the
    server secret, so a second submit finds and replaces the first without the table
    naming anyone; it is erased (NULL) when the run closes. The id is random. Once the
    run is sealed, `attributes` holds the labels of the response's block (lists).
    """

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("run_id", "respondent_key", name="uq_survey_responses_once"),
        # Lists a run's rows in storage order: a report reads them page by page instead of
        # jumping around in key order (5x faster on SQLite at 100,000 responses).
        Index("ix_survey_responses_run", "run_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("survey_runs.id", ondelete="CASCADE"))
    respondent_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    answers: Mapped[dict] = mapped_column(JSON)
    attributes: Mapped[dict] = mapped_column(JSON)  # department, team, location
    # Computed from `answers` when they are stored (bot/surveys/stored_scores.py), so a
    # report sums columns instead of reading every answer and labelling every comment.
    scored: Mapped[int | None] = mapped_column(nullable=True)  # 1: has a scale answer
    score_resistance: Mapped[float | None] = mapped_column(Float, nullable=True)
    score_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    score_awareness: Mapped[float | None] = mapped_column(Float, nullable=True)
    score_desire: Mapped[float | None] = mapped_column(Float, nullable=True)
    score_knowledge: Mapped[float | None] = mapped_column(Float, nullable=True)
    score_ability: Mapped[float | None] = mapped_column(Float, nullable=True)
    score_reinforcement: Mapped[float | None] = mapped_column(Float, nullable=True)
    comments: Mapped[list | None] = mapped_column(JSON(none_as_null=True), nullable=True)  # texts
    comments_negative: Mapped[int] = mapped_column(default=0)  # comments per sentiment label
    comments_neutral: Mapped[int] = mapped_column(default=0)
    comments_positive: Mapped[int] = mapped_column(default=0)


class SurveyRunCell(Base):
    """A sealed run's responses summed per group labels (one row per block), kept so a
    report reads a few rows instead of every response (bot/surveys/run_summary.py)."""

    __tablename__ = "survey_run_cells"
    __table_args__ = (Index("ix_survey_run_cells_run", "run_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("survey_runs.id", ondelete="CASCADE"))
    labels: Mapped[str] = mapped_column(Text)  # JSON: attribute -> sorted values
    total: Mapped[int] = mapped_column()
    scored: Mapped[int] = mapped_column()
    sums: Mapped[dict] = mapped_column(JSON)  # dimension -> sum of respondents' 1..5 means
    counts: Mapped[dict] = mapped_column(JSON)  # dimension -> respondents with a mean
    sentiment: Mapped[dict] = mapped_column(JSON)  # label -> comments
    comments: Mapped[list] = mapped_column(JSON)


class Broadcast(Base):
    """A leader's update: what was said, to whom (as chosen, not per person), and its state.

    `submission_key` is the Slack view id of the compose modal, so a double-submitted
    modal finds the first row instead of making a second broadcast.
    status: scheduled -> sent, or scheduled -> cancelled; sent -> recalled.
    Only the author or a broadcast admin may change it (Broadcasts.may_change).
    """

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_send_at", "status", "send_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    submission_key: Mapped[str] = mapped_column(String(128), unique=True)
    author: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    audience: Mapped[dict] = mapped_column(JSON)  # channels, usergroups, departments, everyone
    ask_ack: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    send_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    local_time: Mapped[bool] = mapped_column(Boolean, default=False)  # each recipient's zone
    author_tz: Mapped[str] = mapped_column(String(64), default="UTC")
    version: Mapped[int] = mapped_column(default=1)
    dm_count: Mapped[int] = mapped_column(default=0)
    channel_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    edited_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    edited_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # last editor
    recalled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # After the acknowledgement retention the per-person rows are deleted; their counts
    # (by DM recipients, from channel posts only) stay here for the status.
    acks_purged_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    acked_dms: Mapped[int] = mapped_column(default=0)
    acked_elsewhere: Mapped[int] = mapped_column(default=0)


class BroadcastAck(Base):
    """Someone pressed "Got it": once per person and update."""

    __tablename__ = "broadcast_acks"
    __table_args__ = (UniqueConstraint("broadcast_id", "user_id", name="uq_broadcast_acks_once"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    acknowledged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BroadcastQuestion(Base):
    """A question asked through an update's "I have a question" button (the text lives
    with the answered question in `interactions`)."""

    __tablename__ = "broadcast_questions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(
        ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(String(64))
    interaction_id: Mapped[int | None] = mapped_column(nullable=True)
    asked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BroadcastAudit(Base):
    """Who scheduled, sent, edited, recalled, cancelled or reminded what, and when.

    `detail` holds the audience as chosen and counts, never the per-person copies.
    Kept without a foreign key so the record outlives anything else.
    """

    __tablename__ = "broadcast_audit"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    broadcast_id: Mapped[int] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[dict] = mapped_column(JSON)


class IngestRun(Base):
    """One `changebot ingest` as it ended: counts, and each file passed over with the reason.

    The console's Playbook page reads the newest one (last ingest, files skipped).
    """

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    root: Mapped[str] = mapped_column(String(1024))
    indexed_files: Mapped[int] = mapped_column(default=0)
    chunks_total: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict] = mapped_column(JSON)  # added, updated, unchanged, deleted
    passed_over: Mapped[list] = mapped_column(JSON)  # [path, "skipped" | "failed", reason]


class ConsoleLink(Base):
    """A magic sign-in link handed to one Slack user: usable once, until `expires_at`.

    Only a hash of the link's nonce is kept, so the table cannot be used to sign in.
    """

    __tablename__ = "console_links"

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    method: Mapped[str] = mapped_column(String(16))  # link | slack
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class ConsoleSignIn(Base):
    """Every console sign-in attempt and sign-out: who, how, when, from where, what happened."""

    __tablename__ = "console_signins"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_id: Mapped[str] = mapped_column(String(64), default="")
    method: Mapped[str] = mapped_column(String(16))  # link | slack | sign-out
    outcome: Mapped[str] = mapped_column(String(32))  # signed in | refused: <why> | signed out
    address: Mapped[str] = mapped_column(String(64), default="")


class AgentViewUser(Base):
    """A person's state in the app's Messages tab (Slack's agent view): when they were first
    greeted (so the greeting comes once), and the channel they were last looking at."""

    __tablename__ = "agent_view_users"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    greeted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    context_channel: Mapped[str] = mapped_column(String(64), default="")
    context_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SchedulerLeaseRow(Base):
    """Which replica runs the scheduled jobs, until when (see bot/scheduling.py)."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))  # "" when released
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    renewed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SchedulerJob(Base):
    """APScheduler's job table, exactly as its SQLAlchemyJobStore defines it.

    Created by a migration (under the migration lock) rather than by the job store on
    start, so that replicas starting together do not race to create it.
    """

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class SendBudget(Base):
    """One Slack method's send budget for the whole deployment, or one channel's pause.

    `tat` is the theoretical arrival time of the generic cell rate algorithm (GCRA): a grant
    of n calls at `rate` moves it n / rate seconds on; a grant is refused while it would sit
    more than the burst tolerance ahead of now. `paused_until` is Slack's Retry-After for this
    method (scope "chat.postMessage") or channel (scope "chat.postMessage|D123"). Epoch
    seconds. See bot/delivery/limiter.py.
    """

    __tablename__ = "send_budget"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Float, default=0.0)
    paused_until: Mapped[float] = mapped_column(Float, default=0.0, index=True)


class CapturedAnswer(Base):
    """An answer the change team wrote for a question the playbook did not answer: an
    approved FAQ entry kept here (not in the playbook folder), indexed as type `faq` and
    put back into the index by every ingest, like leaders' updates."""

    __tablename__ = "captured_answers"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)  # Slack mrkdwn, as written in the modal
    source_url: Mapped[str] = mapped_column(String(2048), default="")
    author: Mapped[str] = mapped_column(String(64))  # Slack user id
    author_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="approved", index=True)
    # What made this entry (a modal's view id): a double-submitted modal creates one entry.
    submission_key: Mapped[str] = mapped_column(String(128), unique=True)

"""The delivery worker: drains the outbox within Slack's rate limits, never twice.

- A limiter (limiter.py) paces every Slack method on its own budget; a 429 pauses only that
  method for Retry-After, or for chat.postMessage only the channel. A row that would wait for
  a paused channel or method is put back for that long; the rest of the batch goes on. While
  conversations.open is paused, a DM is posted to the user id (Slack opens the DM itself and
  answers with its channel).
- 5xx, timeouts and dropped connections are retried with exponential backoff.
- Permanent errors (user_not_found, account_inactive, cannot_dm_bot, …) are
  recorded and never retried.
- Every DM carries its delivery key in Slack message metadata; a row that was
  interrupted mid-send is first looked for in the recipient's DM history.
- A heartbeat thread renews the worker's leases and takes back rows of workers that
  are gone (see outbox.py). A database error never strands a batch: sending goes on
  without the DM-channel cache, and outcomes that could not be written are kept in
  memory, in order, and written when the database answers again.
"""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy.exc import SQLAlchemyError

from bot.delivery.leases import BOT, CLI, Heartbeats
from bot.delivery.limiter import POST, BudgetUnavailable, Limiter, MemoryLimiter, TokenBucket
from bot.delivery.outbox import Claimed, Outbox

log = logging.getLogger(__name__)

METADATA_EVENT = "changebot_delivery"
BUDGET_RETRY_S = 1.0  # a row waits this long when the shared send budget cannot be reached
PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "users_not_found",
        "account_inactive",
        "cannot_dm_bot",
        "user_disabled",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "cant_delete_message",
        "restricted_action",
        "not_allowed_token_type",
        "missing_scope",
        "invalid_auth",
        "not_authed",
    }
)


class DeliveryWorker:
    def __init__(
        self,
        *,
        outbox: Outbox,
        client: WebClient,
        rate_per_second: float = 1.0,
        max_attempts: int = 6,
        backoff_seconds: float = 2.0,
        batch_size: int = 50,
        bucket: TokenBucket | None = None,
        limiter: Limiter | None = None,
        dm_by_user_id: bool = True,
        concurrency: int = 1,
        on_sent: Callable[[Claimed, str, str], None] | None = None,
        heartbeats: Heartbeats | None = None,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.limiter = limiter or MemoryLimiter(rate=rate_per_second, bucket=bucket)
        self.dm_by_user_id = dm_by_user_id  # post to the user id while conversations.open waits
        self.concurrency = max(1, concurrency)  # rows in flight at once (one person's in order)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.batch_size = batch_size
        self.on_sent = on_sent
        self.heartbeats = heartbeats or Heartbeats(
            session_factory=outbox.sessions, clock=outbox.clock
        )
        self.stop_event = threading.Event()
        self.lease_seconds = outbox.lease.total_seconds()
        self._lease_from = 0.0  # monotonic time our held rows' lease was last set
        self._unwritten: deque[tuple[str, Callable[[], object]]] = deque()
        self._beat_stop: threading.Event | None = None
        self._role = BOT
        self._dm_known: dict[str, str | None] = {}  # this batch's DM channels, read at once
        self._local = threading.local()  # the Slack call each sending thread is making
        self._writing = threading.RLock()  # outcomes are written one at a time, in order

    @property
    def bucket(self) -> TokenBucket:
        """chat.postMessage's bucket in an in-process limiter (older tests set one)."""
        return self.limiter.bucket(POST)

    @bucket.setter
    def bucket(self, bucket: TokenBucket) -> None:
        self.limiter = MemoryLimiter(rate=bucket.rate, bucket=bucket)

    # -- loop ----------------------------------------------------------------------------
    def start(self) -> threading.Thread:
        self.outbox.recover_interrupted()
        self._start_beating(BOT)
        thread = threading.Thread(target=self.run_forever, name="delivery", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stop_event.set()
        self._stop_beating()

    def run_forever(self, idle_seconds: float = 1.0) -> None:
        while not self.stop_event.is_set():
            try:
                sent = self.run_once()
            except SQLAlchemyError as exc:
                log.warning("Database unavailable, delivery waits: %s", _first_line(exc))
                sent = 0
            except Exception:
                log.exception("Delivery loop failed; retrying shortly")
                sent = 0
            if sent == 0:
                self.stop_event.wait(idle_seconds)

    def run_once(self) -> int:
        """Send what is due now; returns how many rows were handled."""
        self._write_pending()
        claimed_at = time.monotonic()
        rows = self.outbox.claim(self.batch_size)
        self._lease_from = claimed_at
        self._read_dm_channels(rows)
        if self.concurrency == 1 or len(rows) < 2:
            return self._send(rows)
        # Slack answers each call in tens of milliseconds: one call at a time would cap the
        # rate well below the budget. Rows go to lanes by recipient, so one person's (or one
        # channel's) messages still go out in the order they were claimed.
        lanes: list[list[Claimed]] = [[] for _ in range(min(self.concurrency, len(rows)))]
        for row in rows:
            lanes[zlib.crc32(row.recipient.encode()) % len(lanes)].append(row)
        with ThreadPoolExecutor(len(lanes), thread_name_prefix="delivery-send") as pool:
            return sum(pool.map(self._send, [lane for lane in lanes if lane]))

    def _read_dm_channels(self, rows: list[Claimed]) -> None:
        """The batch's cached DM channels in one query rather than one per row."""
        users = [r.recipient for r in rows if r.op == "post" and r.recipient[:1] not in "CG"]
        try:
            found = self.outbox.dm_channels(users) if users else {}
        except SQLAlchemyError:  # each row looks for itself then
            found, users = {}, []
        self._dm_known = {user: found.get(user) for user in users}

    def _send(self, rows: list[Claimed]) -> int:
        handled = 0
        for position, row in enumerate(rows):
            if self.stop_event.is_set() or not self._holds_lease():
                self._release(rows[position:])
                break
            try:
                self.deliver(row)
            except Exception:  # a bug with one row must not strand the rest of the batch
                log.exception("Delivery of %s failed unexpectedly", row.key)
                self._release([row], verify=True)
            handled += 1
        return handled

    def drain(self, *, timeout: float | None = None) -> None:
        """Send until nothing is due (rows waiting for a later retry time are waited for).

        Outside a started worker (the CLI), it announces itself and renews its leases too.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        beating_here = self._beat_stop is None
        if beating_here:
            self._start_beating(CLI)
        try:
            while True:
                try:
                    due = self.outbox.due_count()
                except SQLAlchemyError:
                    due = -1  # unknown while the database is away
                if due == 0 and not self._unwritten:
                    return
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError("outbox not drained in time")
                try:
                    handled = self.run_once()
                except SQLAlchemyError as exc:
                    log.warning("Database unavailable, delivery waits: %s", _first_line(exc))
                    handled = 0
                if handled == 0:
                    time.sleep(0.05 if due >= 0 else 0.25)
        finally:
            if beating_here:
                self._stop_beating()

    def running_bots(self) -> list[str]:
        """Worker ids of bot processes sending right now (heard from within a lease)."""
        live = self.heartbeats.live(role=BOT, within=self.lease_seconds)
        return [worker for worker, _ in live if worker != self.outbox.worker_id]

    # -- leases and heartbeat ------------------------------------------------------------
    def _holds_lease(self) -> bool:
        """Half a lease after the last claim or renewal that reached the database, stop:
        past that, another worker may soon count our rows as abandoned."""
        return time.monotonic() < self._lease_from + self.lease_seconds / 2

    def _start_beating(self, role: str) -> None:
        if self._beat_stop is not None:
            return
        self._role = role
        self._beat_stop = stop = threading.Event()
        self._beat()
        threading.Thread(
            target=self._beat_loop, args=(stop,), name="delivery-heartbeat", daemon=True
        ).start()

    def _stop_beating(self) -> None:
        stop, self._beat_stop = self._beat_stop, None
        if stop is None:
            return
        stop.set()
        try:
            self.heartbeats.leave(self.outbox.worker_id)
        except SQLAlchemyError as exc:  # the row goes stale and is ignored
            log.warning("Could not sign the delivery worker off: %s", _first_line(exc))

    def _beat_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.lease_seconds / 4):
            self._beat()

    def _beat(self) -> None:
        """Say we are alive, renew our leases, take back rows of workers that are gone."""
        started = time.monotonic()
        try:
            self.heartbeats.beat(self.outbox.worker_id, self._role)
            self.outbox.renew_leases()
            self._lease_from = max(self._lease_from, started)
            recovered = self.outbox.recover_interrupted()
        except SQLAlchemyError as exc:
            log.warning("Could not renew delivery leases: %s", _first_line(exc))
            return
        if recovered:
            log.warning("Took back %d messages a stopped delivery worker had claimed", recovered)

    # -- writing outcomes ----------------------------------------------------------------
    def _write(self, what: str, action: Callable[[], object]) -> None:
        """Run a database write now, or keep it (in order) until the database answers."""
        with self._writing:
            self._write_locked(what, action)

    def _write_locked(self, what: str, action: Callable[[], object]) -> None:
        if self._unwritten:
            self._unwritten.append((what, action))
            return
        try:
            action()
        except SQLAlchemyError as exc:
            log.warning("Could not record %s yet: %s", what, _first_line(exc))
            self._unwritten.append((what, action))
        except Exception:
            log.exception("Could not record %s", what)

    def _write_pending(self) -> None:
        with self._writing:
            self._write_pending_locked()

    def _write_pending_locked(self) -> None:
        while self._unwritten:
            what, action = self._unwritten[0]
            try:
                action()
            except SQLAlchemyError:
                return  # still away; keep the order and try again on the next round
            except Exception:
                log.exception("Could not record %s", what)
            self._unwritten.popleft()

    def _release(self, rows: list[Claimed], *, verify: bool = False, delay: float = 0) -> None:
        """Give rows back unsent (stopping, our lease may have run out, or Slack said wait)."""
        for row in rows:
            self._write(
                f"the release of {row.key}",
                lambda row=row: self.outbox.mark_retry(
                    row.id,
                    "stopped before sending" if not delay else "waiting for Slack's Retry-After",
                    delay=delay,
                    count_attempt=False,
                    verify=verify or row.was_interrupted,
                ),
            )

    # -- one row -------------------------------------------------------------------------
    def _gate(self, method: str, channel: str | None = None) -> None:
        """Before a Slack call: put the row back while its method or channel is paused, else
        wait for the method's budget."""
        self._local.calling = (method, channel)
        wait = self._paused_for(method, channel)
        if wait > 0:
            raise _NotNow(wait)
        try:
            if not self.limiter.acquire(method, self.stop_event):
                raise _NotNow(0.0)
        except BudgetUnavailable as exc:
            raise self._budget_away(method, exc) from exc

    def _paused_for(self, method: str, channel: str | None = None) -> float:
        try:
            return self.limiter.paused_for(method, channel)
        except BudgetUnavailable as exc:
            raise self._budget_away(method, exc) from exc

    def _budget_away(self, method: str, exc: BudgetUnavailable) -> _NotNow:
        """Never send beyond the deployment's budget: the row waits for it."""
        log.warning("The shared send budget is unavailable, %s waits: %s", method, exc)
        return _NotNow(BUDGET_RETRY_S)

    def deliver(self, row: Claimed) -> None:
        posting = False  # True once a chat.postMessage may have reached Slack
        try:
            channel = self._channel_for(row)
            if row.op == "post":
                ts = self._already_sent(row, channel) if row.was_interrupted else None
                if ts is None:
                    self._gate("chat.postMessage", channel)
                    posting = True
                    channel, ts = self._post(row, channel)
            elif row.op == "update":
                ts = row.payload["ts"]
                self._gate("chat.update", channel)
                self.client.chat_update(
                    channel=channel,
                    ts=ts,
                    text=row.payload.get("text", ""),
                    blocks=row.payload.get("blocks"),
                )
            elif row.op == "delete":
                ts = row.payload["ts"]
                self._gate("chat.delete", channel)
                self.client.chat_delete(channel=channel, ts=ts)
            else:
                self.outbox.mark_failed(row.id, f"unknown op {row.op}")
                return
        except _NotNow as wait:
            self._release([row], delay=wait.seconds)
            return
        except SlackApiError as exc:
            # A 5xx on a post is ambiguous: Slack may have stored the message anyway.
            self._handle_api_error(row, exc, verify=row.was_interrupted or posting)
            return
        except (SlackRequestError, OSError, TimeoutError) as exc:
            self._retry(
                row,
                f"connection: {type(exc).__name__}: {exc}",
                verify=row.was_interrupted or posting,
            )
            return
        self._write(f"{row.key} as sent", lambda: self.outbox.mark_sent(row.id, channel, ts))
        if self.on_sent is not None:
            on_sent = self.on_sent
            self._write(f"what follows {row.key}", lambda: on_sent(row, channel, ts))

    def _channel_for(self, row: Claimed) -> str:
        """The channel to call: a channel post's, the cached DM, a newly opened DM, or, while
        conversations.open is paused, the user id itself (not for a row that must be checked
        in its DM's history first)."""
        if row.op != "post":
            return row.payload["channel"]
        if row.recipient[:1] in {"C", "G"}:
            return row.recipient  # a channel post
        try:
            if row.recipient in self._dm_known:
                cached = self._dm_known[row.recipient]  # read for the whole batch
            else:
                cached = self.outbox.dm_channel(row.recipient)
        except SQLAlchemyError:  # the cache only saves a call; Slack gives the same channel
            cached = None
        if cached:
            return cached
        paused = self._paused_for("conversations.open")
        if paused > 0 and self.dm_by_user_id and not row.was_interrupted:
            return row.recipient
        self._gate("conversations.open")
        channel = self.client.conversations_open(users=row.recipient)["channel"]["id"]
        self._remember(row.recipient, channel)
        return channel

    def _remember(self, user: str, channel: str) -> None:
        try:
            self.outbox.remember_dm_channel(user, channel)
        except SQLAlchemyError as exc:
            log.warning("Could not cache the DM channel of %s: %s", user, _first_line(exc))

    def _post(self, row: Claimed, channel: str) -> tuple[str, str]:
        """Post; returns the channel Slack answers with (a DM's, when posted to a user id)."""
        response = self.client.chat_postMessage(
            channel=channel,
            text=row.payload.get("text", ""),
            blocks=row.payload.get("blocks"),
            metadata={"event_type": METADATA_EVENT, "event_payload": {"delivery": row.key}},
            unfurl_links=False,
        )
        answered = response.get("channel") or channel
        if channel == row.recipient and answered != channel:
            self._remember(row.recipient, answered)
        return answered, response["ts"]

    def _already_sent(self, row: Claimed, channel: str) -> str | None:
        """Did the interrupted attempt reach Slack? Look for our key in recent history."""
        self._gate("conversations.history")
        response = self.client.conversations_history(
            channel=channel, limit=50, include_all_metadata=True
        )
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and (metadata.get("event_payload") or {}).get("delivery") == row.key
            ):
                log.info("Delivery %s had reached Slack before the restart", row.key)
                return message["ts"]
        return None

    def _handle_api_error(self, row: Claimed, exc: SlackApiError, *, verify: bool) -> None:
        status = getattr(exc.response, "status_code", 200)
        error = (exc.response.get("error") if exc.response is not None else None) or str(exc)
        if status == 429:
            headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
            retry_after = _seconds(headers.get("retry-after"))
            method, channel = getattr(self._local, "calling", ("chat.postMessage", None))
            self.limiter.pause(method, retry_after, channel)
            # A 429 means Slack did not take it; an earlier doubt still stands.
            self._write(
                f"a retry of {row.key}",
                lambda: self.outbox.mark_retry(
                    row.id,
                    "ratelimited",
                    delay=retry_after,
                    count_attempt=False,
                    verify=row.was_interrupted,
                ),
            )
        elif status >= 500:
            self._retry(row, f"server error {status}", verify=verify)
        elif error in PERMANENT_ERRORS:
            self._write(f"{row.key} as failed", lambda: self.outbox.mark_failed(row.id, error))
        else:
            self._retry(row, error, verify=row.was_interrupted)

    def _retry(self, row: Claimed, error: str, *, verify: bool = False) -> None:
        if row.attempts + 1 >= self.max_attempts:
            reason = f"gave up after {row.attempts + 1} attempts: {error}"
            self._write(f"{row.key} as failed", lambda: self.outbox.mark_failed(row.id, reason))
            return
        delay = min(self.backoff_seconds * (2**row.attempts), 300.0)
        self._write(
            f"a retry of {row.key}",
            lambda: self.outbox.mark_retry(row.id, error, delay=delay, verify=verify),
        )


class _NotNow(Exception):
    """A row's method or channel is paused (or the worker stops): put the row back."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"not before {seconds:.2f} s")
        self.seconds = seconds


def _first_line(exc: BaseException) -> str:
    return str(exc).split("\n", 1)[0][:200]


def _seconds(value) -> float:
    try:
        return max(float(value), 0.0)
    except (TypeError, ValueError):
        return 1.0

"""Send budgets per Slack method, pauses per method or per channel: in one process, or shared
by every replica of a deployment.

What Slack limits (https://docs.slack.dev/apis/web-api/rate-limits, read 2026-12-01):
- Web API limits apply "per API method per workspace per app", in tiers: Tier 1 1+ a minute,
  Tier 2 20+, Tier 3 50+, Tier 4 100+; a limited call is answered HTTP 429 with Retry-After
  (seconds) for that method.
- chat.postMessage has a special tier: about one message per second per channel, short bursts
  allowed, "while also maintaining a workspace-wide limit".
- conversations.open, chat.update, chat.delete: Tier 3. conversations.history: Tier 3, but one
  a minute for commercially distributed non-Marketplace apps created after 2025-05-29.

So each method has its own budget (calls per second for the whole deployment, `rate` unless
`rates` says otherwise) and its own pause; a 429 on chat.postMessage pauses only the channel it
was posting to (the workspace-wide limit is what the configured rate keeps us under), a 429 on
any other method pauses that method. Other methods and channels keep their budget.

Where the budget lives:
- `MemoryLimiter`: in this process (the default for one process on SQLite);
- `SharedLimiter(DatabaseBudget(...))`: the `send_budget` table, one row per method and one per
  paused channel, changed by single-row UPDATEs that SQLite and PostgreSQL both run atomically;
- `SharedLimiter(RedisBudget(...))`: the same in Redis (one Lua script), with CHANGEBOT_REDIS_URL.
A shared budget is a GCRA (generic cell rate algorithm) with reservations: a grant of n calls
moves the method's theoretical arrival time `tat` on by n / rate and gives the grantee the slots
from the old `tat` (or now, if that is past) on; it is refused while `tat` is more than AHEAD_S
ahead of now. The grantee waits for each slot. Slots are 1 / rate apart for the whole
deployment, so any window of T seconds holds at most rate * T + 1 of them; a replica that is
late for its slot (a busy CPU) loses nothing as long as it asked within AHEAD_S of it.
Shared budgets compare the wall clocks of the replicas: keep them synchronised (NTP).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.store.models import SendBudget

log = logging.getLogger(__name__)

POST = "chat.postMessage"
CHANNEL_SCOPED = frozenset({POST})  # methods Slack also limits per channel
PAUSE_REFRESH_S = 0.2  # how stale another replica's Retry-After may be here
BATCH_SHARE = 0.02  # a replica takes this share of a second's budget per grant (at least 1)
AHEAD_S = 0.05  # a replica may reserve slots this far ahead of now
BURST_SHARE = 0.02  # an in-process bucket holds this share of a second's budget (at least 1)
STALE_CHANNEL_S = 3600.0  # paused-channel rows older than this are deleted


def scope(method: str, channel: str | None = None) -> str:
    """The key of a pause: the method, or the method and the channel it is limited for."""
    return f"{method}|{channel}" if channel and method in CHANNEL_SCOPED else method


class BudgetUnavailable(RuntimeError):
    """The shared budget cannot be reached: nothing may be sent until it answers again (a
    replica on its own budget could take the whole deployment's rate)."""


class Limiter(Protocol):
    def acquire(self, method: str, stop: threading.Event | None = None) -> bool:
        """Wait for one call of `method` (its pause and its budget); False if `stop` was set."""

    def pause(self, method: str, seconds: float, channel: str | None = None) -> None:
        """Slack answered 429 with Retry-After `seconds` for `method` (or its `channel`)."""

    def paused_for(self, method: str, channel: str | None = None) -> float:
        """Seconds until `method` (and `channel`, where Slack limits per channel) may be called."""


class TokenBucket:
    """`rate` calls per second on average, bursts up to `capacity`; pausable as a whole."""

    def __init__(
        self,
        *,
        rate: float,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = capacity or max(1.0, rate)
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self.paused_until = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        with self._lock:
            self.paused_until = max(self.paused_until, self.clock() + seconds)
            self.tokens = 0.0

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait for a token; False if `stop` was set while waiting."""
        while True:
            with self._lock:
                now = self.clock()
                if now >= self.paused_until:
                    self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                    self.updated = now
                    if self.tokens >= 1.0:
                        self.tokens -= 1.0
                        return True
                    wait = (1.0 - self.tokens) / self.rate
                else:
                    self.updated = self.paused_until
                    wait = self.paused_until - now
            if stop is not None and stop.is_set():
                return False
            self.sleep(min(wait, 0.5))


class _Pauses:
    """Scope -> until, on one clock; shared by both limiters."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.until: dict[str, float] = {}
        self.lock = threading.Lock()

    def set(self, key: str, until: float) -> None:
        with self.lock:
            self.until[key] = max(self.until.get(key, 0.0), until)

    def left(self, method: str, channel: str | None) -> float:
        keys = {method, scope(method, channel)}
        now = self.clock()
        with self.lock:
            latest = max(self.until.get(key, 0.0) for key in keys)
            for key in [k for k, until in self.until.items() if until <= now]:
                del self.until[key]  # forget what is over; channels come and go
        return max(0.0, latest - now)


class MemoryLimiter:
    """Budgets and pauses in this process only: right for one process, not for replicas."""

    def __init__(
        self,
        *,
        rate: float,
        rates: dict[str, float] | None = None,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        bucket: TokenBucket | None = None,
    ) -> None:
        """`bucket`, when given, is chat.postMessage's bucket and the model (rate, capacity,
        clock) of every other method's."""
        if bucket is not None:
            rate, capacity, clock, sleep = bucket.rate, bucket.capacity, bucket.clock, bucket.sleep
        self.rate = rate
        self.rates = dict(rates or {})
        self.capacity = capacity
        self.clock = clock
        self.sleep = sleep
        self.pauses = _Pauses(clock)
        self._buckets: dict[str, TokenBucket] = {POST: bucket} if bucket is not None else {}
        self._lock = threading.Lock()

    def bucket(self, method: str) -> TokenBucket:
        with self._lock:
            if method not in self._buckets:
                rate = self.rates.get(method, self.rate)
                capacity = self.capacity if method not in self.rates else None
                capacity = capacity or max(1.0, rate * BURST_SHARE)
                self._buckets[method] = TokenBucket(
                    rate=rate, capacity=capacity, clock=self.clock, sleep=self.sleep
                )
            return self._buckets[method]

    def pause(self, method: str, seconds: float, channel: str | None = None) -> None:
        self.pauses.set(scope(method, channel), self.clock() + seconds)

    def paused_for(self, method: str, channel: str | None = None) -> float:
        return self.pauses.left(method, channel)

    def acquire(self, method: str, stop: threading.Event | None = None) -> bool:
        while (wait := self.paused_for(method)) > 0:
            if stop is not None and stop.is_set():
                return False
            self.sleep(min(wait, 0.5))
        return self.bucket(method).acquire(stop)


class Budget(Protocol):
    """Where a shared budget lives (the database or Redis); every call is atomic there."""

    errors: tuple[type[Exception], ...]  # what the store raises when it is away

    def grant(self, method: str, cost: float, ahead: float, now: float) -> tuple[bool, float]:
        """Reserve `cost` seconds of `method`'s budget: (True, seconds until the reserved
        slots start) or (False, seconds to wait before asking again)."""

    def pause(self, key: str, until: float) -> None: ...

    def paused(self, now: float) -> dict[str, float]:
        """Every scope paused beyond `now`, with its end."""


class SharedLimiter:
    """One budget per method for every process that shares `budget`.

    Grants come in batches of `BATCH_SHARE` of a second's budget (at least one call) so a replica
    does not ask the store for every call; another replica's Retry-After is seen within
    `PAUSE_REFRESH_S`, our own at once.
    """

    def __init__(
        self,
        budget: Budget,
        *,
        rate: float,
        rates: dict[str, float] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget
        self.rate = rate
        self.rates = dict(rates or {})
        self.clock = clock
        self.sleep = sleep
        self.pauses = _Pauses(clock)
        self._stash: dict[str, list[float]] = {}  # slots reserved here and not used yet
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def batch(self, method: str) -> int:
        return max(1, int(self.rates.get(method, self.rate) * BATCH_SHARE))

    def pause(self, method: str, seconds: float, channel: str | None = None) -> None:
        """Here at once; for the other replicas when the store answers (else they hear their
        own 429)."""
        until = self.clock() + seconds
        key = scope(method, channel)
        self.pauses.set(key, until)
        try:
            self.budget.pause(key, until)
        except self.budget.errors as exc:
            log.warning("Could not share the Retry-After of %s: %s", key, _first_line(exc))

    def paused_for(self, method: str, channel: str | None = None) -> float:
        now = self.clock()
        if now - self._read_at >= PAUSE_REFRESH_S:
            self._read_at = now
            try:
                for key, until in self.budget.paused(now).items():
                    self.pauses.set(key, until)
            except self.budget.errors as exc:
                raise BudgetUnavailable(_first_line(exc)) from exc
        return self.pauses.left(method, channel)

    def acquire(self, method: str, stop: threading.Event | None = None) -> bool:
        rate = self.rates.get(method, self.rate)
        while True:
            wait = self.paused_for(method)
            if wait <= 0:
                with self._lock:
                    slots = self._stash.setdefault(method, [])
                    slot = slots.pop(0) if slots else None
                if slot is None:
                    n = self.batch(method)
                    now = self.clock()
                    try:
                        granted, wait = self.budget.grant(method, n / rate, AHEAD_S, now)
                    except self.budget.errors as exc:
                        raise BudgetUnavailable(_first_line(exc)) from exc
                    if granted:
                        start = now + wait
                        with self._lock:
                            self._stash[method].extend(start + i / rate for i in range(1, n))
                        slot = start
                if slot is not None:
                    if (early := slot - self.clock()) > 0:
                        self.sleep(early)  # our slot of the deployment's budget starts then
                    return True
            if stop is not None and stop.is_set():
                return False
            self.sleep(min(max(wait, 0.001), 0.5))


class DatabaseBudget:
    """The shared budget in the `send_budget` table (SQLite or PostgreSQL)."""

    errors = (SQLAlchemyError,)

    def __init__(self, session_factory) -> None:
        self.sessions = session_factory

    def grant(self, method: str, cost: float, ahead: float, now: float) -> tuple[bool, float]:
        start = case((SendBudget.tat > now, SendBudget.tat), else_=now)
        take = (
            update(SendBudget)
            .where(SendBudget.scope == method)
            .where(SendBudget.tat <= now + ahead, SendBudget.paused_until <= now)
            .values(tat=start + cost)
            .returning(SendBudget.tat)
        )
        with self.sessions() as session:
            tat = session.execute(take).scalar_one_or_none()
            if tat is not None:
                session.commit()
                return True, max(0.0, tat - cost - now)
            row = session.execute(
                select(SendBudget.tat, SendBudget.paused_until).where(SendBudget.scope == method)
            ).first()
            session.rollback()
        if row is None:  # the method's first call: its row, then ask again
            self._create(method, 0.0)
            return self.grant(method, cost, ahead, now)
        tat, paused_until = row
        return False, max(paused_until - now, tat - ahead - now, 0.0001)

    def pause(self, key: str, until: float) -> None:
        later = case((SendBudget.paused_until > until, SendBudget.paused_until), else_=until)
        with self.sessions() as session:
            done = session.execute(
                update(SendBudget).where(SendBudget.scope == key).values(paused_until=later)
            ).rowcount
            if "|" in key:  # a channel's pause: clear out channels paused long ago
                session.execute(
                    delete(SendBudget).where(
                        SendBudget.scope.contains("|"),
                        SendBudget.paused_until < until - STALE_CHANNEL_S,
                    )
                )
            session.commit()
        if not done and not self._create(key, until):
            self.pause(key, until)  # another process created it in between

    def paused(self, now: float) -> dict[str, float]:
        with self.sessions() as session:
            rows = session.execute(
                select(SendBudget.scope, SendBudget.paused_until).where(
                    SendBudget.paused_until > now
                )
            )
            return {key: until for key, until in rows}

    def _create(self, key: str, paused_until: float) -> bool:
        try:
            with self.sessions() as session:
                session.execute(
                    insert(SendBudget).values(scope=key, tat=0.0, paused_until=paused_until)
                )
                session.commit()
            return True
        except IntegrityError:
            return False


_GRANT = """
local paused = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[4]) or '0')
local now, cost, ahead = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if paused > now then return {'0', tostring(paused - now)} end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat > now + ahead then return {'0', tostring(tat - ahead - now)} end
if tat < now then tat = now end
redis.call('SET', KEYS[1], string.format('%.6f', tat + cost))
return {'1', tostring(tat - now)}
"""

_PAUSE = """
local ends = tonumber(ARGV[2])
local current = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
if ends > current then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
return 1
"""


class RedisBudget:
    """The shared budget in Redis: `<prefix>tat:<method>` strings, a `<prefix>paused` zset."""

    def __init__(self, client, *, prefix: str = "changebot:send:") -> None:
        import redis  # only deployments that set CHANGEBOT_REDIS_URL need it

        self.errors = (redis.RedisError,)
        self.client = client
        self.prefix = prefix
        self._grant = client.register_script(_GRANT)
        self._pause = client.register_script(_PAUSE)

    @classmethod
    def from_url(cls, url: str, **kwargs) -> RedisBudget:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=5), **kwargs)

    def grant(self, method: str, cost: float, ahead: float, now: float) -> tuple[bool, float]:
        keys = [f"{self.prefix}tat:{method}", f"{self.prefix}paused"]
        granted, seconds = self._grant(keys=keys, args=[repr(now), cost, ahead, method])
        return granted in (b"1", "1"), max(0.0, float(seconds))

    def pause(self, key: str, until: float) -> None:
        args = [key, until, until - STALE_CHANNEL_S]
        self._pause(keys=[f"{self.prefix}paused"], args=args)

    def paused(self, now: float) -> dict[str, float]:
        rows = self.client.zrangebyscore(f"{self.prefix}paused", f"({now}", "+inf", withscores=True)
        return {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in rows}


def _first_line(exc: BaseException) -> str:
    return str(exc).split("\n", 1)[0][:200]

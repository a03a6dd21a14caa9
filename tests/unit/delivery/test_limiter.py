"""Send budgets per Slack method and pauses per method or channel, on a fake clock: in one
process, and shared through the database or Redis by limiters that know nothing of each other."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import sessionmaker

from bot.config import parse_rates
from bot.delivery.limiter import (
    POST,
    DatabaseBudget,
    MemoryLimiter,
    RedisBudget,
    SharedLimiter,
)

OPEN = "conversations.open"
REDIS_URL = "redis://127.0.0.1:6379/0"


class FakeClock:
    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def redis_client():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis server answers at {REDIS_URL}: {exc}")
    return client


@pytest.fixture(params=["memory", "database", "redis"])
def limiters(request, db_engine):
    """make(clock) -> a limiter; every limiter made shares the budget (except in memory,
    where each process has its own: there the same limiter is handed back)."""
    if request.param == "memory":
        made: dict = {}

        def make(clock, rate=10.0):
            return made.setdefault("one", MemoryLimiter(rate=rate, clock=clock, sleep=clock.sleep))

        yield make
        return
    if request.param == "database":
        sessions = sessionmaker(db_engine, expire_on_commit=False)

        def make(clock, rate=10.0):
            budget = DatabaseBudget(sessions)
            return SharedLimiter(budget, rate=rate, clock=clock, sleep=clock.sleep)

        yield make
        return
    client = redis_client()
    prefix = f"changebot:test:{uuid.uuid4().hex}:"

    def make(clock, rate=10.0):
        budget = RedisBudget(client, prefix=prefix)
        return SharedLimiter(budget, rate=rate, clock=clock, sleep=clock.sleep)

    yield make
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_a_429_on_one_method_does_not_stop_another(limiters):
    clock = FakeClock()
    limiter = limiters(clock)
    limiter.pause(OPEN, 5)
    assert limiter.acquire(POST)
    assert clock.now == 1_000.0  # chat.postMessage did not wait
    assert limiter.paused_for(POST, "D1") == 0
    assert limiter.paused_for(OPEN) == pytest.approx(5)
    assert limiter.acquire(OPEN)
    assert clock.now >= 1_005.0  # conversations.open waited for its Retry-After


def test_a_429_on_a_channel_pauses_only_that_channel(limiters):
    clock = FakeClock()
    limiter = limiters(clock)
    limiter.pause(POST, 3, channel="D1")
    assert limiter.paused_for(POST, "D1") == pytest.approx(3)
    assert limiter.paused_for(POST, "D2") == 0
    assert limiter.paused_for(POST) == 0  # the method itself keeps its budget
    assert limiter.acquire(POST) and clock.now == 1_000.0
    clock.now += 3
    assert limiter.paused_for(POST, "D1") == 0  # Retry-After over


def test_methods_slack_limits_as_a_whole_are_paused_whatever_the_channel(limiters):
    clock = FakeClock()
    limiter = limiters(clock)
    limiter.pause("chat.update", 2, channel="C1")
    assert limiter.paused_for("chat.update", "C2") == pytest.approx(2)


def test_retry_after_is_respected_to_the_second(limiters):
    clock = FakeClock()
    limiter = limiters(clock)
    limiter.pause(OPEN, 2)
    clock.now += 1.5
    assert limiter.paused_for(OPEN) == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.paused_for(OPEN) == 0
    assert limiter.acquire(OPEN) and clock.now == pytest.approx(1_002.0)


def test_a_longer_pause_is_not_shortened_by_a_shorter_one(limiters):
    clock = FakeClock()
    limiter = limiters(clock)
    limiter.pause(OPEN, 5)
    limiter.pause(OPEN, 1)
    assert limiter.paused_for(OPEN) == pytest.approx(5)


def test_each_method_keeps_its_own_rate(limiters):
    clock = FakeClock()
    limiter = limiters(clock, rate=10.0)
    for _ in range(21):
        limiter.acquire(POST)
    after_posts = clock.now
    assert 1.7 <= after_posts - 1_000.0 <= 2.1  # 10 a second, a small burst allowed
    limiter.acquire(OPEN)
    assert clock.now - after_posts < 0.11  # opens had their own budget all along


@pytest.mark.parametrize("kind", ["database", "redis"])
def test_two_shared_limiters_split_one_budget(kind, db_engine):
    """Two replicas on one clock: together they get the rate, not twice it."""
    clock = FakeClock()
    if kind == "database":
        sessions = sessionmaker(db_engine, expire_on_commit=False)
        budgets = [DatabaseBudget(sessions), DatabaseBudget(sessions)]
    else:
        client = redis_client()
        prefix = f"changebot:test:{uuid.uuid4().hex}:"
        budgets = [RedisBudget(client, prefix=prefix), RedisBudget(client, prefix=prefix)]
    one, two = (SharedLimiter(b, rate=20.0, clock=clock, sleep=clock.sleep) for b in budgets)
    granted = []
    for n in range(200):  # taking turns, as fast as the budget lets them
        (one if n % 2 else two).acquire(POST)
        granted.append(clock.now)
    for start in granted:  # tokens granted in any one-second window
        assert sum(1 for t in granted if start <= t < start + 1) <= 20 * 1.05  # 21
    assert granted[-1] - granted[0] >= 199 / 20 * 0.95
    # A Retry-After one replica heard holds for the other.
    one.pause(OPEN, 4)
    one.pause(POST, 3, channel="D7")
    clock.now += 0.5
    assert two.paused_for(POST, "D7") == pytest.approx(2.5)
    assert two.paused_for(OPEN) == pytest.approx(3.5)
    before = clock.now
    assert two.acquire(OPEN)
    assert clock.now >= before + 3.5


def test_method_rates_are_read_from_a_setting():
    assert parse_rates("conversations.open=0.8, chat.update = 2") == {
        OPEN: 0.8,
        "chat.update": 2.0,
    }
    assert parse_rates("") == {}
    with pytest.raises(ValueError, match="method=calls per second"):
        parse_rates("conversations.open")
    with pytest.raises(ValueError, match="above 0"):
        parse_rates("chat.update=0")

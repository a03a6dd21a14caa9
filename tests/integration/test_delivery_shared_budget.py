"""Two processes drawing on one shared send budget (the database, or Redis) get the configured
rate between them, not twice it.

Each process asks for calls as fast as the budget lets it for a while and records the slot of
every call it was granted (the moment the shared budget reserved for it). The assertion is on
calls granted per one-second window, all processes together, so a slow machine cannot make it
fail: it only makes the processes ask less often."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RATE = 100.0
SECONDS = 2.0

CHILD = r"""
import json, sys, time
from bot.delivery.limiter import POST, DatabaseBudget, RedisBudget, SharedLimiter

kind, target, rate, start_at, seconds = sys.argv[1:6]
rate, start_at, seconds = float(rate), float(start_at), float(seconds)
if kind == "memory":  # each process its own budget: what the shared ones must not do
    from bot.delivery.limiter import MemoryLimiter
    limiter, granted = MemoryLimiter(rate=rate), []
    time.sleep(max(0.0, start_at - time.time()))
    while time.time() < start_at + seconds:
        limiter.acquire(POST)
        granted.append([time.time(), 1])
    print(json.dumps(granted))
    sys.exit(0)
if kind == "redis":
    budget = RedisBudget.from_url(target.split(" ")[0], prefix=target.split(" ")[1])
else:
    from bot.store.db import make_engine, make_session_factory
    budget = DatabaseBudget(make_session_factory(make_engine(target)))
granted = []
grant = budget.grant

def recording(method, cost, ahead, now):
    granted_, seconds = grant(method, cost, ahead, now)
    if granted_:  # the reserved slots: n calls from now + seconds on, 1 / rate apart
        n = round(cost * rate)
        granted.extend([now + seconds + i / rate, 1] for i in range(n))
    return granted_, seconds

budget.grant = recording
limiter = SharedLimiter(budget, rate=rate)
time.sleep(max(0.0, start_at - time.time()))
while time.time() < start_at + seconds:
    limiter.acquire(POST)
print(json.dumps(granted))
"""


def drain_together(kind: str, target: str, processes: int = 2) -> list[list[tuple[float, int]]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start_at = time.time() + 3.0  # every child imported and connected before it starts
    args = [kind, target, str(RATE), str(start_at), str(SECONDS)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    outputs = [child.communicate(timeout=120)[0] for child in children]
    assert all(child.returncode == 0 for child in children), outputs
    return [json.loads(out.strip().splitlines()[-1]) for out in outputs]


def worst_second(per_process: list[list[tuple[float, int]]]) -> int:
    """The most calls granted in any one-second window, all processes together."""
    assert all(per_process), "every process got calls"
    grants = sorted((at, n) for granted in per_process for at, n in granted)
    worst = max(sum(n for at, n in grants if start <= at < start + 1.0) for start, _ in grants)
    totals = [sum(n for _, n in granted) for granted in per_process]
    print(f"calls per process {totals}; most in one second {worst} at {RATE:g}/s")
    return worst


def assert_joint_rate(per_process: list[list[tuple[float, int]]]) -> None:
    worst = worst_second(per_process)
    assert worst <= RATE * 1.05, f"{worst} calls granted in one second at {RATE}/s"


def test_the_measure_catches_a_budget_per_process():
    """Two in-process limiters: each takes the whole rate, and the measure says so."""
    assert worst_second(drain_together("memory", "")) > RATE * 1.05


def test_two_processes_share_the_database_budget(db_engine):
    url = db_engine.url.render_as_string(hide_password=False)
    assert_joint_rate(drain_together("database", url))


def test_two_processes_share_the_redis_budget():
    redis = pytest.importorskip("redis")
    url = os.environ.get("CHANGEBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis server answers at {url}: {exc}")
    prefix = f"changebot:test:{uuid.uuid4().hex}:"
    try:
        assert_joint_rate(drain_together("redis", f"{url} {prefix}"))
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)

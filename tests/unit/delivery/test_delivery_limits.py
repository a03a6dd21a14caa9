"""The worker against the emulator: a 429 holds back only the method or channel Slack limited,
several rows are in flight at once but one person's stay in order, and the container picks
the send budget the deployment needs."""

from __future__ import annotations

import pytest
from slack_emulator import SlackEmulator
from slack_sdk import WebClient
from sqlalchemy.orm import sessionmaker

from bot.config import SettingsError
from bot.delivery.limiter import DatabaseBudget, MemoryLimiter, RedisBudget, SharedLimiter
from bot.delivery.outbox import Envelope, Outbox
from bot.delivery.worker import DeliveryWorker


@pytest.fixture
def slack():
    with SlackEmulator() as emulator:
        yield emulator


@pytest.fixture
def outbox(db_engine):
    return Outbox(session_factory=sessionmaker(db_engine, expire_on_commit=False))


def make_worker(outbox, slack, **kwargs) -> DeliveryWorker:
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    client.retry_handlers.clear()  # as the container builds it for delivery
    kwargs.setdefault("rate_per_second", 200)
    kwargs.setdefault("backoff_seconds", 0.01)
    return DeliveryWorker(outbox=outbox, client=client, **kwargs)


def posts_to(slack, channel_or_user: str):
    return [
        c
        for c in slack.successful_calls("chat.postMessage")
        if c.params["channel"] in (channel_or_user, "D" + channel_or_user)
    ]


def test_a_429_on_conversations_open_does_not_hold_back_the_other_dms(outbox, slack):
    slack.fail_next("conversations.open", status=429, retry_after=2)
    users = ["U1", "U2", "U3", "U4"]
    outbox.enqueue("pulse-1", [Envelope(u, {"text": f"Pulse for {u}"}) for u in users])
    make_worker(outbox, slack).drain(timeout=20)

    assert outbox.counts("pulse-1") == {"sent": 4}
    assert all(len(posts_to(slack, u)) == 1 for u in users)
    limited = next(c for c in slack.calls_to("conversations.open") if c.status == 429)
    [late] = posts_to(slack, limited.params["users"])
    others = [posts_to(slack, u)[0] for u in users if u != limited.params["users"]]
    assert late.time - limited.time >= 1.9  # its Retry-After, for conversations.open
    assert all(post.time < late.time for post in others)  # nobody else waited for it
    # While conversations.open was paused the DMs went to the user ids; Slack's answer gave
    # the DM channel, remembered like an opened one.
    assert {post.params["channel"] for post in others} == {u for u in users if u != "U1"}
    assert outbox.dm_channel("U2") == "DU2"
    assert len(slack.successful_calls("conversations.open")) == 1


def test_a_429_on_one_channel_leaves_the_other_channels_posting(outbox, slack):
    slack.fail_next("chat.postMessage", status=429, retry_after=2)
    outbox.enqueue("broadcast-1", [Envelope(c, {"text": "Update"}) for c in ("C1", "C2", "C3")])
    make_worker(outbox, slack).drain(timeout=20)

    assert outbox.counts("broadcast-1") == {"sent": 3}
    limited = next(c for c in slack.calls_to("chat.postMessage") if c.status == 429)
    [late] = posts_to(slack, limited.params["channel"])
    others = [c for c in slack.successful_calls("chat.postMessage") if c is not late]
    assert len(others) == 2 and all(post.time < late.time for post in others)
    assert late.time - limited.time >= 1.9


def test_a_paused_method_keeps_rows_waiting_without_a_call(outbox, slack):
    """A row whose channel is paused (another replica heard the 429) is put back, uncalled."""
    limiter = MemoryLimiter(rate=200)
    limiter.pause("chat.postMessage", 30, channel="C9")
    outbox.enqueue("broadcast-2", [Envelope(c, {"text": "Update"}) for c in ("C9", "C8")])
    worker = make_worker(outbox, slack, limiter=limiter)
    worker.run_once()
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == ["C8"]
    assert outbox.counts("broadcast-2") == {"pending": 1, "sent": 1}
    assert worker.run_once() == 0  # C9's row waits for the pause, not claimed again at once
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_rows_in_flight_at_once_keep_one_persons_order(outbox, slack):
    people = [f"U{n:02d}" for n in range(30)]
    for campaign in ("pulse-1", "pulse-2", "pulse-3"):
        outbox.enqueue(campaign, [Envelope(u, {"text": f"{campaign} for {u}"}) for u in people])
    make_worker(outbox, slack, concurrency=4, batch_size=90).drain(timeout=30)

    for person in people:
        texts = [c.params["text"] for c in posts_to(slack, person)]
        assert texts == [f"pulse-{n} for {person}" for n in (1, 2, 3)]


def test_the_container_picks_the_send_budget(make_container):
    on_sqlite = make_container()
    assert isinstance(on_sqlite.send_limiter, MemoryLimiter)  # one process on SQLite
    assert on_sqlite.delivery_worker.limiter is on_sqlite.send_limiter

    shared = make_container(delivery_limiter="database").send_limiter
    assert isinstance(shared, SharedLimiter) and isinstance(shared.budget, DatabaseBudget)

    redis = make_container(redis_url="redis://127.0.0.1:6379/0").send_limiter
    assert isinstance(redis.budget, RedisBudget)

    with pytest.raises(SettingsError, match="CHANGEBOT_REDIS_URL"):
        make_container(delivery_limiter="redis").send_limiter  # noqa: B018


def test_replicas_on_postgresql_share_the_budget_by_default(make_container):
    container = make_container(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    container.__dict__["session_factory"] = sessions = object()  # no server needed here
    assert container.send_limiter.budget.sessions is sessions


class FlakyBudget:
    """A shared budget whose store is away until `back` is set."""

    errors = (ConnectionError,)

    def __init__(self) -> None:
        self.back = False

    def _check(self) -> None:
        if not self.back:
            raise ConnectionError("Connection refused")

    def grant(self, method, cost, ahead, now):
        self._check()
        return True, 0.0

    def pause(self, key, until):
        self._check()

    def paused(self, now):
        self._check()
        return {}


def test_nothing_is_sent_while_the_shared_budget_is_away(outbox, slack, caplog):
    budget = FlakyBudget()
    worker = make_worker(outbox, slack, limiter=SharedLimiter(budget, rate=200))
    outbox.enqueue("pulse-1", [Envelope(u, {"text": f"Pulse for {u}"}) for u in ("U1", "U2")])
    worker.run_once()
    assert slack.calls_to("chat.postMessage") == []  # no budget, no sending on our own
    assert outbox.counts("pulse-1") == {"pending": 2}
    assert "shared send budget is unavailable" in caplog.text
    assert "failed unexpectedly" not in caplog.text
    budget.back = True
    worker.drain(timeout=10)
    assert outbox.counts("pulse-1") == {"sent": 2}
    assert len(slack.successful_calls("chat.postMessage")) == 2

"""Helpers for delivery tests with several workers: each worker on its own engine (as a
second process would have), the Slack emulator counting posts per delivery key."""

from __future__ import annotations

import threading
import time
from collections import Counter
from contextlib import contextmanager

from slack_sdk import WebClient

from bot.delivery.outbox import Envelope, Outbox
from bot.delivery.worker import METADATA_EVENT, DeliveryWorker, TokenBucket
from bot.store.db import make_engine, make_session_factory


@contextmanager
def engine_maker(db_engine):
    """Makes engines on the test database, one per simulated process; disposes of them."""
    made = []

    def another():
        engine = make_engine(db_engine.url.render_as_string(hide_password=False))
        made.append(engine)
        return engine

    try:
        yield another
    finally:
        for engine in made:
            engine.dispose()


def worker_on(engine, slack, *, rate: float = 500, batch_size: int = 10) -> DeliveryWorker:
    outbox = Outbox(session_factory=make_session_factory(engine))
    client = WebClient(token="xoxb-test", base_url=slack.base_url)
    client.retry_handlers.clear()  # as the container builds it for delivery
    return DeliveryWorker(
        outbox=outbox,
        client=client,
        bucket=TokenBucket(rate=rate, capacity=max(1, rate / 10)),
        backoff_seconds=0.05,
        batch_size=batch_size,
    )


def people(count: int) -> list[Envelope]:
    return [Envelope(f"U{n:04d}", {"text": f"Pulse for U{n:04d}"}) for n in range(count)]


def known_dm_channels(outbox: Outbox, count: int) -> None:
    """DM channels already cached: only the claim is raced, not the cache (tested below)."""
    for n in range(count):
        outbox.remember_dm_channel(f"U{n:04d}", f"DU{n:04d}")


def posts_per_key(slack) -> Counter:
    counted: Counter = Counter()
    for call in slack.successful_calls("chat.postMessage"):
        metadata = call.params.get("metadata") or {}
        if metadata.get("event_type") == METADATA_EVENT:
            counted[metadata["event_payload"]["delivery"]] += 1
    return counted


def assert_each_sent_once(slack, outbox: Outbox, campaign: str, count: int) -> None:
    sent = posts_per_key(slack)
    twice = {key: n for key, n in sent.items() if n > 1}
    assert not twice, f"{len(twice)} of {count} people got it more than once"
    assert len(sent) == count, f"{count - len(sent)} of {count} never got it"
    assert outbox.counts(campaign) == {"sent": count}


def in_threads(*actions) -> None:
    errors: list[BaseException] = []

    def run(action):
        try:
            action()
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


def wait_until(check, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)

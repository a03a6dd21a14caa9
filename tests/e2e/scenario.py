"""Helpers for reading what a Slack user would see off the emulator's recorded calls."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

QUIET = 0.3  # after the expected calls: long enough for an unexpected extra one to show up


def settle(seconds: float = QUIET) -> None:
    time.sleep(seconds)


def blocks_of(call_or_params) -> list[dict]:
    params = getattr(call_or_params, "params", call_or_params)
    return params.get("blocks") or []


def block_texts(blocks: list[dict], kind: str) -> list[str]:
    """The mrkdwn / plain texts of every block of one type (section, context, header)."""
    texts = []
    for block in blocks:
        if block.get("type") != kind:
            continue
        if isinstance(block.get("text"), dict):
            texts.append(block["text"].get("text", ""))
        for element in block.get("elements") or []:
            if isinstance(element, dict) and "text" in element and element.get("type") != "button":
                text = element["text"]
                texts.append(text.get("text", "") if isinstance(text, dict) else text)
    return texts


def buttons(blocks: list[dict]) -> list[dict]:
    return [
        element
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]


def action_ids(blocks: list[dict]) -> list[str]:
    return [button["action_id"] for button in buttons(blocks)]


def button_value(blocks: list[dict], action_id: str) -> str:
    [value] = [b["value"] for b in buttons(blocks) if b["action_id"] == action_id]
    return value


def everything_said(call_or_params) -> str:
    """The fallback text and every text in the blocks, for 'does the user see X' checks."""
    params = getattr(call_or_params, "params", call_or_params)
    blocks = params.get("blocks") or []
    parts = [params.get("text") or ""]
    for kind in ("header", "section", "context"):
        parts.extend(block_texts(blocks, kind))
    return "\n".join(parts)


def rows(container, model, **where) -> list:
    with container.session_factory() as session:
        statement = select(model).filter_by(**where).order_by(model.id)
        return list(session.scalars(statement))


def stored_message(slack, channel: str, ts: str) -> dict:
    """The message as the emulator keeps it (what a click on it would carry)."""
    for message in slack.state.messages.get(channel, []):
        if message["ts"] == ts:
            return dict(message)
    raise AssertionError(f"no message {ts} in {channel}")


class _Rows(list):
    def first(self):
        return self[0] if self else None

    def one(self):
        [row] = self
        return row

    def all(self):
        return list(self)


def overlap_reads(monkeypatch, service, model, *, parties: int = 2, timeout: float = 2.0):
    """Make `parties` concurrent requests each read `model` (session.get / session.scalars)
    before any of them writes: the interleaving two clicks arriving together can get.

    Code that serialises the check-then-write (a lock, an atomic UPDATE ... WHERE) never has
    two readers at the barrier; it times out and the requests carry on one after the other."""
    barrier = threading.Barrier(parties, timeout=timeout)
    arrivals = itertools.count()

    def wait() -> None:
        if next(arrivals) >= parties:
            return  # only the first `parties` reads are held back (not a retry after them)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    class OverlappingSession(Session):
        def get(self, entity, *args, **kwargs):
            found = super().get(entity, *args, **kwargs)
            if entity is model:
                wait()
            return found

        def scalars(self, statement, *args, **kwargs):
            result = super().scalars(statement, *args, **kwargs)
            descriptions = getattr(statement, "column_descriptions", None) or [{}]
            if descriptions[0].get("entity") is not model:
                return result
            loaded = _Rows(result.all())
            wait()
            return loaded

    factory = sessionmaker(**{**service.sessions.kw, "class_": OverlappingSession})
    monkeypatch.setattr(service, "sessions", factory)
    return barrier

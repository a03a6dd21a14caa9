"""Console sign-in without a browser: links are single-use, short-lived and unforgeable;
sessions expire; only hashes are stored; everything is audited. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading

import pytest
from conftest import FrozenClock
from sqlalchemy import text

from bot.console.auth import LINK, LinkRefused, SignIn
from bot.store.db import make_session_factory

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    return FrozenClock(NOW)


@pytest.fixture
def sign_in(db_engine, clock):
    return SignIn(
        session_factory=make_session_factory(db_engine),
        secret=b"s3cret",
        link_url="http://localhost:8080/console/sign-in/link",
        session_hours=8,
        clock=clock,
    )


def token_of(url: str) -> str:
    return url.split("token=", 1)[1]


def test_a_link_signs_in_once_and_a_second_use_is_refused(sign_in):
    token = token_of(sign_in.issue_link("UHR"))
    assert sign_in.redeem_link(token) == "UHR"
    with pytest.raises(LinkRefused) as refused:
        sign_in.redeem_link(token)
    assert refused.value.reason == "used"


def test_a_link_expires_after_ten_minutes(sign_in, clock):
    token = token_of(sign_in.issue_link("UHR"))
    clock.advance(minutes=9, seconds=59)
    assert sign_in.read_link(token)[0] == "UHR"
    clock.advance(seconds=1)
    with pytest.raises(LinkRefused) as refused:
        sign_in.redeem_link(token)
    assert refused.value.reason == "expired"


def _payload(token: str) -> dict:
    payload = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _encode(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_a_link_rewritten_for_another_user_or_a_later_expiry_is_refused(sign_in):
    token = token_of(sign_in.issue_link("UNOBODY"))
    signature = token.split(".")[1]
    for change in ({"u": "UHR"}, {"e": _payload(token)["e"] + 3600}):
        forged = _encode({**_payload(token), **change}) + "." + signature
        with pytest.raises(LinkRefused) as refused:
            sign_in.redeem_link(forged)
        assert refused.value.reason == "invalid"
    for garbage in ("", "abc", "abc.def", token + "x", "." + signature, "a" * 1000):
        with pytest.raises(LinkRefused):
            sign_in.redeem_link(garbage)
    assert sign_in.redeem_link(token) == "UNOBODY"  # the real one still works once


def test_a_link_signed_with_another_secret_is_refused(sign_in, db_engine, clock):
    other = SignIn(
        session_factory=make_session_factory(db_engine),
        secret=b"another",
        link_url="x",
        clock=clock,
    )
    with pytest.raises(LinkRefused) as refused:
        sign_in.redeem_link(token_of(other.issue_link("UHR")))
    assert refused.value.reason == "invalid"


def test_two_clicks_at_the_same_moment_sign_in_once(sign_in):
    token = token_of(sign_in.issue_link("UHR"))
    results, barrier = [], threading.Barrier(4)

    def click():
        barrier.wait()
        try:
            results.append(sign_in.redeem_link(token))
        except LinkRefused as refused:
            results.append(refused.reason)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["UHR", "used", "used", "used"]


def test_a_session_ends_after_its_lifetime_even_when_used(sign_in, clock):
    token, _ = sign_in.start_session("UHR", LINK)
    for _ in range(15):  # a click every 30 minutes keeps it from going idle
        clock.advance(minutes=30)
        assert sign_in.visitor(token) is not None
    clock.advance(minutes=30)  # 8 hours after signing in
    assert sign_in.visitor(token) is None


def test_a_session_ends_after_an_hour_without_a_click(sign_in, clock):
    token, _ = sign_in.start_session("UHR", LINK)
    clock.advance(minutes=59)
    assert sign_in.visitor(token) is not None
    clock.advance(minutes=60)
    assert sign_in.visitor(token) is None


def test_sign_out_ends_the_session_and_is_audited(sign_in):
    token, _ = sign_in.start_session("UHR", LINK, address="10.0.0.1")
    sign_in.sign_out(token, address="10.0.0.1")
    assert sign_in.visitor(token) is None
    outcomes = [(row["user_id"], row["outcome"]) for row in sign_in.audit_log()]
    assert outcomes == [("UHR", "signed out"), ("UHR", "signed in")]


def test_the_database_holds_no_usable_link_or_session_token(sign_in, db_engine):
    token = token_of(sign_in.issue_link("UHR"))
    nonce = _payload(token)["n"]
    cookie, visitor = sign_in.start_session("UHR", LINK)
    with db_engine.connect() as connection:
        stored = [
            str(value)
            for table in ("console_links", "console_sessions")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
            for value in row
        ]
    assert not any(nonce in value or cookie in value or token in value for value in stored)
    assert visitor.csrf in stored  # the CSRF token is not a secret from the database


def test_unknown_or_absurd_session_cookies_are_nobody(sign_in):
    for cookie in (None, "", "nope", "x" * 5000):
        assert sign_in.visitor(cookie) is None

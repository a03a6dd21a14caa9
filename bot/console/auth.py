"""Signing in to the console through Slack: magic links, sessions, and the sign-in audit.

No web framework here, so every rule can be tested on its own:
- A link is `<payload>.<signature>`: the payload names the Slack user, a random nonce and
  the expiry (10 minutes); the signature is an HMAC under the console secret. A link is
  used once: redeeming it marks its nonce used in one conditional UPDATE, so two clicks
  (or two replicas) cannot both sign in with it. Only a hash of the nonce is stored.
- A session is a random token in an HttpOnly cookie; the database keeps its hash, the user,
  a CSRF token and two deadlines (absolute, and one hour without a click).
- Every sign-in, refusal and sign-out is written to `console_signins`.
Who may see which page is not decided here: the web layer asks the role checks on every
request.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import ConsoleLink, ConsoleSession, ConsoleSignIn
from bot.timeutil import as_utc, utcnow

LINK_LIFETIME = dt.timedelta(minutes=10)
IDLE_LIMIT = dt.timedelta(hours=1)
TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen is written at most this often
AUDIT_KEPT = dt.timedelta(days=365)
LINK, SLACK = "link", "slack"


class LinkRefused(Exception):
    """The link cannot sign anyone in; `reason` is a short word for the audit and the page."""

    def __init__(self, reason: str, user_id: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.user_id = user_id


@dataclass(frozen=True)
class Visitor:
    """A signed-in browser, as read from its session."""

    user_id: str
    method: str
    csrf: str
    expires_at: dt.datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SignIn:
    """Links, sessions and the audit, in the database.

    Args:
        secret: signs the links; every process that serves the console needs the same one.
        link_url: the console's sign-in page for links (the token is appended).
        session_hours: how long a session lasts at most.
    """

    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        secret: bytes,
        link_url: str,
        session_hours: float = 8.0,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        if not secret:
            raise ValueError("SignIn needs a non-empty secret to sign links")
        self.sessions = session_factory
        self._secret = bytes(secret)
        self.link_url = link_url
        self.lifetime = dt.timedelta(hours=session_hours)
        self.clock = clock

    def _now(self) -> dt.datetime:
        return as_utc(self.clock())

    # -- magic links --------------------------------------------------------------------
    def issue_link(self, user_id: str, *, page: str = "") -> str:
        """A fresh single-use sign-in URL for this Slack user, valid for 10 minutes.

        `page` (e.g. "/pulse") is where the console opens after signing in.
        """
        now = self._now()
        nonce = secrets.token_urlsafe(24)
        expires = now + LINK_LIFETIME
        payload = _b64(
            json.dumps(
                {"u": user_id, "n": nonce, "e": int(expires.timestamp())}, separators=(",", ":")
            ).encode()
        )
        with self.sessions.begin() as session:
            session.add(
                ConsoleLink(
                    nonce_hash=_hash(nonce), user_id=user_id, issued_at=now, expires_at=expires
                )
            )
        to = f"&to={quote(page)}" if page else ""
        return f"{self.link_url}?token={payload}.{self._sign(payload)}{to}"

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._secret, b"console-link:" + payload.encode(), hashlib.sha256)
        return _b64(digest.digest())

    def read_link(self, token: str) -> tuple[str, str, dt.datetime]:
        """(user id, nonce, expiry) of a link with a valid signature that has not expired.

        Raises LinkRefused("invalid" | "expired" | "used"). Does not use the link up.
        """
        payload, _, signature = (token or "").strip().partition(".")
        if not payload or not signature or len(token) > 400:
            raise LinkRefused("invalid")
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise LinkRefused("invalid")
        try:
            data = json.loads(_unb64(payload))
            user_id, nonce = str(data["u"]), str(data["n"])
            expires = dt.datetime.fromtimestamp(int(data["e"]), dt.UTC)
        except (ValueError, KeyError, TypeError):
            raise LinkRefused("invalid") from None
        if self._now() >= expires:
            raise LinkRefused("expired", user_id)
        with self.sessions() as session:
            row = session.get(ConsoleLink, _hash(nonce))
        if row is None or row.used_at is not None or row.user_id != user_id:
            raise LinkRefused("used", user_id)
        return user_id, nonce, expires

    def redeem_link(self, token: str) -> str:
        """Use the link up and return its Slack user id.

        Raises LinkRefused: "invalid" (forged or garbled), "expired", "used" (or unknown).
        """
        user_id, nonce, _ = self.read_link(token)
        now = self._now()
        with self.sessions.begin() as session:
            used = session.execute(
                update(ConsoleLink)
                .where(
                    ConsoleLink.nonce_hash == _hash(nonce),
                    ConsoleLink.user_id == user_id,
                    ConsoleLink.used_at.is_(None),
                    ConsoleLink.expires_at > now,
                )
                .values(used_at=now)
            ).rowcount
        if not used:
            raise LinkRefused("used", user_id)
        return user_id

    # -- sessions -----------------------------------------------------------------------
    def start_session(self, user_id: str, method: str, *, address: str = "") -> tuple[str, Visitor]:
        """A new session for a user whose roles the caller has checked; audited."""
        now = self._now()
        token = secrets.token_urlsafe(32)
        visitor = Visitor(user_id, method, secrets.token_urlsafe(24), now + self.lifetime)
        with self.sessions.begin() as session:
            session.add(
                ConsoleSession(
                    token_hash=_hash(token),
                    user_id=user_id,
                    method=method,
                    csrf=visitor.csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=visitor.expires_at,
                )
            )
        self.audit(user_id, method, "signed in", address=address)
        self.purge()
        return token, visitor

    def visitor(self, token: str | None) -> Visitor | None:
        """The session behind a cookie, or None when it is unknown, expired or idle too long."""
        if not token or len(token) > 200:
            return None
        now = self._now()
        with self.sessions.begin() as session:
            row = session.get(ConsoleSession, _hash(token))
            if row is None:
                return None
            if now >= as_utc(row.expires_at) or now - as_utc(row.last_seen_at) >= IDLE_LIMIT:
                session.delete(row)
                return None
            if now - as_utc(row.last_seen_at) >= TOUCH_EVERY:
                row.last_seen_at = now
            return Visitor(row.user_id, row.method, row.csrf, as_utc(row.expires_at))

    def sign_out(self, token: str | None, *, address: str = "") -> None:
        visitor = self.visitor(token)
        if token:
            with self.sessions.begin() as session:
                session.execute(
                    delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token))
                )
        if visitor is not None:
            self.audit(visitor.user_id, visitor.method, "signed out", address=address)

    def end_sessions_of(self, user_id: str) -> int:
        """Sign a person out everywhere (their role was taken away)."""
        with self.sessions.begin() as session:
            return (
                session.execute(
                    delete(ConsoleSession).where(ConsoleSession.user_id == user_id)
                ).rowcount
                or 0
            )

    # -- the audit ------------------------------------------------------------------------
    def audit(self, user_id: str, method: str, outcome: str, *, address: str = "") -> None:
        with self.sessions.begin() as session:
            session.add(
                ConsoleSignIn(
                    at=self._now(),
                    user_id=user_id[:64],
                    method=method[:16],
                    outcome=outcome[:32],
                    address=address[:64],
                )
            )

    def audit_log(self, *, limit: int = 100) -> list[dict]:
        with self.sessions() as session:
            rows = session.scalars(
                select(ConsoleSignIn).order_by(ConsoleSignIn.id.desc()).limit(limit)
            ).all()
        return [
            {
                "at": as_utc(row.at),
                "user_id": row.user_id,
                "method": row.method,
                "outcome": row.outcome,
                "address": row.address,
            }
            for row in rows
        ]

    def purge(self) -> None:
        """Forget expired links and sessions, and audit rows older than a year."""
        now = self._now()
        with self.sessions.begin() as session:
            session.execute(delete(ConsoleLink).where(ConsoleLink.expires_at < now - LINK_LIFETIME))
            session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
            session.execute(delete(ConsoleSignIn).where(ConsoleSignIn.at < now - AUDIT_KEPT))

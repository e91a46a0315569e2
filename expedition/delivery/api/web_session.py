"""Sign-in sessions of the reviewers' web pages.

A partner signs in with its token once; the service keeps the token in memory under a random session id
(32 bytes, ``secrets.token_urlsafe``) and sends only that id, as the cookie ``qe_session``: ``HttpOnly``
(no script reads it), ``SameSite=Strict`` (no other site's page sends it), ``Path=/web``, ``Secure`` when
served over HTTPS, and an 8-hour lifetime. Every request authenticates the kept token again against the
current token registry, so a revoked partner is signed out within the service's refresh interval.
Each session carries a CSRF token that every form posting a change must echo (compared in constant time).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass

__all__ = ["COOKIE", "LIFETIME_S", "Session", "SessionStore"]

COOKIE = "qe_session"
LIFETIME_S = 8 * 3600
MAX_SESSIONS = 10_000


@dataclass(frozen=True)
class Session:
    session_id: str
    token: str
    partner_name: str
    csrf: str
    expires: float

    def csrf_ok(self, sent: str | None) -> bool:
        """The form's CSRF token matches this session's (constant-time)."""
        return bool(sent) and hmac.compare_digest(self.csrf.encode(), str(sent).encode())


class SessionStore:
    """Sessions in memory (thread-safe); they end at sign-out, expiry or a service restart."""

    def __init__(self, lifetime_s: float = LIFETIME_S) -> None:
        self.lifetime_s = lifetime_s
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, token: str, partner_name: str) -> Session:
        """A new session for a verified token."""
        now = time.monotonic()
        s = Session(secrets.token_urlsafe(32), token, partner_name, secrets.token_urlsafe(32), now + self.lifetime_s)
        with self._lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._sessions = {k: v for k, v in self._sessions.items() if v.expires > now}
            self._sessions[s.session_id] = s
        return s

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id, or None."""
        if not session_id:
            return None
        with self._lock:
            s = self._sessions.get(session_id)
            if s is not None and s.expires <= time.monotonic():
                del self._sessions[session_id]
                return None
            return s

    def close(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

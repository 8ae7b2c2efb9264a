"""Issued access tokens every sandbox keeps: who they act for and when they expire."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


def same_secret(given: str, expected: str) -> bool:
    """Compare a presented secret in constant time, as UTF-8: any character may be in one."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@dataclass(frozen=True)
class Session:
    """An issued access token and whom it acts for."""

    access_token: str
    user_id: str
    client_id: str
    issued_at: float
    expires_at: float | None


class TokenStore:
    """Issued tokens, thread-safe; each sandbox's ``Auth`` adds its CRM's token endpoint.

    ``token_lifetime_s`` of ``None`` (or 0) means tokens never expire on their own; tests
    expire them with :meth:`expire_all`. ``clock`` returns epoch seconds.
    """

    def __init__(
        self, token_lifetime_s: float | None, clock: Callable[[], float] = time.time
    ) -> None:
        self.token_lifetime_s = token_lifetime_s or None
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _keep(self, token: str, user_id: str, client_id: str) -> Session:
        """Record a newly minted token with the configured lifetime."""
        now = self._clock()
        expires_at = now + self.token_lifetime_s if self.token_lifetime_s else None
        session = Session(token, user_id, client_id, now, expires_at)
        with self._lock:
            self._sessions[token] = session
        return session

    def session_for(self, access_token: str | None) -> Session | None:
        """The live session of a token; ``None`` when unknown or expired."""
        if not access_token:
            return None
        with self._lock:
            session = self._sessions.get(access_token)
            if session is None:
                return None
            if session.expires_at is not None and self._clock() >= session.expires_at:
                del self._sessions[access_token]
                return None
            return session

    def expire_all(self) -> None:
        """Invalidate every issued token (clients must get a new one)."""
        with self._lock:
            self._sessions.clear()

    @property
    def live_sessions(self) -> int:
        """How many tokens are currently valid."""
        with self._lock:
            now = self._clock()
            return sum(
                1 for s in self._sessions.values() if s.expires_at is None or now < s.expires_at
            )

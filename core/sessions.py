"""Server-side login sessions: the cookie carries a random token, the database its SHA-256.

Every request looks its token up, so deleting a row ends that session for every copy of the
cookie (logout, a new password or role, deactivation, removal, "sign out everywhere"). A
session also ends after SESSION_IDLE_MINUTES without a request and PERMANENT_SESSION_LIFETIME
after login, both judged here from the stored times rather than from the cookie's expiry,
which the browser (or whoever copied the cookie) controls.

Only the hash is stored, so a dump of the table gives nobody a live session. Nothing here
needs a request: ``syncline users`` ends sessions through the same functions.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, delete, not_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from core.clock import as_utc
from core.models import DashboardSession, User

#: 32 random bytes: a 256-bit session id, far beyond guessing.
TOKEN_BYTES = 32
#: last_seen_at is written at most this often, not on every request: the idle timeout is
#: in minutes, and a write per page view would be most of the dashboard's database writes.
TOUCH_EVERY = timedelta(minutes=1)
_ADDRESS_WIDTH = 64
_AGENT_WIDTH = 255


@dataclass(frozen=True, slots=True)
class Lifetime:
    """How long a session lives: ``idle`` after its last request, ``absolute`` after login."""

    idle: timedelta
    absolute: timedelta

    def ended(self, row: DashboardSession, now: datetime) -> bool:
        """Whether ``row`` has run out at ``now``."""
        return (
            now - as_utc(row.last_seen_at) >= self.idle
            or now - as_utc(row.created_at) >= self.absolute
        )

    def open_at(self, now: datetime) -> ColumnElement[bool]:
        """The SQL condition for sessions still open at ``now`` (``ended``'s negation)."""
        return and_(
            col(DashboardSession.last_seen_at) > now - self.idle,
            col(DashboardSession.created_at) > now - self.absolute,
        )


def hash_token(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    db: Session, user_id: int, address: str, user_agent: str, now: datetime
) -> str:
    """Open a session for ``user_id``; returns the token for the cookie (the caller commits)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.add(
        DashboardSession(
            token_hash=hash_token(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            address=address[:_ADDRESS_WIDTH],
            user_agent=user_agent[:_AGENT_WIDTH],
        )
    )
    return token


def find(db: Session, token: str) -> tuple[DashboardSession, User] | None:
    """The session a token opens and its account (one query), or None when there is none."""
    row = db.exec(
        select(DashboardSession, User)
        .join(User, col(User.id) == col(DashboardSession.user_id))
        .where(col(DashboardSession.token_hash) == hash_token(token))
    ).first()
    return None if row is None else (row[0], row[1])


def touch(db: Session | Connection, token_hash: str, now: datetime) -> None:
    """Record a request on a session (the caller commits)."""
    db.execute(
        update(DashboardSession)
        .where(col(DashboardSession.token_hash) == token_hash)
        .values(last_seen_at=now)
    )


def end(db: Session | Connection, token: str) -> None:
    """End the session a token opens, if it is still there (the caller commits)."""
    hashed = hash_token(token)
    db.execute(delete(DashboardSession).where(col(DashboardSession.token_hash) == hashed))


def end_all(db: Session, user_id: int) -> int:
    """End every session of an account; returns how many were open (the caller commits)."""
    result = db.execute(delete(DashboardSession).where(col(DashboardSession.user_id) == user_id))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge(db: Session, now: datetime, lifetime: Lifetime) -> int:
    """Delete the sessions that have run out; returns how many (the caller commits)."""
    result = db.execute(delete(DashboardSession).where(not_(lifetime.open_at(now))))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def open_sessions(
    db: Session, now: datetime, lifetime: Lifetime, user_id: int | None = None
) -> list[DashboardSession]:
    """Sessions still open at ``now`` (of one account, or all), most recently used first."""
    query = select(DashboardSession).where(lifetime.open_at(now))
    if user_id is not None:
        query = query.where(col(DashboardSession.user_id) == user_id)
    return list(db.exec(query.order_by(col(DashboardSession.last_seen_at).desc())))

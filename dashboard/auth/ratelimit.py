"""Login rate limit: failed attempts per email and per client address, counted in the database.

The counts live in the ``login_attempt`` table rather than in memory so that the limit holds
across every dashboard process and survives a restart.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import current_app, request
from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from core.models import LoginAttempt

#: The address column's width; an IPv6 address with a zone fits easily.
_ADDRESS_WIDTH = 64
_EMAIL_WIDTH = 255


def client_address() -> str:
    """The address the request came from, as the WSGI server (or a trusted proxy) reports it.

    X-Forwarded-For is honoured only when the app is configured with TRUSTED_PROXIES, in
    which case ProxyFix has already put the client's address into ``remote_addr``; otherwise
    anyone could pick a fresh address per guess by sending the header.
    """
    return (request.remote_addr or "unknown")[:_ADDRESS_WIDTH]


def _limits() -> tuple[int, timedelta]:
    config = current_app.config
    return int(config["LOGIN_MAX_FAILURES"]), timedelta(seconds=int(config["LOGIN_WINDOW_SECONDS"]))


def retry_after(db: Session, email: str, address: str, now: datetime) -> int | None:
    """Seconds until this email and address may try again, or None when they may try now."""
    limit, window = _limits()
    since = now - window
    keys = ((LoginAttempt.email, email[:_EMAIL_WIDTH]), (LoginAttempt.address, address))
    waits = [_wait(db, column, value, since, limit, window, now) for column, value in keys]
    blocked = [w for w in waits if w is not None]
    return max(blocked) if blocked else None


def _wait(
    db: Session,
    column: object,
    value: str,
    since: datetime,
    limit: int,
    window: timedelta,
    now: datetime,
) -> int | None:
    """Seconds until failures for ``column == value`` in the window drop below ``limit``."""
    recent = col(column) == value, col(LoginAttempt.at) > since
    failures = db.exec(select(func.count()).select_from(LoginAttempt).where(*recent)).one()
    if failures < limit:
        return None
    # Once the oldest (failures - limit + 1) attempts leave the window, one guess is allowed
    # again: that is when the attempt at index (failures - limit) turns older than the window.
    pivot = db.exec(
        select(LoginAttempt.at)
        .where(*recent)
        .order_by(col(LoginAttempt.at))
        .offset(failures - limit)
        .limit(1)
    ).one()
    return max(1, math.ceil((pivot + window - now).total_seconds()))


def record_failure(db: Session, email: str, address: str, now: datetime) -> None:
    """Remember a failed login, and forget those that have left the window."""
    _, window = _limits()
    # Opportunistic purge: the table only ever holds one window's worth of failures.
    db.execute(delete(LoginAttempt).where(col(LoginAttempt.at) <= now - window))
    db.add(LoginAttempt(email=email[:_EMAIL_WIDTH], address=address, at=now))
    db.commit()


def clear_failures(db: Session, email: str) -> None:
    """Forget an email's failed logins after it logged in successfully."""
    db.execute(delete(LoginAttempt).where(col(LoginAttempt.email) == email[:_EMAIL_WIDTH]))
    db.commit()

"""The hub's clock: every module reads the time here, so a test can move all of them at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _system_clock() -> datetime:
    return datetime.now(UTC)


#: Where ``utcnow`` reads the time. Tests replace it to move time forward without sleeping;
#: every module calls ``utcnow()``, so one replacement moves every clock in the process.
clock: Callable[[], datetime] = _system_clock


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (the only kind the hub stores)."""
    return clock()


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as aware UTC: SQLite hands them back naive, as the UTC they were."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def utc_text(value: datetime) -> str:
    """A timestamp as pages, messages and mails show it: ``2026-03-01 09:15:00 UTC``."""
    return as_utc(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

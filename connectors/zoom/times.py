"""Zoom's timestamps: read as aware datetimes, written back as UTC ``…Z`` in whole seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """A Zoom timestamp (``…Z`` or with an offset) as an aware datetime; None when blank."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime | None) -> str | None:
    """UTC, whole seconds, ``Z``: how every time field of the connector's objects reads."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

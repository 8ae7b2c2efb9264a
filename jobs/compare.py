"""Comparing field values across systems that spell the same value differently.

A CRM returns ``"50"`` for a number we sent as ``50``, ``2024-05-01T09:00:00.000+0000`` for our
``2024-05-01T09:00:00+00:00``, ``""`` where we hold ``None``. Treating those as changes would
make every cycle rewrite the same values (ping-pong), so comparisons go through :func:`same`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from core import values


class _Missing:
    """Marker for "no snapshot value": the field was never synced for this link."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def canon(value: Any) -> Any:
    """A JSON-safe canonical form: blanks → None, integral floats → int, dates → ISO text."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        number = float(value)
        return int(number) if number.is_integer() else number
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [canon(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canon(v) for k, v in value.items()}
    return str(value)


def blank(value: Any) -> bool:
    """core.values.blank, and the MISSING marker (a value never read) too."""
    return value is MISSING or values.blank(value)


def _as_datetime(text: str) -> datetime | None:
    if not _DATETIME.match(text):
        return None
    cleaned = text.replace("Z", "+00:00")
    # Salesforce writes offsets without a colon (+0000); fromisoformat wants +00:00.
    cleaned = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", cleaned)
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def same(a: Any, b: Any) -> bool:
    """Do two values mean the same thing, whichever system's spelling they are in?"""
    if a is MISSING or b is MISSING:
        return a is b
    ca, cb = canon(a), canon(b)
    if ca == cb and type(ca) is type(cb):
        return True
    if ca is None or cb is None:
        return False
    if isinstance(ca, bool) or isinstance(cb, bool):
        return str(ca).lower() == str(cb).lower()
    if isinstance(ca, int | float) or isinstance(cb, int | float):
        try:
            return float(ca) == float(cb)
        except (TypeError, ValueError):
            return False
    if isinstance(ca, str) and isinstance(cb, str):
        da, db = _as_datetime(ca), _as_datetime(cb)
        if da is not None and db is not None:
            return da == db
        if len(ca) == 10 and db is not None:
            return ca == db.date().isoformat()
        if len(cb) == 10 and da is not None:
            return cb == da.date().isoformat()
        return False
    return ca == cb

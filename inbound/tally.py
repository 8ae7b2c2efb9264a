"""Counting what each source sent, per hour and outcome, for the dashboard's Inbound page.

One upsert per request (``count = count + 1`` on conflict), so requests answered at once by
several web workers never lose a count. Unknown sources are not counted: anyone may send
those, and a row per made-up name would let them fill the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core.clock import as_utc
from core.models import InboundTally

#: Every outcome counted, in the order the Inbound page shows them.
OUTCOMES = ("accepted", "duplicate", "bad_signature", "stale", "bad_body", "too_large",
            "rate_limited")
#: The outcomes that refused a request, with the words the page uses.
REFUSALS = {
    "bad_signature": "bad signature", "stale": "stale timestamp", "bad_body": "bad body",
    "too_large": "too large", "rate_limited": "rate limited",
}


def hour_of(moment: datetime) -> datetime:
    """The hour ``moment`` falls in (UTC)."""
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


def count(session: Session, source: str, outcome: str, now: datetime) -> None:
    """Count one request of ``source`` in the current hour (in the caller's transaction)."""
    table = InboundTally.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(source=source, hour=hour_of(now), outcome=outcome, count=1)
    session.execute(statement.on_conflict_do_update(
        index_elements=["source", "hour", "outcome"], set_={"count": table.c.count + 1}))


@dataclass(frozen=True, slots=True)
class Totals:
    """One source's counts over a stretch: by outcome, and by hour for the chart."""

    by_outcome: dict[str, int]
    by_hour: dict[datetime, dict[str, int]]

    @property
    def received(self) -> int:
        """Every request counted."""
        return sum(self.by_outcome.values())

    def get(self, outcome: str) -> int:
        """The count of one outcome (0 when none)."""
        return self.by_outcome.get(outcome, 0)


def totals(session: Session, sources: Iterable[str], since: datetime) -> dict[str, Totals]:
    """Counts per source from the hour of ``since`` on."""
    names = list(sources)
    found = {name: Totals({}, {}) for name in names}
    if not names:
        return found
    rows = session.exec(
        select(InboundTally).where(
            col(InboundTally.source).in_(names), col(InboundTally.hour) >= hour_of(since)
        )
    ).all()
    for row in rows:
        entry = found[row.source]
        entry.by_outcome[row.outcome] = entry.by_outcome.get(row.outcome, 0) + row.count
        hour = hour_of(row.hour)
        entry.by_hour.setdefault(hour, {})[row.outcome] = row.count
    return found


def last_hours(now: datetime, hours: int = 24) -> list[datetime]:
    """The starts of the last ``hours`` hours, oldest first, the current one last."""
    top = hour_of(now)
    return [top - timedelta(hours=n) for n in range(hours - 1, -1, -1)]

"""When a stored event counts as processed, and which events of a source are.

The engine does not report back which records of a pull went through, so "processed" is read
from what it leaves behind. An event is **processed** when every mapping that reads its
source has its pull cursor at or past the event's inbox id (the page holding it committed)
and none of them has an open sync error for it; **failed** when one of them has an open error
for it (its raw body stays for a replay); **waiting** otherwise (not read yet, or no enabled
mapping reads the source). The Inbound page shows these states; :func:`settle` writes them
into ``inbound_event.status`` (with ``processed_at``) so the purge can go by them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, update
from sqlmodel import Session, col, select

from core.models import InboundEvent, SyncError, SyncState
from jobs.failures import OPEN_STATUSES
from mappings.spec import Mapping as MappingSpec

#: The one remote object a webhook connection has.
OBJECT = "submission"
PULL = "to_hub"

State = Literal["processed", "failed", "waiting"]


def readers(mappings: Mapping[str, MappingSpec], source: str) -> list[str]:
    """The enabled mappings that pull this source's submissions, by name."""
    return sorted(
        name for name, m in mappings.items()
        if m.connection == source and m.remote_object == OBJECT and m.direction.pulls
        and m.enabled
    )


def cursor_number(cursor: str | None) -> int | None:
    """The inbox id a webhook cursor stands for (None before the first page)."""
    return int(cursor) if cursor and cursor.strip().isdigit() else None


@dataclass(frozen=True, slots=True)
class Progress:
    """How far every mapping reading one source got."""

    #: Every event with an id up to this was read by every reader (None: not all have read).
    through: int | None
    #: Ids with an open error in a reader.
    failed: frozenset[int] = field(default_factory=frozenset)

    def state(self, event_id: int) -> State:
        """Where one event stands."""
        if event_id in self.failed:
            return "failed"
        if self.through is not None and event_id <= self.through:
            return "processed"
        return "waiting"


def progress(session: Session, names: Iterable[str]) -> Progress:
    """The progress of the mappings ``names`` (those reading one source)."""
    names = list(names)
    if not names:
        return Progress(None)
    states = session.exec(
        select(SyncState).where(col(SyncState.mapping).in_(names), SyncState.direction == PULL)
    ).all()
    cursors = {s.mapping: cursor_number(s.cursor) for s in states}
    numbers = [cursors.get(name) for name in names]
    through = None if any(n is None for n in numbers) else min(n for n in numbers if n is not None)
    open_ids = session.exec(
        select(SyncError.remote_id).where(
            col(SyncError.mapping).in_(names), SyncError.direction == PULL,
            col(SyncError.status).in_(OPEN_STATUSES), col(SyncError.remote_id).is_not(None),
        ).distinct()
    ).all()
    failed = frozenset(int(i) for i in open_ids if i and i.isdigit())
    return Progress(through, failed)


def settle(session: Session, source: str, found: Progress, now: datetime) -> int:
    """Write each event's state of ``found`` into its row; returns how many became processed.

    An event once processed keeps its first ``processed_at`` (the purge counts from it); a
    failed one that goes through on a replay becomes processed then.
    """
    table = InboundEvent.__table__  # type: ignore[attr-defined]
    failed = sorted(found.failed)
    if failed:
        session.execute(update(table).where(
            table.c.source == source, table.c.id.in_(failed), table.c.status != "failed",
        ).values(status="failed"))
    if found.through is None:
        return 0
    done = and_(table.c.source == source, table.c.id <= found.through,
                table.c.status != "processed")
    if failed:
        done = and_(done, table.c.id.not_in(failed))
    result = session.execute(update(table).where(done).values(
        status="processed", processed_at=now))
    return int(result.rowcount or 0)


def settle_all(session: Session, mappings: Mapping[str, MappingSpec], now: datetime) -> int:
    """:func:`settle` every source some mapping reads; returns how many became processed."""
    sources = sorted({m.connection for m in mappings.values() if m.remote_object == OBJECT})
    stored = set(session.exec(select(InboundEvent.source).distinct()).all())
    return sum(
        settle(session, source, progress(session, readers(mappings, source)), now)
        for source in sources if source in stored
    )


__all__ = ["OBJECT", "Progress", "State", "progress", "readers", "settle", "settle_all"]

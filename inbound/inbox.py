"""Storing inbound requests durably, once each, before anything is done with them.

A request is answered only after its row is committed, so a crash right after the answer
loses nothing: the scheduler processes what is left ``received``. The unique (source, event
id) turns a sender's retry into a duplicate: one ``INSERT ... ON CONFLICT DO NOTHING``, so two
copies arriving at once cannot both be stored. Processed events are kept at least
:data:`KEEP_DAYS`, long enough to recognise any sender's retries (Standard Webhooks senders
retry for about a day and a half).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from core.models import InboundEvent

#: Processed events are purged after this many days (never earlier: duplicates are found by
#: looking them up).
KEEP_DAYS = 7


@dataclass(frozen=True, slots=True)
class Stored:
    """Where a request ended up: its row, and whether that row was there already."""

    id: int
    duplicate: bool


def event_id_for(sender_id: str | None, body: bytes) -> str:
    """The sender's event id, else a digest of the body (a resent body is the same event)."""
    if sender_id and sender_id.strip():
        return sender_id.strip()[:255]
    return "sha256:" + hashlib.sha256(body).hexdigest()


def store(
    session: Session,
    source: str,
    event_id: str,
    body: bytes,
    content_type: str | None,
    received_at: datetime,
) -> Stored:
    """Insert the request unless (source, event id) is stored already; commits nothing.

    Holds the source's insert lock until the caller's commit (keep that short): see
    :func:`_in_id_order`.
    """
    _in_id_order(session, source)
    values = {"source": source, "event_id": event_id, "body": body, "status": "received",
              "content_type": (content_type or None) and content_type[:120],
              "received_at": received_at}
    dialect = session.get_bind().dialect.name
    table = InboundEvent.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_nothing(
        index_elements=["source", "event_id"]).returning(table.c.id)
    new_id = session.execute(statement).scalar()
    if new_id is not None:
        return Stored(int(new_id), duplicate=False)
    existing = session.execute(
        select(table.c.id).where(table.c.source == source, table.c.event_id == event_id)
    ).scalar_one()
    return Stored(int(existing), duplicate=True)


def _in_id_order(session: Session, source: str) -> None:
    """Make one source's rows commit in id order (PostgreSQL; SQLite writes one at a time).

    The webhook connector reads a source from a cursor (an id): if request 100 committed
    after 101 had been read, a cursor at 101 would pass it by for ever. A transaction-scoped
    advisory lock per source orders the inserts, and so the ids, with the commits.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"inbound_event:{source}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def purge(session: Session, now: datetime, keep_days: int = KEEP_DAYS) -> int:
    """Delete events processed more than ``keep_days`` ago; failed and waiting ones stay.

    ``status`` is written by :func:`inbound.progress.settle` (the retention job settles
    first). An event with no ``processed_at`` counts from when it was received.
    """
    table = InboundEvent.__table__  # type: ignore[attr-defined]
    since = func.coalesce(table.c.processed_at, table.c.received_at)
    result = session.execute(delete(table).where(
        table.c.status == "processed", since < now - timedelta(days=keep_days)))
    return int(result.rowcount or 0)

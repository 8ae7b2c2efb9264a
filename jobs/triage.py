"""Acting on sync errors: find them by filter, retry, ignore or reopen them, export them as CSV.

Shared by ``syncline errors`` and the dashboard, so both act the same way and both leave an
audit entry saying who did what.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.db import session, utcnow
from core.models import Audit, SyncError

EXPORT_COLUMNS = (
    "id",
    "mapping",
    "direction",
    "level",
    "status",
    "kind",
    "code",
    "field",
    "email",
    "hub_id",
    "remote_id",
    "message",
    "hint",
    "attempts",
    "first_seen",
    "last_seen",
    "next_retry_at",
)


@dataclass(frozen=True, slots=True)
class ErrorFilter:
    """Which errors an action applies to; every given criterion must match."""

    ids: Sequence[int] = ()
    mapping: str | None = None
    status: Sequence[str] = ("open", "retrying")
    kind: str | None = None
    code: str | None = None
    search: str | None = None  # email, hub id or remote id
    since: datetime | None = None
    level: str | None = None  # record | job

    def apply(self, query: Any) -> Any:
        """Narrow a ``select(SyncError)``-based query to these criteria."""
        if self.ids:
            query = query.where(col(SyncError.id).in_(list(self.ids)))
        if self.mapping:
            query = query.where(SyncError.mapping == self.mapping)
        if self.status:
            query = query.where(col(SyncError.status).in_(list(self.status)))
        if self.kind:
            query = query.where(SyncError.kind == self.kind)
        if self.code:
            query = query.where(SyncError.code == self.code)
        if self.search:
            term = self.search.strip()
            query = query.where(
                (SyncError.email == term.lower())
                | (SyncError.hub_id == term)
                | (SyncError.remote_id == term)
            )
        if self.since:
            query = query.where(col(SyncError.last_seen) >= self.since)
        if self.level:
            query = query.where(SyncError.level == self.level)
        return query


def find(engine: Engine, where: ErrorFilter, *, limit: int | None = None) -> list[SyncError]:
    """Errors matching the filter, most recently seen first."""
    query = where.apply(select(SyncError)).order_by(
        col(SyncError.last_seen).desc(), col(SyncError.id).desc()
    )
    if limit is not None:
        query = query.limit(limit)
    with Session(engine, expire_on_commit=False) as db:
        return list(db.exec(query))


def _transition(
    engine: Engine,
    where: ErrorFilter,
    actor: str,
    action: str,
    values: dict[str, Any],
    from_status: Sequence[str],
) -> int:
    # The filter's own statuses still apply: only those an action can move errors out of.
    statuses = tuple(s for s in from_status if not where.status or s in where.status)
    if not statuses:
        return 0
    narrowed = replace(where, status=statuses)
    with session(engine) as db:
        ids = [row.id for row in db.exec(narrowed.apply(select(SyncError)))]
        if ids:
            db.exec(
                update(SyncError)
                .where(col(SyncError.id).in_(ids))  # type: ignore[call-overload]
                .values(**values)
            )
            db.add(
                Audit(
                    at=utcnow(),
                    actor=actor,
                    action=action,
                    target=where.mapping or "errors",
                    detail={"ids": ids[:1000], "count": len(ids)},
                )
            )
    return len(ids)


def retry(engine: Engine, where: ErrorFilter, actor: str) -> int:
    """Queue record-level errors for retry at the next cycle; returns how many.

    Job-level errors are not retried one by one: they clear when a cycle of their mapping
    completes, so the way to retry them is to run that mapping.
    """
    return _transition(
        engine,
        replace(where, level="record"),
        actor,
        "errors.retry",
        {"status": "retrying", "next_retry_at": utcnow(), "resolved_at": None},
        ("open", "retrying", "ignored"),
    )


def ignore(engine: Engine, where: ErrorFilter, actor: str) -> int:
    """Stop retrying and hide errors someone decided to live with."""
    return _transition(
        engine,
        where,
        actor,
        "errors.ignore",
        {"status": "ignored", "next_retry_at": None},
        ("open", "retrying"),
    )


def reopen(engine: Engine, where: ErrorFilter, actor: str) -> int:
    """Bring ignored or resolved errors back to the open list."""
    return _transition(
        engine,
        where,
        actor,
        "errors.reopen",
        {"status": "open", "resolved_at": None},
        ("ignored", "resolved"),
    )


def iter_matching(engine: Engine, where: ErrorFilter, batch: int = 1000) -> Iterator[SyncError]:
    """Stream every matching error (for exports of any size), most recent first."""
    query = where.apply(select(SyncError)).order_by(
        col(SyncError.last_seen).desc(), col(SyncError.id).desc()
    )
    with Session(engine) as db:
        yield from db.exec(query.execution_options(yield_per=batch))


def export_csv(engine: Engine, where: ErrorFilter, out: TextIO) -> int:
    """Write matching errors as CSV (header + one row each); returns the row count."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in iter_matching(engine, where):
        writer.writerow(
            ["" if getattr(row, c) is None else getattr(row, c) for c in EXPORT_COLUMNS]
        )
        count += 1
    return count

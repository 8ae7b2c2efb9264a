"""Acting on sync errors: find, group by cause, retry, ignore, reopen and export them.

Shared by ``syncline errors`` and the dashboard, so both act the same way and both leave an
audit entry saying who did what.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import csvfile
from core.clock import utcnow
from core.db import session
from core.models import Audit, ErrorCause, SyncError
from core.redaction import redact_values
from jobs import causes as cause_counts
from jobs.failures import OPEN_STATUSES

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

#: A ``code`` or ``field`` criterion equal to this matches errors that have none (a cause
#: without a remote code, or not about one field), so every group of errors can be named.
BLANK = "-"

#: Each action and the statuses it moves errors out of.
ACTIONS: dict[str, tuple[str, ...]] = {
    "retry": ("open", "retrying", "ignored"),
    "ignore": ("open", "retrying"),
    "reopen": ("ignored", "resolved"),
}

#: Ids per UPDATE: SQLite refuses more than 32,766 bound parameters, PostgreSQL 65,535.
ID_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ErrorFilter:
    """Which errors an action applies to; every given criterion must match."""

    ids: Sequence[int] = ()
    mapping: str | None = None
    status: Sequence[str] = OPEN_STATUSES
    kind: str | None = None
    code: str | None = None
    search: str | None = None  # email, hub id or remote id
    since: datetime | None = None  # last seen at or after
    level: str | None = None  # record | job
    direction: str | None = None  # to_hub | to_remote | cycle (job-level)
    field: str | None = None
    until: datetime | None = None  # last seen before

    def apply(self, query: Any) -> Any:
        """Narrow a query over ``sync_error`` (whole rows or some columns) to these criteria."""
        if self.ids:
            query = query.where(col(SyncError.id).in_(list(self.ids)))
        if self.mapping:
            query = query.where(SyncError.mapping == self.mapping)
        if self.status:
            query = query.where(col(SyncError.status).in_(list(self.status)))
        if self.kind:
            query = query.where(SyncError.kind == self.kind)
        if self.code:
            query = query.where(_equals(SyncError.code, self.code))
        if self.field:
            query = query.where(_equals(SyncError.field, self.field))
        if self.direction:
            query = query.where(SyncError.direction == self.direction)
        if self.search:
            term = self.search.strip()
            query = query.where(
                (SyncError.email == term.lower())
                | (SyncError.hub_id == term)
                | (SyncError.remote_id == term)
            )
        if self.since:
            query = query.where(col(SyncError.last_seen) >= self.since)
        if self.until:
            query = query.where(col(SyncError.last_seen) < self.until)
        if self.level:
            query = query.where(SyncError.level == self.level)
        return query

    def describe(self) -> dict[str, Any]:
        """The criteria given, as plain JSON values (what an audit entry records)."""
        out: dict[str, Any] = {}
        for name in ("mapping", "kind", "code", "field", "direction", "level", "search"):
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.status:
            out["status"] = list(self.status)
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat()
        return out


def _equals(column: Any, value: str) -> Any:
    return col(column).is_(None) if value == BLANK else column == value


@dataclass(frozen=True, slots=True)
class Cause:
    """Errors with one cause (mapping, direction, level, kind, code, field) and their count.

    The mapping and direction are part of the cause because that is where the fix goes (one
    mapping file, one CRM's rules) and what an action runs again; level keeps a failed cycle
    apart from records refused for the same code.
    """

    mapping: str
    direction: str
    level: str
    kind: str
    code: str | None
    field: str | None
    count: int
    last_seen: datetime
    example_id: int
    message: str = ""
    hint: str | None = None

    def narrow(self, where: ErrorFilter) -> ErrorFilter:
        """``where`` limited to this cause (its other criteria, such as status, still apply)."""
        return replace(
            where,
            ids=(),
            mapping=self.mapping,
            direction=self.direction,
            level=self.level,
            kind=self.kind,
            code=self.code or BLANK,
            field=self.field or BLANK,
        )

    @property
    def key(self) -> str:
        """A stable name for the cause: ``mapping/direction/level/kind/code/field``."""
        parts = (self.mapping, self.direction, self.level, self.kind, self.code, self.field)
        return "/".join(part or BLANK for part in parts)


def find(engine: Engine, where: ErrorFilter, *, limit: int | None = None) -> list[SyncError]:
    """Errors matching the filter, most recently seen first."""
    query = where.apply(select(SyncError)).order_by(
        col(SyncError.last_seen).desc(), col(SyncError.id).desc()
    )
    if limit is not None:
        query = query.limit(limit)
    with Session(engine, expire_on_commit=False) as db:
        return list(db.exec(query))


def causes(engine: Engine, where: ErrorFilter, *, limit: int = 200) -> list[Cause]:
    """Matching errors grouped by cause, the most recently seen cause first, at most ``limit``.

    One GROUP BY over the filtered rows (an index on the grouped columns can answer it alone),
    then one lookup by primary key for an example message of each group shown.
    """
    key = (
        SyncError.mapping,
        SyncError.direction,
        SyncError.level,
        SyncError.kind,
        SyncError.code,
        SyncError.field,
    )
    newest = func.max(SyncError.last_seen).label("newest")
    query = (
        where.apply(select(*key, func.count().label("n"), newest, func.max(SyncError.id)))
        .group_by(*key)
        .order_by(newest.desc(), *key)
        .limit(limit)
    )
    with Session(engine) as db:
        if _counted(where):
            groups = _from_counts(db, where, limit)
        else:  # a search or a date range: group the matching rows themselves
            groups = [tuple(g) for g in db.exec(query)]
        examples = {
            row[0]: (row[1], row[2])
            for row in db.exec(
                select(SyncError.id, SyncError.message, SyncError.hint).where(
                    col(SyncError.id).in_([g[8] for g in groups])
                )
            )
        }
    found = []
    for g in groups:
        message, hint = examples.get(g[8], ("", None))
        found.append(
            Cause(*g[:6], count=g[6], last_seen=g[7], example_id=g[8], message=message, hint=hint)
        )
    return found


def _counted(where: ErrorFilter) -> bool:
    """Whether ``sync_error_cause`` can answer: only cause columns and statuses are filtered."""
    return not (where.ids or where.search or where.since or where.until)


def _from_counts(db: Session, where: ErrorFilter, limit: int) -> list[tuple[Any, ...]]:
    """The grouped view from the kept counts (jobs.causes): a few hundred rows, not millions."""
    key = (
        ErrorCause.mapping,
        ErrorCause.direction,
        ErrorCause.level,
        ErrorCause.kind,
        ErrorCause.code,
        ErrorCause.field,
    )
    newest = func.max(ErrorCause.last_seen).label("newest")
    query = select(*key, func.sum(ErrorCause.count), newest, func.max(ErrorCause.example_id))
    if where.status:
        query = query.where(col(ErrorCause.status).in_(list(where.status)))
    for column, value in (
        (ErrorCause.mapping, where.mapping),
        (ErrorCause.kind, where.kind),
        (ErrorCause.direction, where.direction),
        (ErrorCause.level, where.level),
    ):
        if value:
            query = query.where(column == value)
    for column, value in ((ErrorCause.code, where.code), (ErrorCause.field, where.field)):
        if value:
            query = query.where(column == ("" if value == BLANK else value))
    rows = db.exec(query.group_by(*key).order_by(newest.desc(), *key).limit(limit))
    # "" is how the counts spell "no code" / "no field"; the rows themselves say None.
    return [(*r[:4], r[4] or None, r[5] or None, int(r[6]), *r[7:]) for r in rows]


def possible_actions(
    statuses: Sequence[str], levels: Sequence[str] = ("record", "job")
) -> list[str]:
    """The actions that can change errors of these statuses and levels (retry needs a record)."""
    return [
        action
        for action, sources in ACTIONS.items()
        if any(s in sources for s in statuses) and (action != "retry" or "record" in levels)
    ]


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
        found = list(db.exec(narrowed.apply(select(SyncError.id, SyncError.mapping))))
        ids = [row[0] for row in found]
        # In chunks, one transaction: a group of 100,000 errors is one action, all or nothing.
        for start in range(0, len(ids), ID_CHUNK):
            db.exec(
                update(SyncError)
                .where(col(SyncError.id).in_(ids[start : start + ID_CHUNK]))  # type: ignore[call-overload]
                .values(**values)
            )
        cause_counts.recount(db, {row[1] for row in found})
        if ids:
            db.add(
                Audit(
                    at=utcnow(),
                    actor=actor,
                    action=action,
                    target=where.mapping or "errors",
                    detail={"ids": ids[:1000], "count": len(ids), "where": where.describe()},
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
        ACTIONS["retry"],
    )


def ignore(engine: Engine, where: ErrorFilter, actor: str) -> int:
    """Stop retrying and hide errors someone decided to live with."""
    return _transition(
        engine,
        where,
        actor,
        "errors.ignore",
        {"status": "ignored", "next_retry_at": None},
        ACTIONS["ignore"],
    )


def reopen(engine: Engine, where: ErrorFilter, actor: str) -> int:
    """Bring ignored or resolved errors back to the open list."""
    return _transition(
        engine,
        where,
        actor,
        "errors.reopen",
        {"status": "open", "resolved_at": None},
        ACTIONS["reopen"],
    )


def iter_matching(engine: Engine, where: ErrorFilter, batch: int = 1000) -> Iterator[SyncError]:
    """Stream every matching error (for exports of any size), most recent first."""
    query = where.apply(select(SyncError)).order_by(
        col(SyncError.last_seen).desc(), col(SyncError.id).desc()
    )
    with Session(engine) as db:
        rows = db.exec(query.execution_options(yield_per=batch))
        try:
            yield from rows
        finally:
            # A download cut short must close its server-side cursor, not leave it to the GC.
            rows.close()


def export_row(error: SyncError) -> list[Any]:
    """One error as CSV cells in EXPORT_COLUMNS order (core.csvfile's writer neutralises them).

    Redacted again on the way out: rows are redacted when stored, but a row stored before a
    secret was registered (or by an older version) must not leave in a file either.
    """
    return [redact_values(getattr(error, column)) for column in EXPORT_COLUMNS]


def export_csv(engine: Engine, where: ErrorFilter, out: TextIO) -> int:
    """Write matching errors as CSV (header + one row each); returns the row count."""
    writer = csvfile.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in iter_matching(engine, where):
        writer.writerow(export_row(row))
        count += 1
    return count

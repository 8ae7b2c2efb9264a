"""Keeping ``sync_error_cause`` equal to ``GROUP BY cause, status`` over ``sync_error``.

Every writer of sync errors recounts the mappings it touched inside its own transaction,
just before commit: the cycle's failure log, the triage actions, the retention purge (which
recounts everything). A recount is one DELETE and one INSERT … SELECT … GROUP BY over one
mapping's errors (an index range), so it costs what that mapping's errors cost, not the table.

Two transactions recounting the same mapping take turns: PostgreSQL through an advisory lock
held to commit, SQLite because it has one writer at a time. The later one's INSERT … SELECT
starts after the earlier committed, so it counts both changes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from sqlalchemy import delete, func, insert, literal_column, select, text
from sqlmodel import Session, col

from core.models import ErrorCause, SyncError

#: The columns that name a cause, in the order of the unique key.
CAUSE_COLUMNS = ("mapping", "direction", "level", "kind", "code", "field")


def _grouped() -> tuple[list[str], object]:
    """``INSERT … SELECT`` source: one row per cause and status, over ``sync_error``."""
    return (
        [*CAUSE_COLUMNS, "status", "count", "last_seen", "example_id"],
        select(
            SyncError.mapping,
            SyncError.direction,
            SyncError.level,
            SyncError.kind,
            func.coalesce(SyncError.code, literal_column("''")),
            func.coalesce(SyncError.field, literal_column("''")),
            SyncError.status,
            func.count(),
            func.max(SyncError.last_seen),
            func.max(SyncError.id),
        ).group_by(
            SyncError.mapping,
            SyncError.direction,
            SyncError.level,
            SyncError.kind,
            SyncError.code,
            SyncError.field,
            SyncError.status,
        ),
    )


def recount(session: Session, mappings: Iterable[str]) -> None:
    """Recount the causes of these mappings from their sync_error rows (this transaction)."""
    names = sorted(set(mappings))
    if not names:
        return
    session.flush()  # pending error rows must be in the count
    if session.get_bind().dialect.name == "postgresql":
        for name in names:  # sorted: two recounts never wait on each other in a circle
            session.exec(  # type: ignore[call-overload]
                text("SELECT pg_advisory_xact_lock(:key)"),
                params={"key": _lock_key(name)},
            )
    columns, source = _grouped()
    session.exec(  # type: ignore[call-overload]
        delete(ErrorCause).where(col(ErrorCause.mapping).in_(names))
    )
    session.exec(  # type: ignore[call-overload]
        insert(ErrorCause).from_select(
            columns,
            source.where(col(SyncError.mapping).in_(names)),  # type: ignore[attr-defined]
        )
    )


def rebuild(session: Session) -> None:
    """Recount every cause (after a purge, a migration or a bulk load)."""
    session.flush()
    columns, source = _grouped()
    session.exec(delete(ErrorCause))  # type: ignore[call-overload]
    session.exec(insert(ErrorCause).from_select(columns, source))  # type: ignore[call-overload]


def _lock_key(mapping: str) -> int:
    # A stable signed 64-bit key per mapping for pg_advisory_xact_lock.
    return zlib.crc32(f"syncline.causes:{mapping}".encode()) - 2**31

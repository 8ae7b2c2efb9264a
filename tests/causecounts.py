"""The invariant behind the grouped errors view: kept counts equal a live GROUP BY."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine
from sqlmodel import Session, select

from core.models import ErrorCause, SyncError


def assert_cause_counts(engine: Engine) -> None:
    """Fail unless sync_error_cause holds exactly the per-cause, per-status counts of sync_error."""
    with Session(engine) as session:
        live: Counter[tuple[str, ...]] = Counter(
            (e.mapping, e.direction, e.level, e.kind, e.code or "", e.field or "", e.status)
            for e in session.exec(select(SyncError))
        )
        kept = {
            (c.mapping, c.direction, c.level, c.kind, c.code, c.field, c.status): c.count
            for c in session.exec(select(ErrorCause))
        }
    assert kept == dict(live), f"kept cause counts {kept} differ from the errors {dict(live)}"

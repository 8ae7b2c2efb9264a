"""When a hub step must look at a person again although nothing about them changed.

Scoring keeps ``person.score_due_at`` (when decay alone next moves a rounded score), the
lifecycle ``person.stage_due_at`` (when an ``idle_days`` rule can next fire). Each run adds the
people whose time has come to those whose facts changed, so time does its work without a full
run and without rescanning people who have nothing due; an idle cycle asks one indexed
question (:func:`any_due`) and writes nothing.

Due times are written with a plain UPDATE, outside :mod:`core.sequence`, on purpose: they are
the steps' bookkeeping, not facts about the person. With a change_seq of their own, every
mapping would push the person again for nothing, and the step would read its own write as a
change at its next run: a person whose due time moves at each run would be rescanned at each
run, for ever. The scores and stages that a due time leads to are ordinary hub writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import bindparam, select, update
from sqlmodel import Session

from core.models import Person

#: The due-time columns of ``person``: scoring's and the lifecycle's.
DueColumn = Literal["score_due_at", "stage_due_at"]
#: Every person column the hub steps keep for themselves: written without a change_seq.
BookkeepingColumn = Literal["score_due_at", "stage_due_at", "scored_seq", "scored_account_id"]
_PERSON = Person.__table__  # type: ignore[attr-defined]
#: Ids per statement when clearing: well under SQLite's bound-parameter limit.
_CHUNK = 1000


def any_due(db: Session, column: DueColumn, now: datetime) -> bool:
    """Whether someone's due time has come (one indexed read): what an idle run asks."""
    due = _PERSON.c[column]
    return db.execute(select(_PERSON.c.id).where(due <= now).limit(1)).first() is not None


def due_people(db: Session, column: DueColumn, now: datetime) -> set[str]:
    """Ids of live people whose due time has come (an indexed range read).

    A deleted person's due time is cleared instead: nothing is left to compute for them, and
    an overdue row would keep every later cycle from being idle.
    """
    due = _PERSON.c[column]
    rows = db.execute(select(_PERSON.c.id, _PERSON.c.deleted_at).where(due <= now)).all()
    gone = [person_id for person_id, deleted_at in rows if deleted_at is not None]
    for start in range(0, len(gone), _CHUNK):
        db.execute(
            update(_PERSON)
            .where(_PERSON.c.id.in_(gone[start : start + _CHUNK]))
            .values({column: None})
        )
    return {person_id for person_id, deleted_at in rows if deleted_at is None}


def store_due(db: Session, column: DueColumn, due: Mapping[str, datetime | None]) -> None:
    """Set these people's due times (None: nothing due), without a change_seq.

    Call it after the page's hub writes are flushed: those take the change counter's lock
    before any person row, as every hub writer does, and this UPDATE must not hold a person
    row while waiting for the counter.
    """
    store_bookkeeping(db, column, due)


def store_bookkeeping(db: Session, column: BookkeepingColumn, values: Mapping[str, Any]) -> None:
    """Set one bookkeeping column of these people (id → value), without a change_seq.

    The due times, and scoring's ``scored_seq`` (the change_seq its own score write took) and
    ``scored_account_id`` (the account it counted the person in). Same ordering rule as
    :func:`store_due`: after the page's hub writes are flushed.
    """
    if not values:
        return
    statement = (
        update(_PERSON)
        .where(_PERSON.c.id == bindparam("person_id"))
        .values({column: bindparam("stored")})
    )
    rows = [{"person_id": person_id, "stored": value} for person_id, value in values.items()]
    db.connection().execute(statement, rows)

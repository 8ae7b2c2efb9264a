"""Which people's facts changed after a change sequence: their own row, a touch, their account.

Scoring and the lifecycle both recompute exactly these people (the lifecycle adds deals).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from core.models import Account, Person, Touch


def changed_people(db: Session, seq: int, own_writes: Any = None) -> set[str]:
    """Ids of live people whose row, one of whose touches, or whose account changed after ``seq``.

    A deleted person is left out: nothing is left to compute for them. Joins, not lists of
    ids: after a run that wrote 100,000 scores, an ``IN`` of every id would pass PostgreSQL's
    limit of 65,535 parameters a statement. ``own_writes``: a person column holding the
    change_seq of the caller's own last write to the row; a row whose last change is that
    write is not news to it.
    """
    live = col(Person.deleted_at).is_(None)
    row_changed = [col(Person.change_seq) > seq, live]
    if own_writes is not None:
        row_changed.append(or_(own_writes.is_(None), own_writes != Person.change_seq))
    people = set(db.exec(select(Person.id).where(*row_changed)))
    people |= set(db.exec(select(Touch.person_id)
                          .join(Person, col(Person.id) == Touch.person_id)
                          .where(col(Touch.change_seq) > seq, live)))
    people |= set(db.exec(select(Person.id)
                          .join(Account, col(Account.id) == Person.account_id)
                          .where(col(Account.change_seq) > seq, live)))
    return people

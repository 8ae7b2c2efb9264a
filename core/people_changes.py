"""Which people's facts changed after a change sequence: their own row, a touch, their account.

Scoring and the lifecycle both recompute exactly these people (the lifecycle adds deals).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.models import Account, Person, Touch


def changed_people(db: Session, seq: int) -> set[str]:
    """Ids of live people whose row, one of whose touches, or whose account changed after ``seq``.

    A deleted person is left out: nothing is left to compute for them.
    """
    people = set(db.exec(select(Person.id).where(col(Person.change_seq) > seq)))
    people |= set(db.exec(select(Touch.person_id).where(col(Touch.change_seq) > seq)))
    accounts = list(db.exec(select(Account.id).where(col(Account.change_seq) > seq)))
    if accounts:
        people |= set(db.exec(select(Person.id).where(col(Person.account_id).in_(accounts))))
    deleted = set(db.exec(select(Person.id).where(col(Person.id).in_(list(people)),
                                                  col(Person.deleted_at).is_not(None))))
    return people - deleted

"""The change sequence: every hub write gets the next ``change_seq``, in commit order.

Pushes read "hub changes since seq N", so the numbers must never let a reader skip a row.
A PostgreSQL SEQUENCE would not do: ``nextval`` is handed out at once and never rolled back,
so a transaction that took 41 may commit after another took 42 and committed; a reader who
saw 42 and moved its cursor past it would never see 41. Instead every flush bumps one counter
row (``UPDATE hub_sequence ... RETURNING value``). The UPDATE locks that row until the
transaction ends, so a second writer waits for the first to commit before it gets its
numbers: change_seq order *is* commit order, and once a reader sees seq N every smaller seq
is already committed. SQLite gets the same guarantee from its single write lock. The price
is that hub writes are serialised, which the short batch transactions of the engine afford.

Numbers are assigned in ``before_flush`` to ORM writes: a bulk ``insert()``/``update()``
statement bypasses it, so one may write hub rows only with numbers taken from :func:`reserve`.
``RETURNING`` needs SQLite 3.35 or later.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import attributes
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.models import HubRecord, HubSequence

SEQUENCE_NAME = "hub"
_TOUCHED = "syncline.touched"  # session.info key: records to re-sequence without a data change
_BUMP = text("UPDATE hub_sequence SET value = value + :n WHERE name = :name RETURNING value")

R = TypeVar("R", bound=HubRecord)


def _stable_key(record: HubRecord) -> tuple[str, str]:
    return (str(record.__tablename__), record.id)


def _records_to_sequence(session: OrmSession) -> list[HubRecord]:
    touched: dict[int, HubRecord] = session.info.pop(_TOUCHED, {})
    # New rows in the order they were added, then changed rows by table and id: the same
    # writes always get their numbers in the same order.
    new = [obj for obj in session.new if isinstance(obj, HubRecord)]
    new.sort(key=lambda obj: attributes.instance_state(obj).insert_order or 0)
    # touch() flags a column, so touched rows are in session.dirty like really changed ones.
    changed = [
        obj
        for obj in session.dirty
        if isinstance(obj, HubRecord)
        and (id(obj) in touched or session.is_modified(obj, include_collections=False))
    ]
    changed.sort(key=_stable_key)
    return new + changed


def _allocate(session: OrmSession, count: int) -> int:
    """Reserve ``count`` numbers with one statement; returns the last of them."""
    row = session.connection().execute(_BUMP, {"n": count, "name": SEQUENCE_NAME}).first()
    if row is None:
        raise RuntimeError("the hub_sequence row is missing — run `syncline init`")
    return int(row[0])


def _before_flush(session: OrmSession, _context: Any, _instances: Any) -> None:
    records = _records_to_sequence(session)
    if not records:
        return
    last = _allocate(session, len(records))
    now = utcnow()
    for seq, record in enumerate(records, start=last - len(records) + 1):
        record.change_seq = seq
        record.updated_at = now
        if record.created_at is None:
            record.created_at = now


# Registered on sqlmodel's Session class, so every session of every engine is covered.
event.listen(Session, "before_flush", _before_flush)


def touch(session: Session, record: HubRecord) -> None:
    """Give ``record`` a new change_seq at the next flush although none of its data changed."""
    session.add(record)
    session.info.setdefault(_TOUCHED, {})[id(record)] = record
    # Marking a column modified makes the session dirty, so the next flush does happen.
    attributes.flag_modified(record, "updated_at")


def reserve(session: Session, count: int) -> range:
    """Numbers for ``count`` hub rows that a bulk statement writes (``before_flush`` never sees it).

    The caller sets ``change_seq`` (and ``updated_at``) on each row itself; the counter row
    stays locked until its transaction ends, exactly as for ORM writes.
    """
    if count <= 0:
        return range(0)
    last = _allocate(session, count)
    return range(last - count + 1, last + 1)


def hold(session: Session) -> None:
    """Take the counter row's lock now, as a hub write would, until this transaction ends.

    Writers of identity links call it before they look for a link in the way: two cycles
    deciding the same link (a converted Lead's move, the Contact's own match) take turns, and
    the second sees what the first committed instead of breaking a unique key.
    """
    _allocate(session, 0)


def ensure_row(session: Session) -> None:
    """Create the counter row when it is missing (a fresh or truncated database)."""
    if session.get(HubSequence, SEQUENCE_NAME) is None:
        session.add(HubSequence(name=SEQUENCE_NAME, value=0))
        session.flush()


def current_seq(session: Session) -> int:
    """Return the last change_seq handed out (0 before the first hub write)."""
    value = session.exec(select(HubSequence.value).where(HubSequence.name == SEQUENCE_NAME)).first()
    return int(value or 0)


def changes_since(session: Session, model: type[R], seq: int, limit: int | None = None) -> list[R]:
    """Rows of ``model`` written after ``seq``, oldest first, soft-deleted ones included."""
    query = select(model).where(col(model.change_seq) > seq).order_by(col(model.change_seq))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query).all())


def changed_after(session: Session, models: Iterable[type[HubRecord]], seq: int) -> bool:
    """Whether a row of any of ``models`` was written after ``seq`` (one indexed read each).

    What an idle step asks before anything else: no lock on the counter, no write.
    """
    for model in models:
        newer = select(model.id).where(col(model.change_seq) > seq).limit(1)
        if session.exec(newer).first() is not None:
            return True
    return False

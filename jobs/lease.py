"""A lease per mapping in the database, so one mapping's cycle never runs twice at once.

It holds across processes and hosts (the scheduler, a manual ``syncline sync``, a Celery worker)
because acquiring is one conditional write the database serialises: insert the row, or take it
over only where it has expired. A holder that dies simply lets its lease expire.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from core.db import utcnow
from core.models import SyncLease

DEFAULT_TTL = timedelta(minutes=10)


def new_holder() -> str:
    """An id naming this process (host, pid) and this attempt."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseLost(RuntimeError):  # noqa: N818 - an event, not a malfunction
    """Another process took the mapping over (our lease expired mid-cycle)."""


def acquire(engine: Engine, mapping: str, holder: str, ttl: timedelta = DEFAULT_TTL) -> bool:
    """Take the lease if nobody holds it (or their lease expired); True when we hold it."""
    now = utcnow()
    with Session(engine) as session:
        session.add(
            SyncLease(mapping=mapping, holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        try:
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
        result = session.exec(  # type: ignore[call-overload]
            update(SyncLease)
            .where(
                col(SyncLease.mapping) == mapping,
                (col(SyncLease.expires_at) < now) | (col(SyncLease.holder) == holder),
            )
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        session.commit()
        return bool(result.rowcount == 1)


def renew(session: Session, mapping: str, holder: str, ttl: timedelta = DEFAULT_TTL) -> None:
    """Extend our lease inside the caller's transaction; LeaseLost if it is no longer ours.

    Renewing in the same transaction as a page's writes means a page is only committed by the
    process that still holds the lease.
    """
    result = session.exec(  # type: ignore[call-overload]
        update(SyncLease)
        .where(col(SyncLease.mapping) == mapping, col(SyncLease.holder) == holder)
        .values(expires_at=utcnow() + ttl)
    )
    if result.rowcount != 1:
        raise LeaseLost(f"lease on {mapping!r} was taken over by another process")


def release(engine: Engine, mapping: str, holder: str) -> None:
    """Give the lease back (only if it is still ours)."""
    with Session(engine) as session:
        session.exec(  # type: ignore[call-overload]
            delete(SyncLease).where(
                col(SyncLease.mapping) == mapping, col(SyncLease.holder) == holder
            )
        )
        session.commit()

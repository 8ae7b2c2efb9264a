"""Which fields a cycle backfills: changed field rows, and the resyncs admins asked for.

A mapping seen for the first time has nothing stored: its fingerprints are stored without a
backfill, since the records linked so far were synced with the mapping as it is. From then on
a row whose fingerprint differs (or is new) is backfilled, and the new fingerprints are stored
only once the backfill finished: a cycle that stops half-way leaves them as they were, so the
next cycle does the backfill again (records done already cost no write: they agree now).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, delete, select

from core.clock import as_utc
from core.errors import InputError
from core.models import MappingField, ResyncRequest
from jobs.backfill.fingerprint import field_fingerprints
from mappings.spec import FieldMap, Mapping


@dataclass(frozen=True, slots=True)
class Resync:
    """A backfill asked for: these remote fields (none: every field that moves), since then."""

    fields: tuple[str, ...] = ()
    since: datetime | None = None


@dataclass(slots=True)
class Backfill:
    """What one cycle backfills and what it stores once done."""

    mapping: Mapping
    #: Remote fields to send and read again, in the mapping's row order.
    fields: list[str]
    #: Only records changed since then; None: every linked record.
    since: datetime | None
    #: Field rows whose fingerprint changed (or are new): why the backfill runs, if it does.
    changed: list[str] = field(default_factory=list)
    #: The resync requests this backfill does (marked done with it).
    requests: list[int] = field(default_factory=list)
    #: The fingerprints to store once done (the mapping's rows as they are now).
    fingerprints: dict[str, str] = field(default_factory=dict)
    #: True when what is stored differs from ``fingerprints`` (nothing to send, maybe).
    store: bool = False

    def rows(self) -> list[FieldMap]:
        """The field rows backfilled."""
        return [row for row in self.mapping.fields if row.remote in self.fields]

    @property
    def pulls(self) -> bool:
        """Does a backfilled row take remote values into the hub (then remote values are read)?"""
        return any(row.pulls(self.mapping.direction) for row in self.rows())

    @property
    def pushes(self) -> bool:
        """Does a backfilled row send hub values to the remote?"""
        return any(row.pushes(self.mapping.direction) for row in self.rows())


def moving_rows(mapping: Mapping) -> list[FieldMap]:
    """The rows that move values one way or the other (a ``none`` row has nothing to backfill)."""
    return [r for r in mapping.fields if r.pushes(mapping.direction) or r.pulls(mapping.direction)]


def resolve_fields(mapping: Mapping, names: Sequence[str]) -> tuple[str, ...]:
    """``--fields`` names (remote or hub field names) as remote fields; InputError if unknown."""
    rows = moving_rows(mapping)
    found: list[str] = []
    unknown: list[str] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        row = next((r for r in rows if name in (r.remote, r.hub)), None)
        if row is None:
            unknown.append(name)
        elif row.remote not in found:
            found.append(row.remote)
    if unknown:
        valid = ", ".join(r.remote if r.hub in (None, r.remote) else f"{r.remote} ({r.hub})"
                          for r in rows)
        raise InputError(
            mapping.source,
            f"--fields: {', '.join(repr(n) for n in unknown)} "
            f"{'is' if len(unknown) == 1 else 'are'} not a field row of mapping "
            f"{mapping.name!r} that syncs (valid: {valid})",
        )
    if not found:
        raise InputError(mapping.source, "--fields: no field named")
    return tuple(found)


def request(
    session: Session, mapping: Mapping, resync: Resync, *, by: str, now: datetime
) -> ResyncRequest:
    """Store a resync for the mapping's next cycle (the caller commits)."""
    row = ResyncRequest(mapping=mapping.name, fields=list(resync.fields), since=resync.since,
                        requested_by=by[:120], requested_at=now)
    session.add(row)
    session.flush()
    return row


def pending_requests(session: Session, mapping: str) -> list[ResyncRequest]:
    """Resyncs of ``mapping`` not done yet, oldest first."""
    return list(session.exec(
        select(ResyncRequest)
        .where(ResyncRequest.mapping == mapping, col(ResyncRequest.done_at).is_(None))
        .order_by(col(ResyncRequest.id))
    ))


def due(session: Session, mapping: Mapping, extra: Resync | None = None) -> Backfill | None:
    """The backfill this cycle owes ``mapping``, or None when nothing is owed or to store.

    ``extra`` is a resync that has no row (a dry run's ``--resync``).
    """
    current = field_fingerprints(mapping)
    stored = {
        row.remote_field: row.fingerprint
        for row in session.exec(select(MappingField).where(MappingField.mapping == mapping.name))
    }
    changed = [name for name, value in current.items() if stored and stored.get(name) != value]
    requests = pending_requests(session, mapping.name)
    asked = [Resync(tuple(r.fields), as_utc(r.since) if r.since else None) for r in requests]
    if extra is not None:
        asked.append(extra)
    moving = [row.remote for row in moving_rows(mapping)]
    wanted = set(changed)
    for resync in asked:
        wanted.update(resync.fields or moving)
    fields = [name for name in moving if name in wanted]
    # A changed row reaches every linked record; resyncs may each name a date (the earliest
    # covers them all, none covers everything).
    since = None if changed or not asked else _earliest(r.since for r in asked)
    backfill = Backfill(
        mapping, fields, since, changed=[n for n in changed if n in fields],
        requests=[r.id for r in requests if r.id is not None], fingerprints=current,
        store=stored != current,
    )
    return backfill if backfill.fields or backfill.store or backfill.requests else None


def finish(
    session: Session, backfill: Backfill, *, now: datetime, run_id: int | None
) -> None:
    """Store the fingerprints and mark the requests done (the caller commits)."""
    name = backfill.mapping.name
    if backfill.store:
        session.exec(delete(MappingField).where(col(MappingField.mapping) == name))  # type: ignore[call-overload]
        session.add_all(
            MappingField(mapping=name, remote_field=remote, fingerprint=value, updated_at=now)
            for remote, value in backfill.fingerprints.items()
        )
    if backfill.requests:
        for row in session.exec(
            select(ResyncRequest).where(col(ResyncRequest.id).in_(backfill.requests))
        ):
            row.done_at, row.run_id = now, run_id
            session.add(row)


def _earliest(dates: Iterable[datetime | None]) -> datetime | None:
    found = list(dates)
    if any(d is None for d in found):
        return None
    return min(d for d in found if d is not None)

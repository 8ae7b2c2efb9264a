"""Loading what the hub knows about a record under each mapping, then judging it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from core.hubschema import HubSchema
from core.models import HubRecord, Link, SyncError
from jobs.cycle import get_cursor
from jobs.explain.facts import (
    ErrorFacts,
    HubFacts,
    LinkFacts,
    MappingFacts,
    RecordExplanation,
)
from jobs.explain.judge import judge
from jobs.failures import OPEN_STATUSES
from jobs.links import RefResolver
from jobs.push import DIRECTION as PUSH_DIRECTION
from mappings.spec import Mapping

#: Most open errors one record shows per mapping (the errors page has the rest).
ERRORS_SHOWN = 20


def hub_facts(schema: HubSchema, hub_object: str, record: HubRecord) -> HubFacts:
    """The record as rules see it (custom fields included)."""
    return HubFacts(
        hub_object=hub_object,
        hub_id=record.id,
        values=schema.values(record),
        change_seq=record.change_seq,
        deleted=record.deleted_at is not None,
    )


def explain_record(
    session: Session,
    mappings: dict[str, Mapping],
    schema: HubSchema,
    hub_object: str,
    record: HubRecord,
) -> RecordExplanation:
    """Load what each mapping of ``hub_object`` knows about ``record``, and judge it."""
    hub = hub_facts(schema, hub_object, record)
    chosen = sorted(
        (m for m in mappings.values() if m.hub_object == hub_object), key=lambda m: m.name
    )
    links = list(
        session.exec(select(Link).where(Link.hub_object == hub_object, Link.hub_id == record.id))
    )
    errors = _open_errors(session, [m.name for m in chosen], record, links)
    verdicts = []
    for mapping in chosen:
        facts = _mapping_facts(session, mapping, links, errors.get(mapping.name, []))
        facts = replace(facts, unlinked_refs=_unlinked_refs(session, mappings, mapping, hub))
        verdicts.append(judge(mapping, hub, facts))
    return RecordExplanation(hub, tuple(verdicts))


def _mapping_facts(
    session: Session, mapping: Mapping, links: Sequence[Link], errors: Sequence[SyncError]
) -> MappingFacts:
    mine = next(
        (
            LinkFacts.of(link)
            for link in links
            if link.connection == mapping.connection and link.remote_object == mapping.remote_object
        ),
        None,
    )
    taken = tuple(
        LinkFacts.of(link)
        for link in links
        if link.connection == mapping.connection
        and link.remote_object in mapping.create.unless_linked_to
    )
    cursor = get_cursor(session, mapping.name, PUSH_DIRECTION)
    return MappingFacts(
        link=mine,
        taken_over=taken,
        push_cursor=int(cursor) if cursor is not None else None,
        errors=tuple(ErrorFacts.of(e) for e in errors[:ERRORS_SHOWN]),
    )


def _unlinked_refs(
    session: Session, mappings: dict[str, Mapping], mapping: Mapping, hub: HubFacts
) -> tuple[str, ...]:
    """The ``push_only_linked`` fields whose record is not linked there (none: in scope)."""
    resolver = RefResolver(session, mappings)
    missing = []
    for name in mapping.push_only_linked:
        value = hub.values.get(name)
        refs = [ref for row in mapping.fields if row.hub == name for ref in row.refs]
        if not value or not resolver.to_remote(refs, [str(value)]):
            missing.append(name)
    return tuple(missing)


def about_record(record: HubRecord, links: Sequence[Link]) -> list[Any]:
    """SyncError conditions (any of them) for errors about a record.

    By hub id, by its email, or by a remote id it is linked to: an error of a pull may know
    only the remote record.
    """
    conditions: list[Any] = [SyncError.hub_id == record.id]
    email = getattr(record, "email", None)
    if email:
        conditions.append(SyncError.email == email)
    remote_ids = sorted({link.remote_id for link in links})
    if remote_ids:
        conditions.append(col(SyncError.remote_id).in_(remote_ids))
    return conditions


def _open_errors(
    session: Session, names: Iterable[str], record: HubRecord, links: Sequence[Link]
) -> dict[str, list[SyncError]]:
    """Open errors of these mappings about the record, and their open job-level errors."""
    names = list(names)
    if not names:
        return {}
    rows = session.exec(
        select(SyncError)
        .where(
            col(SyncError.mapping).in_(names),
            col(SyncError.status).in_(OPEN_STATUSES),
            or_(SyncError.level == "job", *about_record(record, links)),
        )
        .order_by(col(SyncError.last_seen).desc(), col(SyncError.id).desc())
    )
    found: dict[str, list[SyncError]] = {}
    for row in rows:
        found.setdefault(row.mapping, []).append(row)
    return found

"""Match-before-create: find the record on the other side that is the same person, by email etc."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Mapping as MappingABC
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from connectors.base import Change, Connector
from core.models import HUB_MODELS, HubRecord
from core.values import normalise_email
from jobs.links import LinkIndex
from mappings.spec import Mapping
from mappings.transforms import TransformError


def match_key(hub_field: str, value: Any) -> str | None:
    """The comparable form of a match value: emails normalised, other text case-folded."""
    if value is None:
        return None
    if hub_field == "email":
        return normalise_email(str(value))
    text = str(value).strip().casefold()
    return text or None


def remote_match_keys(mapping: Mapping, fields: MappingABC[str, Any]) -> list[tuple[str, str]]:
    """(hub field, key) pairs a remote record can be matched on, in identity.match order."""
    keys: list[tuple[str, str]] = []
    for hub_field, row in mapping.match_fields():
        try:
            key = match_key(hub_field, row.to_hub(fields.get(row.remote)))
        except TransformError:
            continue
        if key:
            keys.append((hub_field, key))
    return keys


def find_own_records(
    session: Session, mapping: Mapping, changes: Iterable[Change]
) -> dict[str, HubRecord]:
    """Remote key → the live, unlinked hub record whose id the remote record carries.

    A remote record holding a hub id in ``identity.external_id`` was created by us (typically
    just before a crash kept us from linking it). That is the strongest identity there is, and
    it also tells the merge that the remote values are our own earlier write, not new data.
    """
    field = mapping.identity.external_id
    if not field:
        return {}
    wanted = {str(c.fields[field]): c.key for c in changes if c.fields.get(field)}
    if not wanted:
        return {}
    model = HUB_MODELS[mapping.hub_object]
    rows = session.exec(
        select(model).where(col(model.id).in_(list(wanted)), col(model.deleted_at).is_(None))
    ).all()
    linked = LinkIndex(session, mapping).by_hub(r.id for r in rows)
    return {wanted[row.id]: row for row in rows if row.id not in linked}


def find_hub_matches(
    session: Session, mapping: Mapping, wanted: Iterable[tuple[str, str]]
) -> tuple[dict[tuple[str, str], HubRecord], dict[tuple[str, str], str]]:
    """Hub records for (hub field, key) pairs: the unlinked ones, and the linked ones' remote ids.

    The second dict matters as much as the first: a remote record whose email belongs to a
    hub record already linked to *another* remote record is a duplicate in the remote system,
    and must be reported as one, never created as a second hub record.
    """
    model = HUB_MODELS[mapping.hub_object]
    by_field: dict[str, set[str]] = {}
    for hub_field, key in wanted:
        by_field.setdefault(hub_field, set()).add(key)
    found: dict[tuple[str, str], HubRecord] = {}
    taken: dict[tuple[str, str], str] = {}
    for hub_field, keys in by_field.items():
        column = getattr(model, hub_field, None)
        if column is None:  # custom attributes are not matchable (no index to use)
            continue
        rows = session.exec(
            select(model)
            .where(func.lower(column).in_(keys), col(model.deleted_at).is_(None))
            .order_by(col(model.created_at), col(model.id))
        ).all()
        linked = LinkIndex(session, mapping).by_hub(r.id for r in rows)
        for row in rows:
            key = (hub_field, match_key(hub_field, getattr(row, hub_field)) or "")
            if row.id in linked:
                taken.setdefault(key, linked[row.id].remote_id)
            else:
                found.setdefault(key, row)
    return found, taken


def find_remote_matches(
    connector: Connector,
    session: Session,
    mapping: Mapping,
    wanted: Sequence[tuple[str, str, Any]],
) -> dict[tuple[str, str], list[Change]]:
    """Live, not-yet-linked remote records for (hub field, key, remote value) triples.

    One lookup call per match field per batch of values, so matching a page of new people
    costs one or two API calls, not one per person.
    """
    rows_by_field = dict(mapping.match_fields())
    by_field: dict[str, list[Any]] = {}
    for hub_field, _key, remote_value in wanted:
        by_field.setdefault(hub_field, []).append(remote_value)
    found: dict[tuple[str, str], list[Change]] = {}
    for hub_field, values in by_field.items():
        row = rows_by_field[hub_field]
        unique = list(dict.fromkeys(v for v in values if v is not None))
        if not unique:
            continue
        changes = connector.lookup(
            mapping.remote_object, row.remote, unique, fields=mapping.remote_read_fields()
        )
        linked = LinkIndex(session, mapping).by_remote(c.key for c in changes)
        for change in changes:
            if change.key in linked:
                continue
            try:
                key = match_key(hub_field, row.to_hub(change.fields.get(row.remote)))
            except TransformError:
                continue
            if key:
                found.setdefault((hub_field, key), []).append(change)
    return found

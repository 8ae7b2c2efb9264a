"""One error in full: the failing record's values on both sides, its attempts, links to it.

Everything here reads the hub database and the files the dashboard works from; nothing calls
a remote system (a detail page must open even while the CRM is down).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app, url_for
from sqlmodel import Session, select

from core.models import HUB_MODELS, Link, SyncError
from dashboard.workspace import Workspace
from mappings.spec import Mapping


def shown(value: Any) -> str:
    """A stored value as text: strings as they are, everything else as JSON (null, 12, true)."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return json.dumps(value, default=str, sort_keys=True)


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One mapped field: its hub and remote names and values; None means "not known here"."""

    hub: str
    remote: str
    rule: str
    hub_value: str | None
    remote_value: str | None
    sent: str | None
    failing: bool


@dataclass(slots=True)
class BothSides:
    """The record an error is about, as the hub holds it now and as the remote last had it."""

    hub_object: str | None
    hub_id: str | None
    remote_object: str | None
    remote_id: str | None
    connection: str | None
    rows: list[FieldRow] = field(default_factory=list)
    hub_found: bool = False
    linked: bool = False
    synced_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


def both_sides(db: Session, error: SyncError, workspace: Workspace) -> BothSides | None:
    """The field-by-field comparison for a record-level error; None for a job-level one."""
    if error.level != "record" or not (error.hub_id or error.remote_id):
        return None
    mapping = workspace.mappings.get(error.mapping)
    link = _link(db, error, mapping)
    # What the error row lacks (a pull error has no hub id yet), the mapping or link knows.
    sides = BothSides(
        hub_object=_first(
            error.hub_object, mapping and mapping.hub_object, link and link.hub_object
        ),
        hub_id=_first(error.hub_id, link and link.hub_id),
        remote_object=_first(
            error.remote_object, mapping and mapping.remote_object, link and link.remote_object
        ),
        remote_id=_first(error.remote_id, link and link.remote_id),
        connection=_first(mapping and mapping.connection, link and link.connection),
        linked=link is not None,
        synced_at=link.synced_at if link else None,
    )
    hub_values = _hub_values(db, sides, workspace)
    snapshot = link.snapshot if link else {}
    payload = error.payload or {}
    if link is None:
        sides.notes.append(
            "This record has no link to the remote system yet (it may never have synced), "
            "so its remote values are not known here."
        )
    if mapping is None:
        sides.notes.append(
            f"The mapping {error.mapping!r} is not among the mapping files (renamed or "
            "removed?): only the remote fields on record are listed."
        )
        names = sorted(set(payload) | set(snapshot))
        sides.rows = [
            FieldRow(
                hub="",
                remote=name,
                rule="",
                hub_value=None,
                remote_value=shown(snapshot[name]) if name in snapshot else None,
                sent=shown(payload[name]) if name in payload else None,
                failing=_is(error.field, name),
            )
            for name in names
        ]
        return sides
    # Keyed by remote field name both ways: a pull's payload is what the remote sent us.
    sent = {name: shown(value) for name, value in payload.items()}
    for row in mapping.fields:
        hub_name = row.hub or (f"expr: {row.expr}" if row.expr else "")
        sides.rows.append(
            FieldRow(
                hub=hub_name,
                remote=row.remote,
                rule=str(row.rule),
                hub_value=shown(hub_values[row.hub])
                if hub_values is not None and row.hub in hub_values
                else None,
                remote_value=shown(snapshot[row.remote]) if row.remote in snapshot else None,
                sent=sent.get(row.remote),
                failing=_is(error.field, row.remote) or _is(error.field, row.hub),
            )
        )
    return sides


def _first(*values: str | None) -> str | None:
    return next((value for value in values if value), None)


def _is(error_field: str | None, name: str | None) -> bool:
    return bool(error_field and name) and error_field.lower() == str(name).lower()


def _link(db: Session, error: SyncError, mapping: Mapping | None) -> Link | None:
    """The link of the failing record: by hub id when the error has one, else by remote id."""
    query = select(Link)
    if mapping is not None:
        query = query.where(
            Link.connection == mapping.connection, Link.remote_object == mapping.remote_object
        )
    else:
        query = query.where(Link.mapping == error.mapping)
    if error.hub_id:
        query = query.where(Link.hub_id == error.hub_id)
        if error.hub_object:
            query = query.where(Link.hub_object == error.hub_object)
    else:
        query = query.where(Link.remote_id == error.remote_id)
    return db.exec(query.limit(1)).first()


def _hub_values(db: Session, sides: BothSides, workspace: Workspace) -> dict[str, Any] | None:
    """The hub record's current values, or None (with a note saying why) when there is none."""
    if not (sides.hub_object and sides.hub_id):
        sides.notes.append("The hub has no record for this error yet (it was never created).")
        return None
    model = HUB_MODELS.get(sides.hub_object)
    record = db.get(model, sides.hub_id) if model is not None else None
    if record is None:
        sides.notes.append(
            f"The hub has no {sides.hub_object} with id {sides.hub_id} any more (deleted)."
        )
        return None
    sides.hub_found = True
    if record.deleted_at is not None:
        sides.notes.append(f"This {sides.hub_object} was deleted in the hub.")
    try:
        return workspace.hub_schema.values(record)
    except KeyError:  # an object hub.yaml does not describe: the plain columns still help
        return record.model_dump()


def hub_url(hub_object: str | None, hub_id: str | None) -> str | None:
    """The hub record's page in this dashboard, once that page exists."""
    if hub_object and hub_id and "dashboard.record" in current_app.view_functions:
        return url_for("dashboard.record", hub_object=hub_object, hub_id=hub_id)
    return None


def crm_url(workspace: Workspace, sides: BothSides | None) -> str | None:
    """The record's page in the remote system's own UI, where its connection knows the address."""
    if sides is None or not (sides.connection and sides.remote_object and sides.remote_id):
        return None
    key = (sides.remote_object, sides.remote_id)
    return workspace.crm_urls(sides.connection, [key]).get(key)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One entry of an error's history, numbered as the attempt it was."""

    number: int
    at: str
    run_id: int | None
    message: str
    other: dict[str, str]


def attempts(error: SyncError) -> list[Attempt]:
    """The kept attempts, newest first (older ones beyond the history limit are dropped)."""
    history = [entry for entry in (error.history or []) if isinstance(entry, dict)]
    first = max(error.attempts - len(history), 0) + 1
    out = []
    for offset, entry in enumerate(history):
        run_id = entry.get("run_id")
        out.append(
            Attempt(
                number=first + offset,
                at=_when(entry.get("at")),
                run_id=run_id if isinstance(run_id, int) else None,
                message=shown(entry.get("message", "")),
                other={
                    str(k): shown(v)
                    for k, v in sorted(entry.items())
                    if k not in ("at", "run_id", "message")
                },
            )
        )
    return out[::-1]


def _when(value: Any) -> str:
    """An ISO timestamp from the history as the pages show times; anything else as it is."""
    if not isinstance(value, str):
        return "" if value is None else shown(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return current_app.jinja_env.filters["when"](parsed)

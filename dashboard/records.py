"""Records: one hub record (mainly a person) with its links, snapshots and sync history.

Also a small lookup: ``/records?q=`` finds a person by email or any hub record by its id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from sqlalchemy import or_
from sqlmodel import col, select
from werkzeug.wrappers import Response

from core.models import HUB_MODELS, Audit, HubRecord, Link, Person, SyncError
from dashboard import workspace
from dashboard.audit_text import describe
from dashboard.blueprint import bp, db, format_when
from dashboard.members import HUB_OBJECT as MEMBER
from dashboard.members import member_labels
from dashboard.workspace import Workspace

#: Bounds on what one record page lists; a record with more is a story for the errors page.
ERRORS_SHOWN = 200
AUDIT_SHOWN = 100
LOOKUP_SHOWN = 50
#: Hub ids are UUID hex; longer input is not an id and is not looked up as one.
HUB_ID_LENGTH = 32


@dataclass(frozen=True, slots=True)
class LinkView:
    """One link of the record, with its snapshot as (remote field, shown value) rows."""

    link: Link
    snapshot: list[tuple[str, str]]
    ui_url: str | None


def shown(value: Any) -> str:
    """A stored value as text for a table cell: JSON for structures, "—" for nothing."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_when(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def record_fields(record: HubRecord) -> list[tuple[str, str]]:
    """The record's columns in table order, then each custom attribute as ``attributes.x``."""
    rows: list[tuple[str, str]] = []
    for name in type(record).model_fields:
        value = getattr(record, name)
        if name == "attributes" and isinstance(value, dict):
            rows.extend((f"attributes.{key}", shown(value[key])) for key in sorted(value))
        else:
            rows.append((name, shown(value)))
    return rows


def ui_links(space: Workspace, links: list[Link]) -> dict[int, str]:
    """Links into the CRMs' own pages by link id, where a connector can tell without a call."""
    found: dict[int, str] = {}
    for name in sorted({link.connection for link in links}):
        mine = [link for link in links if link.connection == name and link.id is not None]
        urls = space.crm_urls(name, [(link.remote_object, link.remote_id) for link in mine])
        for link in mine:
            url = urls.get((link.remote_object, link.remote_id))
            if url and link.id is not None:
                found[link.id] = url
    return found


def sync_history(record: HubRecord, links: list[Link]) -> list[SyncError]:
    """Errors about this record: by hub id, by its email, or by a remote id it is linked to."""
    conditions = [SyncError.hub_id == record.id]
    email = getattr(record, "email", None)
    if email:
        conditions.append(SyncError.email == email)
    remote_ids = sorted({link.remote_id for link in links})
    if remote_ids:
        conditions.append(col(SyncError.remote_id).in_(remote_ids))
    rows = db().exec(
        select(SyncError)
        .where(or_(*conditions))
        .order_by(col(SyncError.last_seen).desc(), col(SyncError.id).desc())
        .limit(ERRORS_SHOWN + 1)
    )
    return list(rows)


@bp.route("/records/<hub_object>/<hub_id>")
def record(hub_object: str, hub_id: str) -> str:
    """One hub record: its fields, its links with their snapshots, and its sync history."""
    model = HUB_MODELS.get(hub_object)
    if model is None or len(hub_id) > HUB_ID_LENGTH:
        abort(404)
    found = db().get(model, hub_id)
    if found is None:
        abort(404)
    links = list(
        db().exec(
            select(Link)
            .where(Link.hub_object == hub_object, Link.hub_id == hub_id)
            .order_by(Link.connection, Link.remote_object, Link.remote_id)
        )
    )
    urls = ui_links(workspace.current(), links)
    views = [
        LinkView(
            link=link,
            snapshot=[(str(key), shown(value)) for key, value in (link.snapshot or {}).items()],
            ui_url=urls.get(link.id) if link.id is not None else None,
        )
        for link in links
    ]
    errors = sync_history(found, links)
    member = member_labels(db(), [hub_id]).get(hub_id) if hub_object == MEMBER else None
    audits = list(
        db().exec(
            select(Audit)
            .where(Audit.target == hub_id)
            .order_by(col(Audit.at).desc(), col(Audit.id).desc())
            .limit(AUDIT_SHOWN)
        )
    )
    return render_template(
        "dashboard/record.html",
        hub_object=hub_object,
        record=found,
        member=member,
        title=str(member) if member else _title(found),
        fields=record_fields(found),
        links=views,
        errors=errors[:ERRORS_SHOWN],
        more_errors=len(errors) > ERRORS_SHOWN,
        audits=[(audit, describe(audit)) for audit in audits],
    )


def _title(record: HubRecord) -> str:
    if isinstance(record, Person):
        name = " ".join(part for part in (record.first_name, record.last_name) if part)
        return name or record.email or record.id
    return str(getattr(record, "name", None) or record.id)


@bp.route("/records")
def records() -> str | Response:
    """Find a person by email (or any hub record by id); one match goes straight to its page."""
    query = request.args.get("q", "").strip()
    matches: list[tuple[str, HubRecord]] = []
    if query:
        matches = lookup(query)
        if len(matches) == 1:
            hub_object, found = matches[0]
            return redirect(url_for("dashboard.record", hub_object=hub_object, hub_id=found.id))
    members = member_labels(db(), [found.id for kind, found in matches if kind == MEMBER])
    return render_template(
        "dashboard/records.html", query=query, matches=matches, members=members
    )


def lookup(query: str) -> list[tuple[str, HubRecord]]:
    """People whose email is ``query`` (live ones first), or the hub record with that id."""
    matches: list[tuple[str, HubRecord]] = []
    if "@" in query:
        people = db().exec(
            select(Person)
            .where(Person.email == query.lower())  # emails are stored normalised
            .order_by(col(Person.deleted_at).is_not(None), Person.id)
            .limit(LOOKUP_SHOWN)
        )
        matches.extend(("person", person) for person in people)
    elif len(query) <= HUB_ID_LENGTH:
        for hub_object, model in HUB_MODELS.items():
            found = db().get(model, query.lower())
            if found is not None:
                matches.append((hub_object, found))
    return matches

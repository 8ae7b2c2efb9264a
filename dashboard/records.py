"""Records: one hub record (mainly a person): why it syncs or not, its links and history.

The page says, per mapping, whether the record goes out and comes in and what keeps it back
(``jobs.explain``), and lets an admin edit its fields (``core.record_edit``). Also a small
lookup: ``/records?q=`` finds a person by email or any hub record by its id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import or_
from sqlmodel import col, select
from werkzeug.wrappers import Response

from core.logs import event
from core.models import HUB_MODELS, Audit, HubRecord, Link, Person, SyncError
from core.record_edit import (
    ChangedMeanwhileError,
    EditRefusedError,
    edit_record,
    editable_fields,
)
from dashboard import workspace
from dashboard.attribution.record_parts import record_attribution
from dashboard.audit_text import describe as describe_audit
from dashboard.auth import admin_required, current_user
from dashboard.blueprint import bp, db, format_when, log
from dashboard.members import HUB_OBJECT as MEMBER
from dashboard.members import member_labels
from dashboard.scoring import person_explanation
from dashboard.workspace import Workspace
from jobs.explain import about_record, explain_record

#: Bounds on what one record page lists; a record with more is a story for the errors page.
ERRORS_SHOWN = 200
AUDIT_SHOWN = 100
LOOKUP_SHOWN = 50
#: Hub ids are UUID hex; longer input is not an id and is not looked up as one.
HUB_ID_LENGTH = 32
#: Form inputs of the edit form are named ``field-<hub field>``.
FIELD_PREFIX = "field-"


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
    rows = db().exec(
        select(SyncError)
        .where(or_(*about_record(record, links)))
        .order_by(col(SyncError.last_seen).desc(), col(SyncError.id).desc())
        .limit(ERRORS_SHOWN + 1)
    )
    return list(rows)


def find_record(hub_object: str, hub_id: str) -> HubRecord:
    """The hub record a page's URL names, or 404."""
    model = HUB_MODELS.get(hub_object)
    if model is None or len(hub_id) > HUB_ID_LENGTH:
        abort(404)
    found = db().get(model, hub_id)
    if found is None:
        abort(404)
    return found


@bp.route("/records/<hub_object>/<hub_id>")
def record(hub_object: str, hub_id: str) -> str:
    """One hub record: why it syncs or not, its fields, links, snapshots and sync history."""
    return _render(hub_object, find_record(hub_object, hub_id))


@bp.route("/records/<hub_object>/<hub_id>/edit", methods=["POST"])
@admin_required
def record_edit(hub_object: str, hub_id: str) -> Response | tuple[str, int]:
    """Save an admin's edit of the record's fields; the next cycle of each mapping sends it."""
    found = find_record(hub_object, hub_id)
    space = workspace.current()
    posted = {
        key.removeprefix(FIELD_PREFIX): value
        for key, value in request.form.items()
        if key.startswith(FIELD_PREFIX)
    }
    user = current_user()
    assert user is not None  # admin_required let the request through
    seq = request.form.get("change_seq", "")
    try:
        changes = edit_record(
            db(), space.hub_schema, found, posted, actor=user.email,
            expected_seq=int(seq) if seq.isdigit() else None,
        )
    except EditRefusedError as exc:
        db().rollback()
        count = len(exc.problems)
        fields = "field" if count == 1 else "fields"
        message = f"Not saved: {count} {fields} refused; nothing was changed."
        return _render(hub_object, found, problems=exc.problems, posted=posted,
                       message=message), 422
    except ChangedMeanwhileError as exc:
        db().rollback()
        fresh = find_record(hub_object, hub_id)
        message = (f"Not saved: {exc}, by a sync or another admin. The form now shows the "
                   "current values; nothing was changed.")
        return _render(hub_object, fresh, message=message), 409
    if not changes:
        flash("Nothing changed: the form matches the record.", "info")
        return redirect(url_for("dashboard.record", hub_object=hub_object, hub_id=hub_id))
    db().commit()
    event(log, "record.edited", hub_object=hub_object, hub_id=hub_id,
          fields=",".join(sorted(changes)))
    names = ", ".join(sorted(changes))
    flash(f"Saved {names}. The next cycle of each mapping sends the change.", "success")
    return redirect(url_for("dashboard.record", hub_object=hub_object, hub_id=hub_id))


def _render(
    hub_object: str,
    found: HubRecord,
    *,
    problems: dict[str, str] | None = None,
    posted: dict[str, str] | None = None,
    message: str | None = None,
) -> str:
    hub_id = found.id
    links = list(
        db().exec(
            select(Link)
            .where(Link.hub_object == hub_object, Link.hub_id == hub_id)
            .order_by(Link.connection, Link.remote_object, Link.remote_id)
        )
    )
    space = workspace.current()
    urls = ui_links(space, links)
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
    user = current_user()
    edit_fields = (
        editable_fields(space.hub_schema, found) if user is not None and user.role == "admin"
        else []
    )
    offered = {f.name for f in edit_fields}
    problems = problems or {}
    return render_template(
        "dashboard/record.html",
        hub_object=hub_object,
        record=found,
        member=member,
        title=str(member) if member else page_title(found),
        fields=record_fields(found),
        links=views,
        errors=errors[:ERRORS_SHOWN],
        more_errors=len(errors) > ERRORS_SHOWN,
        audits=[(audit, describe_audit(audit)) for audit in audits],
        explanation=explain_record(db(), space.mappings, space.hub_schema, hub_object, found),
        workspace_problems=len(space.problems),
        edit_fields=edit_fields,
        field_prefix=FIELD_PREFIX,
        problems=problems,
        stray_problems=sorted((k, v) for k, v in problems.items() if k not in offered),
        posted=posted or {},
        edit_message=message,
        attribution=record_attribution(db(), hub_object, found),
        scoring=person_explanation(hub_object, found),
    )


def page_title(record: HubRecord) -> str:
    """A record's page heading: a person's name (or email), another record's name or id."""
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

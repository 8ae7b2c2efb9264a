"""Error pages: the filtered list and one error in full."""

from __future__ import annotations

import json

from flask import abort, render_template, request
from sqlmodel import col, select

from connectors.errors import ErrorKind
from core.models import SyncError
from dashboard.blueprint import (
    ERROR_STATUSES,
    OPEN_STATUSES,
    bp,
    db,
    known_mappings,
    page_link,
    paginate,
)


@bp.route("/errors")
def errors() -> str:
    """Errors newest first (by last seen), open and retrying unless ?status= says otherwise."""
    mapping = request.args.get("mapping", "")
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")
    # ORDER BY last_seen walks ix_sync_error_last_seen backwards; id only breaks ties.
    statement = select(SyncError).order_by(
        col(SyncError.last_seen).desc(), col(SyncError.id).desc()
    )
    if status == "all":
        pass
    elif status:
        statement = statement.where(SyncError.status == status)
    else:
        statement = statement.where(col(SyncError.status).in_(OPEN_STATUSES))
    if mapping:
        statement = statement.where(SyncError.mapping == mapping)
    if kind:
        statement = statement.where(SyncError.kind == kind)
    page = paginate(statement, page_link("dashboard.errors"))
    mappings = known_mappings()
    if mapping and mapping not in mappings:
        mappings.append(mapping)
    return render_template(
        "dashboard/errors.html",
        page=page,
        mapping=mapping,
        status=status,
        kind=kind,
        mappings=mappings,
        statuses=ERROR_STATUSES,
        kinds=[k.value for k in ErrorKind],
    )


@bp.route("/errors/<int:error_id>")
def error_detail(error_id: int) -> str:
    """One error in full: the remote's message, our hint, the payload and every attempt."""
    error = db().get(SyncError, error_id)
    if error is None:
        abort(404)
    payload = None
    if error.payload is not None:
        payload = json.dumps(error.payload, indent=2, sort_keys=True, default=str)
    return render_template("dashboard/error.html", error=error, payload=payload)

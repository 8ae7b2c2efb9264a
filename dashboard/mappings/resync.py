"""The mapping page's Resync button: a backfill asked for here, done by the mapping's next cycle.

The web process never syncs: the request is stored, and the next cycle of the mapping (on its
schedule, or ``syncline sync``) sends the chosen fields to every linked record, reads them
again where they pull, and marks the request done. The page lists requests pending and done.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, redirect, request, url_for
from sqlmodel import Session, col, select
from werkzeug.wrappers import Response

from core.clock import utcnow
from core.errors import InputError
from core.models import Audit, ResyncRequest
from dashboard.auth import admin_required, current_user
from dashboard.blueprint import bp, db
from dashboard.mappings import catalog
from jobs.backfill import scope
from mappings.spec import Mapping

#: Requests the mapping page lists, newest first.
SHOWN = 10


def recent(session: Session, mapping: str) -> list[ResyncRequest]:
    """The mapping's latest resync requests, newest first (pending and done)."""
    return list(session.exec(
        select(ResyncRequest).where(ResyncRequest.mapping == mapping)
        .order_by(col(ResyncRequest.id).desc()).limit(SHOWN)
    ))


@bp.route("/mappings/<name>/resync", methods=["POST"])
@admin_required
def mapping_resync(name: str) -> Response:
    """Store a resync of the chosen fields (none chosen: all) since an optional date."""
    mapping = _loaded(name)
    back = redirect(url_for("dashboard.mapping", name=name) + "#resync")
    chosen = request.form.getlist("fields")
    try:
        fields = scope.resolve_fields(mapping, chosen) if chosen else ()
        since = _date(request.form.get("since", ""))
    except InputError as exc:
        flash(f"No resync requested: {exc.message}", "error")
        return back
    user = current_user()
    actor = user.email if user is not None else "unknown"
    session = db()
    now = utcnow()
    asked = scope.request(session, mapping, scope.Resync(fields, since), by=actor, now=now)
    session.add(Audit(at=now, actor=actor, action="mapping.resync", target=name,
                      detail={"request": asked.id, "fields": list(fields),
                              "since": since.date().isoformat() if since else None}))
    session.commit()
    which = ", ".join(fields) if fields else "every field that syncs"
    flash(f"Resync of {name} requested ({which}"
          f"{f', records changed since {since:%Y-%m-%d}' if since else ''}): the next cycle "
          "sends it to every linked record.", "success")
    return back


def _loaded(name: str) -> Mapping:
    entry = catalog.find(name)
    if entry is None or entry.mapping is None:
        abort(404)
    return entry.mapping


def _date(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise InputError("since", f"{text!r} is not a date (YYYY-MM-DD)") from None

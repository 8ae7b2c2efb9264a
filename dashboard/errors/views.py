"""Error pages: the filtered list, the same errors grouped by cause, and one error in full."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from flask import abort, current_app, render_template, request
from sqlmodel import col, select

from core.errors import InputError
from core.models import SyncError
from dashboard import workspace
from dashboard.auth import current_user
from dashboard.blueprint import (
    Page,
    bp,
    db,
    engine,
    known_mappings,
    page_link,
    paginate,
)
from dashboard.errors import actions  # noqa: F401 - registers the action and export routes
from dashboard.errors.detail import attempts, both_sides, crm_url, hub_url
from dashboard.errors.queries import (
    DIRECTIONS,
    KINDS,
    LEVELS,
    ErrorQuery,
    FilterError,
    parse,
    unchecked,
)
from dashboard.inbound import request_for
from dashboard.members import error_members
from jobs import retention, triage
from jobs.failures import ERROR_STATUSES

#: Causes the grouped view shows; past this many the filter should narrow them down.
GROUPS_SHOWN = 200


@bp.route("/errors")
def errors() -> tuple[str, int] | str:
    """Errors newest first (by last seen), open and retrying unless the filter says otherwise."""
    try:
        query = parse(request.args)
    except FilterError as exc:
        return _refuse_filter("dashboard/errors/list.html", exc)
    newest_first = (col(SyncError.last_seen).desc(), col(SyncError.id).desc())
    # The page's ids first, then only those rows: skipping 25,000 rows for ?page=500 then
    # reads index entries (an index on last_seen, id, status answers it alone), not 25,000
    # wide rows with their payloads. LIMIT/OFFSET, no COUNT.
    ids = paginate(
        query.where().apply(select(SyncError.id)).order_by(*newest_first),
        page_link("dashboard.errors"),
    )
    rows = (
        db().exec(select(SyncError).where(col(SyncError.id).in_(ids.rows)).order_by(*newest_first))
        if ids.rows
        else []
    )
    page = replace(ids, rows=list(rows))
    return render_template(
        "dashboard/errors/list.html",
        page=page,
        members=error_members(db(), page.rows),
        **_context(query),
    )


@bp.route("/errors/groups")
def error_groups() -> tuple[str, int] | str:
    """The filtered errors grouped by cause with counts, the most recently seen cause first."""
    try:
        query = parse(request.args)
    except FilterError as exc:
        return _refuse_filter("dashboard/errors/groups.html", exc, groups=[], more=False)
    found = triage.causes(engine(), query.where(), limit=GROUPS_SHOWN + 1)
    groups = [(cause, query.for_cause(cause)) for cause in found[:GROUPS_SHOWN]]
    return render_template(
        "dashboard/errors/groups.html",
        groups=groups,
        more=len(found) > GROUPS_SHOWN,
        total=sum(cause.count for cause, _ in groups),
        possible=triage.possible_actions,
        **_context(query),
    )


@bp.route("/errors/<int:error_id>")
def error_detail(error_id: int) -> str:
    """One error in full: the remote's message, our hint, both sides' values and every attempt."""
    error = db().get(SyncError, error_id)
    if error is None:
        abort(404)
    payload = None
    if error.payload is not None:
        payload = json.dumps(error.payload, indent=2, sort_keys=True, default=str)
    files = workspace.current()
    sides = both_sides(db(), error, files)
    return render_template(
        "dashboard/errors/detail.html",
        error=error,
        members=error_members(db(), [error]),
        payload=payload,
        sides=sides,
        attempts=attempts(error),
        hub_url=hub_url(sides.hub_object, sides.hub_id) if sides else None,
        crm_url=crm_url(files, sides),
        actions=triage.possible_actions((error.status,), (error.level,)) if _can_act() else [],
        inbound_request=request_for(error, files),
        can_replay=_can_act(),
    )


def _can_act() -> bool:
    user = current_user()
    return user is not None and user.role == "admin"


def _context(query: ErrorQuery) -> dict[str, Any]:
    """What every errors page shows around its rows: the filter form, links, retention."""
    mappings = set(known_mappings()) | set(workspace.current().mappings)
    if query.mapping:
        mappings.add(query.mapping)
    try:
        keep_days: int | None = retention.check_days(
            current_app.config.get("RETENTION_DAYS", retention.DEFAULT_RETENTION_DAYS),
            "RETENTION_DAYS",
        )
        retention_problem = None
    except InputError as exc:
        keep_days, retention_problem = None, str(exc)
    return {
        "query": query,
        "args": query.args(),
        "mappings": sorted(mappings),
        "statuses": ERROR_STATUSES,
        "kinds": KINDS,
        "directions": DIRECTIONS,
        "levels": LEVELS,
        "actions": triage.possible_actions(query.statuses) if _can_act() else [],
        "here": request.full_path.rstrip("?"),
        "keep_days": keep_days,
        "retention_problem": retention_problem,
    }


def _refuse_filter(template: str, exc: FilterError, **extra: Any) -> tuple[str, int]:
    """The page again with the filter as typed, what is wrong with it, and no rows (400)."""
    context = _context(unchecked(request.args))
    context["actions"] = []
    empty = Page(rows=[], number=1, prev_url=None, next_url=None)
    return render_template(template, page=empty, problems=exc.problems, **context, **extra), 400

"""Runs: the history of sync cycles per mapping, and one run with the errors it recorded."""

from __future__ import annotations

import json

from flask import abort, render_template, request
from sqlmodel import col, select

from core.models import SyncError, SyncRun
from dashboard.blueprint import RUN_ERRORS_SHOWN, bp, db, known_mappings, page_link, paginate
from dashboard.members import error_members
from jobs.runs import RUN_STATUSES


@bp.route("/runs")
def runs() -> str:
    """Run history, newest first, optionally for one mapping and one status."""
    mapping = request.args.get("mapping", "")
    status = request.args.get("status", "")
    statement = select(SyncRun).order_by(col(SyncRun.started_at).desc(), col(SyncRun.id).desc())
    if mapping:
        statement = statement.where(SyncRun.mapping == mapping)
    if status:
        statement = statement.where(SyncRun.status == status)
    page = paginate(statement, page_link("dashboard.runs"))
    mappings = known_mappings()
    if mapping and mapping not in mappings:
        mappings.append(mapping)  # keep the filter visible even when nothing matches
    return render_template(
        "dashboard/runs.html",
        page=page,
        mapping=mapping,
        status=status,
        mappings=mappings,
        statuses=RUN_STATUSES,
    )


@bp.route("/runs/<int:run_id>")
def run_detail(run_id: int) -> str:
    """One run: its counts, its message and the errors it recorded."""
    run = db().get(SyncRun, run_id)
    if run is None:
        abort(404)
    errors = list(
        db().exec(
            select(SyncError)
            .where(SyncError.run_id == run_id)
            .order_by(col(SyncError.last_seen).desc(), col(SyncError.id).desc())
            .limit(RUN_ERRORS_SHOWN + 1)
        )
    )
    shown = errors[:RUN_ERRORS_SHOWN]
    # A crash keeps its technical detail on its job-level error (jobs.crashes), shown folded.
    job_error = db().exec(
        select(SyncError).where(SyncError.run_id == run_id, SyncError.level == "job")
    ).first()
    technical = (
        json.dumps(job_error.payload, indent=2, sort_keys=True, default=str)
        if job_error is not None and job_error.payload
        else None
    )
    return render_template(
        "dashboard/run.html",
        run=run,
        members=error_members(db(), shown),
        errors=shown,
        more_errors=len(errors) > RUN_ERRORS_SHOWN,
        technical=technical,
    )

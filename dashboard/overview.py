"""Overview: the health of every mapping at a glance."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import and_, func
from sqlmodel import col, select

from core.models import SyncError, SyncRun
from dashboard.blueprint import OPEN_STATUSES, bp, db, moved


@bp.route("/")
def overview() -> str:
    """Health per mapping: its last run and how many errors are still open."""
    latest = (
        select(SyncRun.mapping, func.max(SyncRun.started_at).label("started_at"))
        .group_by(SyncRun.mapping)
        .subquery()
    )
    last_runs = db().exec(
        select(SyncRun)
        .join(
            latest,
            and_(SyncRun.mapping == latest.c.mapping, SyncRun.started_at == latest.c.started_at),
        )
        .order_by(SyncRun.mapping, col(SyncRun.id).desc())
    )
    runs: dict[str, SyncRun] = {}
    for run in last_runs:
        runs.setdefault(run.mapping, run)  # two runs with the same start: keep the later id
    open_errors: dict[str, int] = dict(
        db().exec(
            select(SyncError.mapping, func.count())
            .where(col(SyncError.status).in_(OPEN_STATUSES))
            .group_by(SyncError.mapping)
        ).all()
    )
    # Errors can outlive the runs retention keeps, so those mappings still get a row.
    names = sorted(set(runs) | set(open_errors))
    rows = [(name, runs.get(name), open_errors.get(name, 0)) for name in names]
    return render_template(
        "dashboard/overview.html",
        rows=rows,
        moved=moved,
        total_open=sum(open_errors.values()),
    )

"""Dashboard pages: overview per mapping, run history and detail, error list and detail, health."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request, url_for
from sqlalchemy import Engine, and_, func, text
from sqlmodel import Session, col, select

from connectors.errors import ErrorKind, redact
from core.logs import event, get_logger
from core.models import SyncError, SyncRun

PAGE_SIZE = 50
MAX_PAGE = 1_000_000
#: Errors someone still has to look at; the errors page shows these unless asked otherwise.
OPEN_STATUSES = ("open", "retrying")
ERROR_STATUSES = ("open", "retrying", "resolved", "ignored")
RUN_ERRORS_SHOWN = 200

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    # Its own URL so it never collides with an app-level /static.
    static_url_path="/dashboard-static",
)
log = get_logger("dashboard")


# -- request plumbing ----------------------------------------------------------------------------


def engine() -> Engine:
    """Return the app's engine, created once by the factory."""
    return current_app.extensions["syncline.engine"]


def db() -> Session:
    """Return this request's session, opened on first use and closed at teardown."""
    if "syncline_session" not in g:
        g.syncline_session = Session(engine())
    return g.syncline_session


@bp.teardown_app_request
def _close_session(exc: BaseException | None) -> None:
    session = g.pop("syncline_session", None)
    if session is not None:
        session.close()


@bp.app_errorhandler(404)
def not_found(exc: Exception) -> tuple[str, int]:
    """Render a 404 inside the dashboard's layout rather than Werkzeug's bare page."""
    return render_template("dashboard/404.html"), 404


# -- template helpers ----------------------------------------------------------------------------


@bp.app_template_filter("when")
def format_when(value: datetime | None) -> str:
    """Format a timestamp in UTC; naive values (SQLite returns those) are already UTC."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.app_template_filter("duration")
def format_duration(ms: int | None) -> str:
    """Format milliseconds as a short human duration: 850 ms, 12.4 s, 3m 05s."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes}m {seconds:02d}s"


@bp.app_template_filter("redact")
def redact_text(value: Any) -> str:
    """Pass remote text through the secret redactor again before display (defence in depth)."""
    return "" if value is None else redact(str(value))


def moved(run: SyncRun) -> int:
    """Count the records a run wrote on either side."""
    return run.created_hub + run.updated_hub + run.created_remote + run.updated_remote


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its rows and the links to its neighbours."""

    rows: list[Any]
    number: int
    prev_url: str | None
    next_url: str | None


def paginate(statement: Any, url: Callable[[int], str]) -> Page:
    """Run ``statement`` for ``?page=`` with LIMIT/OFFSET; one extra row tells if more exist.

    No COUNT(*): over a million error rows that alone would cost more than the page itself.
    """
    # Clamped: an absurd ?page= must give an empty page, not an integer overflow in the driver.
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    rows = list(db().exec(statement.offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    has_next = len(rows) > PAGE_SIZE
    return Page(
        rows=rows[:PAGE_SIZE],
        number=number,
        prev_url=url(number - 1) if number > 1 else None,
        next_url=url(number + 1) if has_next else None,
    )


def page_link(endpoint: str) -> Callable[[int], str]:
    """Build links to other pages of this list that keep the current filters."""
    args = {k: v for k, v in request.args.items() if k != "page"}
    return lambda number: url_for(endpoint, **args, page=number)


def known_mappings() -> list[str]:
    """List mapping names for filter menus: every mapping that has run (index-only scan)."""
    return list(db().exec(select(SyncRun.mapping).distinct().order_by(SyncRun.mapping)))


# -- pages ---------------------------------------------------------------------------------------


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


@bp.route("/runs")
def runs() -> str:
    """Run history, newest first, optionally for one mapping."""
    mapping = request.args.get("mapping", "")
    statement = select(SyncRun).order_by(col(SyncRun.started_at).desc(), col(SyncRun.id).desc())
    if mapping:
        statement = statement.where(SyncRun.mapping == mapping)
    page = paginate(statement, page_link("dashboard.runs"))
    return render_template(
        "dashboard/runs.html", page=page, mapping=mapping, mappings=known_mappings(), moved=moved
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
    return render_template(
        "dashboard/run.html",
        run=run,
        moved=moved(run),
        errors=errors[:RUN_ERRORS_SHOWN],
        more_errors=len(errors) > RUN_ERRORS_SHOWN,
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


@bp.route("/healthz")
def healthz() -> tuple[Any, int]:
    """Liveness for load balancers: 200 when the database answers, 503 when it does not."""
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database is "unhealthy", never a 500
        detail = _safe_error(exc)
        event(log, "healthz.database_error", error=detail)
        return jsonify(status="error", database="error", error=detail), 503
    return jsonify(status="ok", database="ok"), 200


def _safe_error(exc: Exception) -> str:
    """Summarise a driver error in one line, without the URL's password or known secrets."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    message = f"{type(original).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    password = engine().url.password
    if password:
        message = message.replace(str(password), "***")
    return redact(message)

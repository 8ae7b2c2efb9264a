"""Inbound: what each webhook source sent, what was refused and why, and where each request is.

Per source: the last 24 hours' counts (inbound_tally) by outcome and as a chart, and the
latest requests, each processed, waiting or failed (inbound.progress says how that is read
from the mappings' cursors and open errors), a failed one linked to its error. The error page
of a request shows its raw body and a Replay button (:func:`replay`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlmodel import col, select
from werkzeug.wrappers import Response

from core.clock import utcnow
from core.errors import InputError
from core.models import InboundEvent, SyncError
from dashboard import workspace
from dashboard.auth import admin_required, current_user
from dashboard.blueprint import bp, db, engine, local_path
from dashboard.charts import Bar, BarChart, format_number, render_bar_chart
from dashboard.workspace import Workspace
from inbound import replay as replays
from inbound.body import BodyError, parse
from inbound.progress import PULL, Progress, State, progress, readers
from inbound.tally import OUTCOMES, REFUSALS, Totals, last_hours, totals
from jobs.failures import OPEN_STATUSES

#: Requests listed per source.
LATEST = 20
#: Characters of a body shown on an error page.
BODY_SHOWN = 20_000


@dataclass(frozen=True, slots=True)
class EventRow:
    """One stored request as the page lists it."""

    id: int
    event_id: str
    received_at: datetime
    state: State
    error_id: int | None


@dataclass(frozen=True, slots=True)
class SourceView:
    """One webhook source: its settings worth showing, counts, chart and latest requests."""

    name: str
    scheme: str
    readers: list[str]
    counts: Totals
    refused: list[tuple[str, int]]
    chart: BarChart
    svg: Markup
    table: list[tuple[str, str]]
    events: list[EventRow]


def webhook_sources(space: Workspace) -> dict[str, str]:
    """The webhook sources of the connections file, with their schemes."""
    connections = space.connections
    if connections is None:
        return {}
    found = {}
    for name in connections:
        config = connections.get(name)
        if config.get("type") == "webhook":
            found[name] = str(config.get("scheme", "?"))
    return found


def _chart(name: str, counts: Totals, now: datetime) -> tuple[BarChart, list[tuple[str, str]]]:
    bars, table = [], []
    for n, hour in enumerate(last_hours(now)):
        by = counts.by_hour.get(hour, {})
        total = sum(by.values())
        refused = total - by.get("accepted", 0) - by.get("duplicate", 0)
        span = f"{hour:%Y-%m-%d %H:00}–{(hour + timedelta(hours=1)):%H:00} UTC"
        what = (f"{total} received ({by.get('accepted', 0)} accepted, "
                f"{by.get('duplicate', 0)} duplicate, {refused} refused)")
        bars.append(Bar(total, f"{hour:%H:00}" if n % 4 == 3 else "", f"{span}: {what}"))
        table.append((span, what))
    description = (f"Requests to {name} per hour over the last 24 hours; "
                   f"{format_number(counts.received)} in all")
    return BarChart(f"inbound-{name}", f"{name}: requests per hour", description, "requests/hour",
                    bars), table


def _events(name: str, found: Progress, names: list[str]) -> list[EventRow]:
    rows = db().exec(
        select(InboundEvent.id, InboundEvent.event_id, InboundEvent.received_at)
        .where(InboundEvent.source == name).order_by(col(InboundEvent.id).desc()).limit(LATEST)
    ).all()
    failed = [str(r[0]) for r in rows if found.state(int(r[0])) == "failed"]
    errors: dict[str, int] = {}
    if failed:
        for error_id, remote_id in db().exec(
            select(SyncError.id, SyncError.remote_id).where(
                col(SyncError.mapping).in_(names), SyncError.direction == PULL,
                col(SyncError.remote_id).in_(failed), col(SyncError.status).in_(OPEN_STATUSES),
            ).order_by(col(SyncError.id))
        ).all():
            if remote_id is not None and error_id is not None:
                errors.setdefault(remote_id, error_id)
    return [EventRow(int(r[0]), r[1], r[2], found.state(int(r[0])), errors.get(str(r[0])))
            for r in rows]


@bp.route("/inbound")
def inbound() -> str:
    """Every webhook source: counts, refusals, the last day's chart and the latest requests."""
    now = utcnow()
    space = workspace.current()
    sources = webhook_sources(space)
    counted = totals(db(), sources, now - timedelta(hours=23))
    views = []
    for name, scheme in sources.items():
        names = readers(space.runnable, name)
        found = progress(db(), names)
        counts = counted[name]
        chart, table = _chart(name, counts, now)
        views.append(SourceView(
            name, scheme, names, counts,
            [(REFUSALS[o], counts.get(o)) for o in OUTCOMES if o in REFUSALS],
            chart, render_bar_chart(chart), table, _events(name, found, names),
        ))
    return render_template("dashboard/inbound.html", sources=views,
                           base_url=request.host_url.rstrip("/"))


# -- a request on its error's page -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestShown:
    """The stored request behind a webhook source's error: its id, source and body."""

    id: int
    source: str
    event_id: str
    received_at: datetime
    body: str


def request_for(error: SyncError, space: Workspace) -> RequestShown | None:
    """The stored request an error is about, when its mapping reads a webhook source."""
    mapping = space.mappings.get(error.mapping)
    if (mapping is None or error.level != "record" or not error.remote_id
            or not error.remote_id.isdigit()
            or mapping.connection not in webhook_sources(space)):
        return None
    found = db().get(InboundEvent, int(error.remote_id))
    if found is None or found.id is None or found.source != mapping.connection:
        return None
    return RequestShown(found.id, found.source, found.event_id, found.received_at,
                        _pretty(bytes(found.body), found.content_type))


def _pretty(body: bytes, content_type: str | None) -> str:
    """The body as indented JSON (a form as its fields); as received when it does not parse."""
    try:
        fields: Any = json.loads(body) if not content_type or "json" in content_type else None
    except ValueError:
        fields = None
    if fields is None:
        try:
            fields = parse(body, content_type)
        except BodyError:
            return body[:BODY_SHOWN].decode("utf-8", errors="replace")
    return json.dumps(fields, indent=2, sort_keys=True, ensure_ascii=False)[:BODY_SHOWN]


@bp.route("/inbound/<int:inbox_id>/replay", methods=["POST"])
@admin_required
def replay(inbox_id: int) -> Response:
    """Make the request's errors due and have the web process's worker run its mappings now."""
    back = local_path(request.form.get("next"), url_for("dashboard.inbound"))
    space = workspace.current()
    user = current_user()
    assert user is not None
    try:
        queued = replays.prepare(engine(), space.runnable, inbox_id, user.email)
    except InputError as exc:
        flash(f"Nothing replayed: {exc.message}", "warning")
        return redirect(back)
    state = current_app.extensions.get("syncline.inbound")
    if state is None:
        abort(503)
    state.processor.trigger([queued.source])
    flash(f"Replaying request {inbox_id}: {', '.join(queued.mappings)} run now; reload to see "
          "the outcome.", "success")
    return redirect(back)

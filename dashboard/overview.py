"""Overview: every mapping's health, records written per hour, each connection's API budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from flask import render_template
from sqlalchemy import and_, case, func
from sqlmodel import col, select

from alerts.state import active_alerts
from core.clock import as_utc, utcnow
from core.models import SyncError, SyncRun
from core.models.sync import MOVED_COUNTERS
from dashboard import workspace
from dashboard.blueprint import bp, db
from dashboard.charts import Bar, BarChart, format_number, render_bar_chart
from dashboard.connections import connection_views
from jobs.failures import OPEN_STATUSES
from mappings.schedule import parse_schedule
from mappings.spec import Mapping

#: What the throughput charts count: records a run created or updated, on the hub and on the
#: remote (the "Moved" column; deletes are not counted). The SQL twin of ``RunCounts.moved``.
MOVED_SQL = sum((col(getattr(SyncRun, name)) for name in MOVED_COUNTERS[1:]),
                start=col(getattr(SyncRun, MOVED_COUNTERS[0])))


@dataclass(frozen=True, slots=True)
class Window:
    """One throughput chart: how far back it looks and how wide its buckets are."""

    id: str
    title: str
    span: timedelta
    bucket: timedelta
    label_every: timedelta  # an x-axis label on buckets starting at a multiple of this
    label_format: str


WINDOWS = (
    Window("throughput-24h", "Last 24 hours, per hour", timedelta(hours=24), timedelta(hours=1),
           timedelta(hours=3), "%H:%M"),
    Window("throughput-7d", "Last 7 days, per 6 hours", timedelta(days=7), timedelta(hours=6),
           timedelta(days=1), "%b %d"),
)


@dataclass(frozen=True, slots=True)
class NextRun:
    """When a mapping's next scheduled cycle is expected.

    ``state``: ``at`` (a time), ``due`` (now, or as soon as the scheduler starts), ``manual``
    (disabled: only ``syncline sync`` runs it) or ``unknown`` (no mapping file any more).
    """

    state: str
    at: datetime | None = None
    schedule: str | None = None


@dataclass(frozen=True, slots=True)
class MappingHealth:
    """One row of the overview."""

    name: str
    connection: str | None
    last_run: SyncRun | None
    open_errors: int
    next_run: NextRun
    configured: bool


def next_run(mapping: Mapping | None, last_run: SyncRun | None, now: datetime) -> NextRun:
    """The next cycle the scheduler would start for ``mapping``, given its last run.

    Intervals count from the last run's start (the scheduler's interval trigger); cron lines
    give their next fire time after now. A mapping that never ran is due at once.
    """
    if mapping is None:
        return NextRun("unknown")
    if not mapping.enabled:
        return NextRun("manual", schedule="disabled")
    try:
        schedule = parse_schedule(mapping.schedule)
    except ValueError:  # the loader refuses these; a file changed since it was read
        return NextRun("unknown")
    if schedule.cron is not None:
        fire = CronTrigger.from_crontab(schedule.cron, timezone="UTC").get_next_fire_time(
            None, now
        )
        return NextRun("at", fire, str(schedule)) if fire else NextRun("manual", None, "never")
    if last_run is None:
        return NextRun("due", schedule=str(schedule))
    at = as_utc(last_run.started_at) + timedelta(seconds=schedule.seconds or 0)
    return NextRun("due" if at <= now else "at", at, str(schedule))


# -- queries ------------------------------------------------------------------------------------


def last_runs() -> dict[str, SyncRun]:
    """The latest run of every mapping that has one (one index walk per mapping)."""
    latest = (
        select(SyncRun.mapping, func.max(SyncRun.started_at).label("started_at"))
        .group_by(SyncRun.mapping)
        .subquery()
    )
    rows = db().exec(
        select(SyncRun)
        .join(
            latest,
            and_(SyncRun.mapping == latest.c.mapping, SyncRun.started_at == latest.c.started_at),
        )
        .order_by(SyncRun.mapping, col(SyncRun.id).desc())
    )
    runs: dict[str, SyncRun] = {}
    for run in rows:
        runs.setdefault(run.mapping, run)  # two runs with the same start: keep the later id
    return runs


def open_error_counts() -> dict[str, int]:
    """Open and retrying errors per mapping."""
    rows = db().exec(
        select(SyncError.mapping, func.count())
        .where(col(SyncError.status).in_(OPEN_STATUSES))
        .group_by(SyncError.mapping)
    )
    return dict(rows.all())


def bucket_start(now: datetime, width: timedelta) -> datetime:
    """The start of the bucket holding ``now``; buckets are aligned to the Unix epoch (UTC)."""
    seconds = int(width.total_seconds())
    stamp = int(as_utc(now).timestamp()) // seconds * seconds
    return datetime.fromtimestamp(stamp, UTC)


def records_per_bucket(
    mappings: list[str], start: datetime, width: timedelta, count: int
) -> list[int]:
    """Records written by runs started in each of ``count`` buckets from ``start``.

    Summed in the database, grouped by a CASE on ``started_at``: plain comparisons, so the
    same SQL runs on SQLite and PostgreSQL and no run row is loaded into Python.
    """
    if not mappings or count < 1:
        return [0] * max(count, 0)
    started = col(SyncRun.started_at)
    bucket = case(
        *((started < start + width * (i + 1), i) for i in range(count - 1)), else_=count - 1
    )
    # The bucket is computed in a subquery and grouped by its column outside: PostgreSQL will
    # not match a GROUP BY expression whose bound parameters differ from the select list's.
    rows = (
        select(bucket.label("bucket"), MOVED_SQL.label("moved"))
        .where(
            col(SyncRun.mapping).in_(mappings),  # lets the (mapping, started_at) index range
            started >= start,
            started < start + width * count,
        )
        .subquery()
    )
    totals = dict(
        db().exec(select(rows.c.bucket, func.sum(rows.c.moved)).group_by(rows.c.bucket)).all()
    )
    return [int(totals.get(i) or 0) for i in range(count)]


def throughput_chart(
    window: Window, mappings: list[str], now: datetime
) -> tuple[BarChart, list[tuple[str, str]]]:
    """A chart of records/hour over ``window`` and its (period, value) rows for a table.

    Buckets wider than an hour show the hourly average, and say so.
    """
    count = int(window.span / window.bucket)
    end = bucket_start(now, window.bucket) + window.bucket
    start = end - window.span
    totals = records_per_bucket(mappings, start, window.bucket, count)
    hours = window.bucket / timedelta(hours=1)
    label_seconds = int(window.label_every.total_seconds())
    bars, table = [], []
    for index, total in enumerate(totals):
        begins = start + window.bucket * index
        ends = begins + window.bucket
        rate = total / hours
        if hours == 1:
            what = f"{format_number(rate)} records/hour"
        else:
            what = (
                f"{format_number(rate)} records/hour average "
                f"({format_number(total)} records in {format_number(hours)} hours)"
            )
        if ends > now:
            what += ", so far"
        span = f"{begins:%Y-%m-%d %H:%M}–{ends:%H:%M} UTC"
        on_label = int(begins.timestamp()) % label_seconds == 0
        label = begins.strftime(window.label_format) if on_label else ""
        bars.append(Bar(value=rate, label=label, title=f"{span}: {what}"))
        table.append((span, what))
    total = sum(totals)
    peak = max(range(count), key=lambda i: totals[i]) if total else None
    description = (
        f"{count} bars from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC; "
        f"{format_number(total)} records in all"
    )
    if peak is not None:
        description += f"; the busiest bar is {bars[peak].title}"
    unit = "records/hour" if hours == 1 else "records/hour (average)"
    title = f"Records written: {window.title.lower()}"
    return BarChart(window.id, title, description, unit, bars), table


# -- the page -----------------------------------------------------------------------------------


@bp.route("/")
def overview() -> str:
    """Health per mapping, throughput charts and the API budget of each connection."""
    now = utcnow()
    space = workspace.current()
    runs = last_runs()
    open_errors = open_error_counts()
    # Errors can outlive the runs retention keeps, so those mappings still get a row.
    names = sorted(set(space.mappings) | set(space.stopped) | set(runs) | set(open_errors))
    rows = [
        MappingHealth(
            name=name,
            connection=space.mappings[name].connection if name in space.mappings else None,
            last_run=runs.get(name),
            open_errors=open_errors.get(name, 0),
            # A mapping whose file (or hub.yaml, or the connections file) does not load is not
            # synced by the scheduler until it does: say so instead of a next time.
            next_run=NextRun("stopped")
            if name in space.stopped
            else next_run(space.mappings.get(name), runs.get(name), now),
            configured=name in space.mappings or name in space.stopped,
        )
        for name in names
    ]
    charts = []
    if runs:
        for window in WINDOWS:
            chart, table = throughput_chart(window, sorted(runs), now)
            charts.append((chart, render_bar_chart(chart), table))
    budgets, unattributed = connection_views(space, now, list(runs))
    return render_template(
        "dashboard/overview.html",
        rows=rows,
        has_runs=bool(runs),
        total_open=sum(open_errors.values()),
        charts=charts,
        budgets=budgets,
        unattributed=unattributed,
        problems=len(space.problems),
        alerts=active_alerts(db()),
    )

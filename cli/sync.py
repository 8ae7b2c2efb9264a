"""``syncline sync`` (one cycle now) and ``syncline scheduler`` (every mapping on its schedule)."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime

import click
from sqlalchemy.exc import OperationalError

from cli.context import App, pass_app
from cli.output import print_json_lines, print_plan, print_summary, progress
from core import logs
from core.clock import utcnow
from core.db import session as db_session
from core.errors import InputError
from jobs.backfill import scope as backfill_scope
from jobs.backfill.scope import Resync
from jobs.engine import SyncContext, run_all
from jobs.report import RunReport
from jobs.retention import DEFAULT_RETENTION_DAYS, RETENTION_ENV
from jobs.scheduler import DEFAULT_STOP_TIMEOUT, build_scheduler, serve

#: Statuses that make ``syncline sync`` exit 1: the mapping could not do its work (or did not
#: run at all because another process holds it: exit 0 would say it synced).
FAILED = ("failed", "braked", "locked", "interrupted", "abandoned")

#: How often a dry run starts over when SQLite's snapshot went stale under it (see below).
DRY_RUN_ATTEMPTS = 3


@click.command()
@click.argument("names", nargs=-1, metavar="[MAPPING]...")
@click.option("--dry-run", is_flag=True, help="Plan and print; write nothing anywhere.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per mapping on stdout.")
@click.option(
    "--allow-mass-change",
    is_flag=True,
    help="Let this run delete or blank more than deletes.max_fraction (the brake).",
)
@click.option(
    "--wait",
    "wait_seconds",
    default=0.0,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="If another process is running a mapping, wait up to this long for it to finish.",
)
@click.option(
    "--resync",
    is_flag=True,
    help="Send (and read again, where a field pulls) the mapping's fields for every linked "
    "record, as after a change to the mapping.",
)
@click.option(
    "--fields",
    "field_names",
    metavar="A,B",
    help="With --resync: only these fields (remote or hub names).",
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]),
    metavar="DATE",
    help="With --resync: only records changed since DATE (UTC) on either side.",
)
@pass_app
def sync(
    app: App,
    names: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
    allow_mass_change: bool,
    wait_seconds: float,
    resync: bool,
    field_names: str | None,
    since: datetime | None,
) -> None:
    """Run one sync cycle of each MAPPING now (default: every enabled mapping).

    Exit code 0 when every mapping ran (record-level errors are listed by `syncline errors
    list`), 1 when a mapping failed, hit the mass-change brake or was held by another process
    (it says which: host, pid, since when), 2 on bad input.
    """
    if (field_names is not None or since is not None) and not resync:
        raise InputError("sync", "--fields and --since go with --resync")
    ctx = app.sync_context()
    asked = _resyncs(ctx, names, field_names, since) if resync else {}
    if asked and not dry_run:
        _request(ctx, asked)  # stored first: a run that cannot start now leaves it pending
    for attempt in range(1, DRY_RUN_ATTEMPTS + 1):
        try:
            with progress(app.interactive and not as_json, "syncing") as tick:
                reports = run_all(
                    ctx,
                    list(names) or None,
                    dry_run=dry_run,
                    allow_mass_change=allow_mass_change,
                    progress=tick,
                    trigger="manual",
                    wait=wait_seconds,
                    resync=asked if dry_run else None,
                )
            break
        except OperationalError as exc:
            # A dry run plans inside one transaction it rolls back. On SQLite, a scheduler
            # committing meanwhile makes that transaction's first write fail at once ("database
            # is locked": its snapshot is stale). Nothing was written, so it simply starts over.
            if not (dry_run and "database is locked" in str(exc)):
                raise
            if attempt == DRY_RUN_ATTEMPTS:
                raise InputError("sync --dry-run", "the database stayed busy with other syncs "
                                 f"({attempt} tries); try again, or stop the scheduler") from None
    report_and_exit(app, reports, as_json=as_json, dry_run=dry_run)


def _resyncs(
    ctx: SyncContext, names: tuple[str, ...], field_names: str | None, since: datetime | None
) -> dict[str, Resync]:
    """``--resync`` per named mapping, its fields checked against the mapping file."""
    if not names:
        raise InputError("sync", "--resync needs the mapping(s) to resync: "
                         "syncline sync MAPPING --resync")
    found: dict[str, Resync] = {}
    for name in names:
        mapping = ctx.mappings.get(name)
        if mapping is None:
            known = ", ".join(sorted(ctx.mappings)) or "none"
            raise InputError("sync", f"no mapping named {name!r} (known: {known})")
        fields = (
            backfill_scope.resolve_fields(mapping, field_names.split(","))
            if field_names is not None else ()
        )
        found[name] = Resync(fields, since.replace(tzinfo=UTC) if since else None)
    return found


def _request(ctx: SyncContext, asked: dict[str, Resync]) -> None:
    """Store the resyncs (all or none) for the runs that follow to do."""
    by = f"{getpass.getuser()} (command line)"
    with db_session(ctx.engine) as session:
        for name, resync in asked.items():
            backfill_scope.request(session, ctx.mappings[name], resync, by=by, now=utcnow())


def report_and_exit(app: App, reports: list[RunReport], *, as_json: bool, dry_run: bool) -> None:
    """Print the reports in the requested form and exit 1 if any mapping failed."""
    if as_json:
        print_json_lines(reports)
    else:
        if dry_run:
            for report in reports:
                print_plan(report)
        print_summary(reports, rich_table=app.interactive)
    if any(r.status in FAILED for r in reports):
        sys.exit(1)


@click.command()
@click.option(
    "--retention-days",
    default=DEFAULT_RETENTION_DAYS,
    show_default=True,
    type=click.IntRange(min=1),
    envvar=RETENTION_ENV,
    help=f"Purge resolved and ignored errors (and runs) older than this (env {RETENTION_ENV}).",
)
@click.option(
    "--workers",
    default=4,
    show_default=True,
    type=int,
    help="Mappings that may sync at the same time.",
)
@click.option(
    "--stop-timeout",
    default=DEFAULT_STOP_TIMEOUT,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="After SIGTERM, how long running cycles get to reach a safe point before exit.",
)
@click.option(
    "--parent-pid",
    type=int,
    hidden=True,
    help="Stop when this process (the one that started us) is gone (used by `syncline demo`).",
)
@click.option(
    "--demo-activity",
    is_flag=True,
    hidden=True,
    help="Also make small random edits in the demo systems (used by `syncline demo`).",
)
@pass_app
def scheduler(
    app: App,
    retention_days: int,
    workers: int,
    stop_timeout: float,
    parent_pid: int | None,
    demo_activity: bool,
) -> None:
    """Run every mapping on its schedule until SIGTERM (one scheduler process per installation).

    Mapping files, hub.yaml and the connections file are followed while it runs: a change is
    used by the next cycle; a file that stops loading stops only its own mapping(s).
    """
    root = click.get_current_context().find_root()
    if root.params.get("log_level", "WARNING").upper() == "WARNING":  # a service logs its events
        logs.configure("INFO")
    live = app.live_config()
    extra = []
    if demo_activity:
        # Only here: the production scheduler never loads the demo package.
        from demo.activity import activity_job

        extra.append(
            (activity_job(app), {"trigger": "interval", "seconds": 20, "id": "demo-activity"})
        )
    serve(
        build_scheduler(live, retention_days=retention_days, workers=workers, extra_jobs=extra),
        app.stopping,
        engine=live.engine,
        stop_timeout=stop_timeout,
        parent_pid=parent_pid,
    )


def register(group: click.Group) -> None:
    """Add these commands to the main group."""
    group.add_command(sync)
    group.add_command(scheduler)

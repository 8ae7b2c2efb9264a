"""``syncline sync`` (one cycle now) and ``syncline scheduler`` (every mapping on its schedule)."""

from __future__ import annotations

import sys

import click

from cli.context import App, pass_app
from cli.output import print_json_lines, print_plan, print_summary, progress
from core import logs
from jobs.engine import run_all
from jobs.report import RunReport
from jobs.retention import DEFAULT_RETENTION_DAYS, RETENTION_ENV
from jobs.scheduler import build_scheduler, serve

#: Statuses that make ``syncline sync`` exit 1: the mapping could not do its work.
FAILED = ("failed", "braked")


@click.command()
@click.argument("names", nargs=-1, metavar="[MAPPING]...")
@click.option("--dry-run", is_flag=True, help="Plan and print; write nothing anywhere.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per mapping on stdout.")
@click.option(
    "--allow-mass-change",
    is_flag=True,
    help="Let this run delete or blank more than deletes.max_fraction (the brake).",
)
@pass_app
def sync(
    app: App, names: tuple[str, ...], dry_run: bool, as_json: bool, allow_mass_change: bool
) -> None:
    """Run one sync cycle of each MAPPING now (default: every enabled mapping).

    Exit code 0 when every mapping ran (record-level errors are listed by `syncline errors
    list`), 1 when a mapping failed or hit the mass-change brake, 2 on bad input.
    """
    ctx = app.sync_context()
    with progress(app.interactive and not as_json, "syncing") as tick:
        reports = run_all(
            ctx,
            list(names) or None,
            dry_run=dry_run,
            allow_mass_change=allow_mass_change,
            progress=tick,
            trigger="manual",
        )
    report_and_exit(app, reports, as_json=as_json, dry_run=dry_run)


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
    "--demo-activity",
    is_flag=True,
    hidden=True,
    help="Also make small random edits in the demo systems (used by `syncline demo`).",
)
@pass_app
def scheduler(app: App, retention_days: int, workers: int, demo_activity: bool) -> None:
    """Run every mapping on its schedule until SIGTERM (one scheduler process per installation)."""
    root = click.get_current_context().find_root()
    if root.params.get("log_level", "WARNING").upper() == "WARNING":  # a service logs its events
        logs.configure("INFO")
    ctx = app.sync_context()
    extra = []
    if demo_activity:
        from jobs.demo import activity_job

        extra.append(
            (activity_job(app), {"trigger": "interval", "seconds": 20, "id": "demo-activity"})
        )
    serve(
        build_scheduler(ctx, retention_days=retention_days, workers=workers, extra_jobs=extra),
        app.stopping,
    )


def register(group: click.Group) -> None:
    """Add these commands to the main group."""
    group.add_command(sync)
    group.add_command(scheduler)

"""``syncline attribution run|report``: compute multi-touch attribution and read it back.

``run`` recomputes the opportunities whose touches, people, contact roles, amounts or dates
changed since the last run (``--full``: all of them); ``report`` sums one model's credit per
campaign, channel or touch type. Models come from ``<mappings>/attribution.yaml`` (every
shipped model when there is no such file).
"""

from __future__ import annotations

import json
import sys
from datetime import date, datetime

import click
from sqlmodel import Session

from attribution.config import AttributionSettings
from attribution.engine import run, settings_in
from attribution.report import GROUPINGS, KEYS, DateRange, build_report
from cli.context import App, pass_app
from cli.output import one_line, progress
from core import csvfile
from core.errors import InputError


def _settings(app: App) -> AttributionSettings:
    return settings_in(app.mappings_dir)


@click.group("attribution")
def attribution_group() -> None:
    """Multi-touch attribution: credit per opportunity, touch and model."""


@attribution_group.command("run")
@click.option("--full", is_flag=True, help="Recompute every opportunity, not only changed ones.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object with the counts.")
@pass_app
def run_command(app: App, full: bool, as_json: bool) -> None:
    """Recompute attribution for the opportunities whose inputs changed since the last run.

    Prints how many opportunities were recomputed, the credit rows written, how many of them
    have no touch at all (unattributed) and the campaign influence rows changed.
    """
    settings = _settings(app)
    with progress(app.interactive, "attribution") as update:
        report = run(app.engine, settings, full=full,
                     progress=lambda done: update("recompute", done))
    if as_json:
        click.echo(json.dumps(report.as_json()))
    else:
        counts = report.as_json()
        click.echo(" ".join(f"{key}={value}" for key, value in counts.items()))
    for opportunity_id, reason in sorted(report.skipped.items())[:20]:
        click.echo(f"note: opportunity {opportunity_id} not attributed: {reason}", err=True)
    if len(report.skipped) > 20:
        click.echo(f"note: {len(report.skipped) - 20} more opportunities not attributed", err=True)


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


@attribution_group.command("report")
@click.option("--model", "model", required=True, metavar="NAME",
              help="A model of the attribution file (e.g. w_shaped).")
@click.option("--by", "by", type=click.Choice(GROUPINGS), default="campaign", show_default=True,
              help="What to group the credit by.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE",
              help="First day (YYYY-MM-DD) of creation (pipeline) or winning (revenue).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), metavar="DATE",
              help="Last day, included.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per group, one per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@pass_app
def report_command(
    app: App, model: str, by: str, start: datetime | None, end: datetime | None,
    as_json: bool, as_csv: bool,
) -> None:
    """Sum one model's credit per campaign, channel or touch type.

    Per group: touches and opportunities credited, credit (opportunities' shares), pipeline
    (credit × amount of opportunities created in the range) and revenue (of opportunities won
    in the range). "(pending)" is credit held back until a deal is won; "(no touches)" the
    opportunities without any touch.
    """
    if as_json and as_csv:
        raise InputError("attribution report", "choose one of --json and --csv")
    settings = _settings(app)
    names = [m.name for m in settings.models]
    if model not in names:
        where = settings.source or "the default attribution settings"
        raise InputError("attribution report --model",
                         f"no model {model!r} in {where} (models: {', '.join(names)})")
    dates = DateRange(_day(start), _day(end))
    if dates.start and dates.end and dates.start > dates.end:
        raise InputError("attribution report --from", f"{dates.start} is after --to {dates.end}")
    with Session(app.engine) as session:
        rows = build_report(session, model, by, dates)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row.as_json(), ensure_ascii=False))
    elif as_csv:
        out = csvfile.writer(sys.stdout, lineterminator="\n")
        out.writerow(KEYS)
        out.writerows(row.cells() for row in rows)
    else:
        table = [list(KEYS), *([one_line(c) for c in row.cells()] for row in rows)]
        widths = [max(len(line[i]) for line in table) for i in range(len(KEYS))]
        for line in table:
            click.echo("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                                 for i, (cell, w) in enumerate(zip(line, widths, strict=True))))
        if not rows:
            click.echo(f"no credit under {model} yet (run `syncline attribution run`)")


def register(group: click.Group) -> None:
    """Add this command group to the main group."""
    group.add_command(attribution_group)

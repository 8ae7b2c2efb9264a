"""``syncline import touches FILE`` and ``syncline export touches|members|campaigns|...``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from cli.context import App, pass_app
from cli.people import export_group, import_group
from core.errors import InputError
from core.hub_export import EXPORTS, export_records
from touches.importer import import_touches


@click.command("touches")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def import_touches_command(app: App, file: Path) -> None:
    """Record touches from a CSV or JSONL FILE (by extension), all rows or none.

    Columns: email, occurred_at, touch_type, campaign (hub id or name), channel, source,
    medium, utm_campaign, utm_content, utm_term, landing_page, detail (a JSON object).
    Importing the same file again changes nothing.
    """
    if not file.exists():
        raise InputError(str(file), "file not found")
    report = import_touches(app.engine, file, programs=app.programs)
    counts = {
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
    }
    if app.interactive:
        table = Table(title=f"Imported {file.name}", title_justify="left")
        for key in counts:
            table.add_column(key, justify="right")
        table.add_row(*(f"{v:,}" for v in counts.values()))
        Console().print(table)
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))


#: What one record of each export is, for the help text.
_NOUNS = {
    "touches": "touch (with its person's email and campaign's name)",
    "members": "campaign member (with its person's email and campaign's name)",
    "campaigns": "campaign",
    "opportunities": "opportunity",
}


def _export_command(what: str) -> click.Command:
    @click.command(what)
    @click.option("--json", "as_json", is_flag=True, help="JSON Lines instead of CSV.")
    @click.option(
        "--output",
        "-o",
        type=click.Path(dir_okay=False, writable=True),
        help="File to write (default: stdout).",
    )
    @pass_app
    def command(app: App, as_json: bool, output: str | None) -> None:
        fmt = "jsonl" if as_json else "csv"
        if output:
            with open(output, "w", newline="", encoding="utf-8") as out:
                count = export_records(app.engine, what, out, fmt=fmt)
            click.echo(f"{count} {what} written to {output}", err=True)
        else:
            export_records(app.engine, what, sys.stdout, fmt=fmt)

    command.help = f"Export every live {_NOUNS[what]}, hub ids first (CSV; --json: JSON Lines)."
    return command


def register(_main: click.Group) -> None:
    """Add these commands to the import and export groups (cli.people puts those on main)."""
    import_group.add_command(import_touches_command)
    for what in EXPORTS:
        export_group.add_command(_export_command(what))

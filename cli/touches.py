"""``syncline import touches FILE`` and ``syncline export touches|members|campaigns|...``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cli.context import App, pass_app
from cli.output import print_import_counts
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
    print_import_counts(file, report, rich_table=app.interactive)


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

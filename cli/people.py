"""``syncline import people FILE`` and ``syncline export people``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from cli.context import App, pass_app
from cli.output import print_import_counts
from core.errors import InputError
from core.people import ON_DUPLICATE, ImportReport, OnDuplicate, export_people, import_people


@click.group("import")
def import_group() -> None:
    """Load records into the hub."""


@import_group.command("people")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--on-duplicate",
    type=click.Choice(ON_DUPLICATE),
    default="error",
    show_default=True,
    help="Rows sharing an email: refuse the file (listing them), or import the first or the "
    "last row of each.",
)
@pass_app
def import_people_command(app: App, file: Path, on_duplicate: OnDuplicate) -> None:
    """Upsert people from a CSV or JSONL FILE by normalised email (all rows or none).

    An ``id`` column (as `syncline export people` writes) must match the hub's person with
    that email, or names the id a new person gets.
    """
    if not file.exists():
        raise InputError(str(file), "file not found")
    engine = app.engine
    if app.interactive:
        total = _count_rows(file)
        columns = (
            TextColumn("importing"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
        )
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("import", total=total)
            report = import_people(
                engine,
                file,
                schema=app.schema,
                progress=lambda done: bar.update(task, completed=done),
                on_duplicate=on_duplicate,
            )
    else:
        report = import_people(engine, file, schema=app.schema, on_duplicate=on_duplicate)
    _report_duplicates(file, report)
    print_import_counts(file, report, rich_table=app.interactive)


def _report_duplicates(file: Path, report: ImportReport) -> None:
    """Say which row of each duplicated email was imported (stderr: stdout stays the counts)."""
    for duplicate in report.duplicates:
        lines = ", ".join(map(str, duplicate.lines))
        click.echo(
            f"note: {file}:{duplicate.kept} email: {duplicate.email} is on lines {lines}; "
            f"imported line {duplicate.kept}",
            err=True,
        )


def _count_rows(file: Path) -> int:
    with file.open("rb") as handle:
        lines = sum(1 for line in handle if line.strip())
    return max(lines - (1 if file.suffix.lower() == ".csv" else 0), 0)


@click.group("export")
def export_group() -> None:
    """Write hub records out."""


@export_group.command("people")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines instead of CSV.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "json"]),
    help="Output format (default csv; --json means jsonl).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="File to write (default: stdout).",
)
@pass_app
def export_people_command(app: App, as_json: bool, fmt: str | None, output: str | None) -> None:
    """Export every live person (custom fields as their own columns)."""
    fmt = fmt or ("jsonl" if as_json else "csv")
    if output:
        with open(output, "w", newline="", encoding="utf-8") as out:
            count = export_people(app.engine, out, schema=app.schema, fmt=fmt)  # type: ignore[arg-type]
        click.echo(f"{count} people written to {output}", err=True)
    else:
        export_people(app.engine, sys.stdout, schema=app.schema, fmt=fmt)  # type: ignore[arg-type]


def register(group: click.Group) -> None:
    """Add these commands to the main group."""
    group.add_command(import_group)
    group.add_command(export_group)

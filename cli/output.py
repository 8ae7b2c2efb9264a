"""Terminal output: progress bars and summary tables for people, JSON lines for machines."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.models.sync import RUN_COUNTERS
from core.redaction import redact, redact_values
from jobs.report import JSON_KEYS, RunReport

#: Column headings of the summary table, for the documented JSON keys after "mapping".
HEADINGS = {"status": "status", **{counter.name: counter.short for counter in RUN_COUNTERS}}
STATUS_STYLE = {
    "success": "green",
    "partial": "yellow",
    "failed": "red",
    "braked": "red",
    "paused": "yellow",
    "locked": "blue",
    "disabled": "dim",
}


def stderr_console() -> Console:
    """Progress goes to stderr so stdout stays clean for --json and pipes."""
    return Console(stderr=True)


@contextmanager
def progress(enabled: bool, label: str) -> Iterator[Callable[[str, int], None]]:
    """A live "records handled" counter per phase while ``enabled`` (a terminal is watching)."""
    if not enabled:
        yield lambda phase, handled: None
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("[bold]{task.completed:,}[/] records"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=stderr_console(), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, handled: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(f"{label} {phase}", total=None)
            bar.update(tasks[phase], completed=handled)

        yield update


def print_json_lines(reports: Sequence[RunReport]) -> None:
    """One JSON object per mapping, one per line (``--json``)."""
    for report in reports:
        click.echo(json.dumps(redact_values(report.as_json()), default=str))


def print_summary(reports: Sequence[RunReport], *, rich_table: bool) -> None:
    """The end-of-run table: one row per mapping, then any run messages."""
    keys = [k for k in JSON_KEYS if k != "mapping"]
    if rich_table:
        table = Table(title="Sync summary", title_justify="left")
        table.add_column("mapping")
        for key in keys:
            table.add_column(HEADINGS[key], justify="left" if key == "status" else "right")
        for r in reports:
            cells = [
                f"[{STATUS_STYLE.get(r.status, 'white')}]{r.status}[/]"
                if k == "status"
                else f"{getattr(r, k):,}"
                for k in keys
            ]
            table.add_row(r.mapping, *cells)
        Console().print(table)
    else:
        rows = [["mapping", *(HEADINGS[k] for k in keys)]]
        rows += [[r.mapping, *(str(getattr(r, k)) for k in keys)] for r in reports]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            click.echo(
                "  ".join(
                    cell.ljust(w) if i < 2 else cell.rjust(w)
                    for i, (cell, w) in enumerate(zip(row, widths, strict=True))
                )
            )
    for r in reports:
        if r.message:
            click.echo(f"{r.mapping}: {redact(r.message)}", err=True)
        if not r.dry_run:
            for line in r.backfill:
                click.echo(f"{r.mapping}: {line}", err=True)


def print_plan(report: RunReport) -> None:
    """A dry run's planned record actions and the API calls it would spend."""
    click.echo(f"{report.mapping} (dry run, nothing written)")
    for line in report.pushdown:
        click.echo(f"  {one_line(line)}")
    if not report.planned and not report.backfill:
        click.echo("  nothing to do")
    for line in report.backfill:
        click.echo(f"  {line}")
    for action in report.planned:
        who = action.email or action.hub_id or action.remote_id or "?"
        line = f"  {action.direction:<9} {action.action:<8} {who}"
        if action.remote_id and action.remote_id != who:
            line += f" [{action.remote_id}]"
        if action.changes:
            line += "  " + ", ".join(f"{k}: {v[0]!r} → {v[1]!r}" for k, v in action.changes.items())
        if action.note:
            line += f"  ({action.note})"
        click.echo(line)
    # The backfill's calls are its own estimate (above): these are the cycle's record actions.
    besides = " besides the backfill" if report.backfill else ""
    click.echo(
        f"  API calls: {report.api_calls} spent reading, "
        f"{report.planned_write_calls} write call(s) planned{besides}"
    )


def one_line(text: str) -> str:
    """Remote text on one line, control characters escaped (``--json`` and CSV keep it verbatim).

    So a CRM's message can neither forge a line of a listing nor drive the terminal; secrets
    are redacted (again: a row stored by an older version may predate a form of one).
    """
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
        for ch in redact(text)
    )


def print_import_counts(file: Path, report: Any, *, rich_table: bool) -> None:
    """An import's rows, created, updated and unchanged: a table, or ``k=v`` pairs for scripts."""
    counts = {name: getattr(report, name) for name in ("rows", "created", "updated", "unchanged")}
    if rich_table:
        table = Table(title=f"Imported {file.name}", title_justify="left")
        for key in counts:
            table.add_column(key, justify="right")
        table.add_row(*(f"{v:,}" for v in counts.values()))
        Console().print(table)
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))

"""``syncline errors list|retry|ignore|reopen|export``: troubleshooting from the command line."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime, timedelta
from typing import Any

import click
import yaml
from sqlmodel import Session, col, select

from cli.context import App, pass_app
from cli.output import one_line
from core.clock import utcnow
from core.errors import InputError
from core.models import SyncError, SyncRun
from core.redaction import redact_values
from jobs import triage
from jobs.failures import ERROR_STATUSES as STATUSES
from jobs.triage import ErrorFilter
from mappings.loader import mapping_paths


def _filter_options(fn):  # type: ignore[no-untyped-def]
    options = [
        click.option("--mapping", help="Only this mapping."),
        click.option(
            "--status",
            "statuses",
            multiple=True,
            type=click.Choice([*STATUSES, "all"]),
            help="Status to include (repeatable; default: open and retrying).",
        ),
        click.option("--kind", help="validation, duplicate, transient, conflict, ..."),
        click.option("--code", help="The remote error code, e.g. STRING_TOO_LONG."),
        click.option("--field", help="The field the error is about, e.g. LeadSource."),
        click.option(
            "--direction",
            type=click.Choice(["to_hub", "to_remote", "cycle"]),
            help="to_hub, to_remote, or cycle (errors that stopped a whole cycle).",
        ),
        click.option("--search", help="An email, hub id or remote id."),
        click.option("--days", type=int, help="Only errors seen in the last N days."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _make_filter(
    ids: tuple[int, ...],
    filters: dict[str, Any],
    *,
    default_status: tuple[str, ...] = ("open", "retrying"),
) -> ErrorFilter:
    """The ErrorFilter for the options added by :func:`_filter_options`."""
    statuses = filters["statuses"] or default_status
    status = STATUSES if "all" in statuses else statuses
    days = filters["days"]
    since = utcnow() - timedelta(days=days) if days else None
    return ErrorFilter(
        ids,
        filters["mapping"],
        tuple(status),
        filters["kind"],
        filters["code"],
        filters["search"],
        since,
        direction=filters["direction"],
        field=filters["field"],
    )


def known_mappings(app: App) -> set[str]:
    """Mapping names worth filtering by: in the mapping files, or with runs or errors kept.

    Read without the connections file and without validating: troubleshooting must work
    while a mapping file is broken or a connection is down, and a removed mapping's errors
    stay reachable until they are purged.
    """
    names: set[str] = set()
    for path in mapping_paths(app.mappings_dir):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # `syncline mappings check` is where a broken file is reported
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            names.add(data["name"])
    with Session(app.engine) as db:
        for column in (SyncError.mapping, SyncRun.mapping):
            names.update(db.exec(select(column).distinct()))
    return names


def _check_filters(app: App, command: str, ids: tuple[int, ...], filters: dict[str, Any]) -> None:
    """Refuse a filter naming a mapping or error ids that do not exist (exit 2, nothing done).

    Without this a typo answers "no matching errors" (or "0 retried"), which reads as "all
    clear" when it means "you asked about something that is not there".
    """
    mapping = filters.get("mapping")
    if mapping:
        known = known_mappings(app)
        if mapping not in known:
            listing = ", ".join(sorted(known)) or "none yet"
            raise InputError("--mapping", f"no mapping named {mapping!r} (known: {listing})")
    if ids:
        with Session(app.engine) as db:
            found = set(db.exec(select(SyncError.id).where(col(SyncError.id).in_(ids))))
        missing = [str(i) for i in dict.fromkeys(ids) if i not in found]
        if missing:
            noun = "no error with id" if len(missing) == 1 else "no errors with ids"
            raise InputError(f"errors {command}", f"{noun} {', '.join(missing)}; nothing changed")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


@click.group("errors")
def errors_group() -> None:
    """List, retry, ignore and export sync errors."""


@errors_group.command("list")
@_filter_options
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per error.")
@pass_app
def list_errors(app: App, limit: int, as_json: bool, **filters: Any) -> None:
    """Show the most recent errors, with the remote system's own message."""
    _check_filters(app, "list", (), filters)
    rows = triage.find(app.engine, _make_filter((), filters), limit=limit)
    for row in rows:
        if as_json:
            shown = {c: getattr(row, c) for c in triage.EXPORT_COLUMNS}
            click.echo(json.dumps(redact_values(shown), default=str))
            continue
        record = one_line(row.email or row.hub_id or row.remote_id or "(job)")
        click.echo(
            f"#{row.id:<6} {_when(row.last_seen)}  {row.mapping:<20} {row.status:<9} "
            f"{row.kind}/{one_line(row.code or '-')}  {record}  x{row.attempts}"
        )
        click.echo(f"        {one_line(row.message)}")
        if row.hint:
            click.echo(f"        fix: {one_line(row.hint)}")
    if not rows and not as_json:
        click.echo("no matching errors")


def _act(action: str):  # type: ignore[no-untyped-def]
    @errors_group.command(action)
    @click.argument("ids", nargs=-1, type=int)
    @_filter_options
    @pass_app
    def command(app: App, ids: tuple[int, ...], **filters: Any) -> None:
        if not (ids or any(filters[k] for k in ("mapping", "kind", "code", "field", "search"))):
            raise InputError(
                f"errors {action}",
                "name error ids or a filter (--mapping, --kind, "
                "--code, --field, --search); nothing was changed",
            )
        _check_filters(app, action, ids, filters)
        # Each action narrows to the statuses it can move from; by default consider them all.
        where = _make_filter(ids, filters, default_status=("all",))
        count = getattr(triage, action)(app.engine, where, _actor())
        done = {
            "retry": "queued for retry at the next cycle",
            "ignore": "ignored",
            "reopen": "reopened",
        }[action]
        click.echo(f"{count} error(s) {done}")

    command.__doc__ = {
        "retry": "Retry errors (by id or filter) at the next cycle of their mapping.",
        "ignore": "Stop retrying errors you decided to live with (by id or filter).",
        "reopen": "Bring ignored or resolved errors back (by id or filter).",
    }[action]
    return command


for _action in ("retry", "ignore", "reopen"):
    _act(_action)


@errors_group.command("export")
@_filter_options
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="CSV file to write (default: stdout).",
)
@pass_app
def export_errors(app: App, output: str | None, **filters: Any) -> None:
    """Export matching errors as CSV."""
    _check_filters(app, "export", (), filters)
    where = _make_filter((), filters)
    if output:
        with open(output, "w", newline="", encoding="utf-8") as out:
            count = triage.export_csv(app.engine, where, out)
        click.echo(f"{count} error(s) written to {output}", err=True)
    else:
        triage.export_csv(app.engine, where, sys.stdout)


def register(group: click.Group) -> None:
    """Add these commands to the main group."""
    group.add_command(errors_group)

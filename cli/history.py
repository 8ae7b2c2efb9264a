"""``syncline history EMAIL|HUB_ID [--field F] [--json]``: why a value is what it is.

Every value the engine changed in the hub or a remote, newest first, with the mapping, the run
and the rule or conflict policy that decided it, and the remote values the hub kept out.
Read from the hub's field history alone (``core.field_history``); no remote is called.
"""

from __future__ import annotations

import json

import click
from sqlmodel import Session

from cli.context import App, pass_app
from cli.explain import find_records
from cli.output import one_line
from core.errors import InputError
from core.field_history import MOST_SHOWN, as_json, fields_of, history_of, line


@click.command("history")
@click.argument("record", metavar="EMAIL|HUB_ID")
@click.option("--field", "field_name", metavar="F", help="Only this hub field (e.g. company).")
@click.option("--json", "as_json_lines", is_flag=True, help="One JSON object per change.")
@pass_app
def history_command(app: App, record: str, field_name: str | None, as_json_lines: bool) -> None:
    """Show every change of a hub record's fields, newest first, and why it was made.

    EMAIL finds a person; HUB_ID any hub record; OBJECT:ID (account:<id>) a record of that
    object. Each line: when, field, old → new, from where (mapping), run, and the rule that
    decided; "kept" lines are values a remote offered that the hub did not take.
    """
    with Session(app.engine) as session:
        found = find_records(session, record, "history")
        field_name = field_name.strip() if field_name else None
        if field_name:
            known = set(app.schema.fields(found[0][0]))
            for _, hub in found:
                known.update(fields_of(session, hub.id))
            if field_name not in known:
                listed = ", ".join(sorted(known))
                raise InputError(
                    "history --field",
                    f"{found[0][0]} has no field {field_name!r} (fields: {listed})",
                )
        histories = [
            (hub_object, hub, history_of(session, hub.id, field_name))
            for hub_object, hub in found
        ]
    for index, (hub_object, hub, rows) in enumerate(histories):
        if as_json_lines:
            for row in rows:
                click.echo(json.dumps(as_json(row), ensure_ascii=False, default=str))
            continue
        if index:
            click.echo("")
        email = getattr(hub, "email", None)
        only = f", field {field_name}" if field_name else ""
        click.echo(f"{hub_object} {hub.id}{' ' + one_line(email) if email else ''}{only}")
        if not rows:
            click.echo("  no changes recorded (the history keeps the retention period's days)")
        for row in rows:
            click.echo(f"  {one_line(line(row))}")
        if len(rows) == MOST_SHOWN:
            click.echo(f"  (the newest {MOST_SHOWN} changes; use --field or --json for a field)")


def register(group: click.Group) -> None:
    """Add this command to the main group."""
    group.add_command(history_command)

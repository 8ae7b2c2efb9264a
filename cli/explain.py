"""``syncline explain EMAIL|HUB_ID``: why a hub record does or does not sync, per mapping.

The same verdicts the person page shows (``jobs.explain``), worked out from the hub alone:
no remote system is called. ``account:<id>`` (or any hub object) explains other records.
"""

from __future__ import annotations

import json

import click
from sqlmodel import Session, col, select

from cli.context import App, pass_app
from cli.output import one_line
from core.errors import InputError
from core.models import HUB_MODELS, HubRecord, Person
from core.values import normalise_email
from jobs.explain import Flow, MappingVerdict, RecordExplanation, explain_record

#: Most people one email may name (the hub should hold one; a few duplicates are shown).
MATCHES_SHOWN = 20


def find_records(
    session: Session, query: str, where: str = "explain"
) -> list[tuple[str, HubRecord]]:
    """The hub records ``query`` names: ``object:id``, a person's email, or a hub id.

    Raises InputError naming ``where`` (the command) and what was looked for when nothing
    matches.
    """
    query = query.strip()
    hub_object, sep, key = query.partition(":")
    if sep and hub_object in HUB_MODELS:
        found = session.get(HUB_MODELS[hub_object], key.strip().lower())
        if found is None:
            raise InputError(where, f"no {hub_object} with id {key.strip()!r}")
        return [(hub_object, found)]
    if "@" in query:
        email = normalise_email(query)
        people = session.exec(
            select(Person)
            .where(Person.email == email)
            .order_by(col(Person.deleted_at).is_not(None), Person.id)  # live people first
            .limit(MATCHES_SHOWN)
        ).all()
        if not people:
            raise InputError(where, f"no person with email {email!r}")
        return [("person", person) for person in people]
    # A bare id: people first (the usual question), then every other hub object.
    for name, model in HUB_MODELS.items():
        found = session.get(model, query.lower())
        if found is not None:
            return [(name, found)]
    raise InputError(
        where,
        f"no person with email or hub id {query!r} (for other records: "
        f"{', '.join(n + ':<id>' for n in HUB_MODELS if n != 'person')})",
    )


@click.command("explain")
@click.argument("record", metavar="EMAIL|HUB_ID")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record.")
@pass_app
def explain_command(app: App, record: str, as_json: bool) -> None:
    """Say, per mapping, whether a hub record goes out and comes in, and what keeps it back.

    EMAIL finds a person; HUB_ID any hub record; OBJECT:ID (account:<id>) a record of that
    object. Nothing is sent to any remote system.
    """
    mappings, schema = app.mappings, app.schema
    with Session(app.engine) as session:
        explanations = [
            explain_record(session, mappings, schema, hub_object, found)
            for hub_object, found in find_records(session, record)
        ]
    for index, explanation in enumerate(explanations):
        if as_json:
            click.echo(json.dumps(explanation.as_json(), ensure_ascii=False, default=str))
            continue
        if index:
            click.echo("")
        _print_text(explanation)


def _print_text(explanation: RecordExplanation) -> None:
    hub = explanation.hub
    deleted = " (deleted)" if hub.deleted else ""
    label = f" {one_line(hub.label)}" if hub.label != hub.hub_id else ""
    click.echo(f"{hub.hub_object} {hub.hub_id}{label}{deleted}, change {hub.change_seq}")
    if not explanation.mappings:
        click.echo(f"  no mapping syncs {hub.hub_object} records")
    for verdict in explanation.mappings:
        _print_mapping(verdict)


def _print_mapping(verdict: MappingVerdict) -> None:
    disabled = ", disabled" if not verdict.enabled else ""
    click.echo("")
    click.echo(
        f"{verdict.mapping}  ({verdict.connection} {verdict.remote_object}, "
        f"{verdict.direction}{disabled})"
    )
    _print_flow("out", verdict.outbound)
    _print_flow("in", verdict.inbound)
    if not verdict.errors:
        click.echo("  open errors: none")
    for error in verdict.errors:
        click.echo(f"  open error #{error.id} ({error.direction}): {one_line(error.sentence)}")
        if error.hint:
            click.echo(f"    fix: {one_line(error.hint)}")


def _print_flow(label: str, flow: Flow) -> None:
    click.echo(f"  {label + ':':<5}{flow.headline}")
    for reason in flow.reasons:
        click.echo(f"    - {one_line(reason.text)}")
        for clause in reason.clauses:
            click.echo(f"        {one_line(clause.sentence)}")


def register(group: click.Group) -> None:
    """Add this command to the main group."""
    group.add_command(explain_command)

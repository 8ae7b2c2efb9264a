"""``syncline init``, ``syncline web`` and ``syncline mappings check``."""

from __future__ import annotations

import click

from cli.context import App, pass_app
from connectors.errors import ConnectorError
from core.db import init_db, schema_revision
from core.errors import InputError
from mappings.check import check_against_remote


@click.command()
@pass_app
def init(app: App) -> None:
    """Create or upgrade the hub database (safe to run again: data is kept)."""
    engine = app.raw_engine()
    init_db(engine)
    click.echo(
        f"database ready: {engine.url.render_as_string(hide_password=True)} "
        f"(schema {schema_revision(engine)})"
    )


@click.group("mappings")
def mappings_group() -> None:
    """Work with mapping files."""


@mappings_group.command("check")
@click.option(
    "--offline",
    is_flag=True,
    help="Only validate the files; do not ask the remote systems for their schema.",
)
@pass_app
def mappings_check(app: App, offline: bool) -> None:
    """Validate every mapping file, then check it against the remote schema (describe)."""
    loaded = app.mappings  # raises InputErrors (exit 2) listing every problem in every file
    errors = warnings = 0
    for name, mapping in sorted(loaded.items()):
        if offline:
            click.echo(f"ok       {mapping.source} ({name})")
            continue
        try:
            with app.connect(mapping.connection) as connector:
                objects = connector.describe([mapping.remote_object])
        except ConnectorError as exc:
            click.echo(
                f"error: {mapping.source} connection: cannot describe "
                f"{mapping.remote_object} on {mapping.connection!r}: {exc}",
                err=True,
            )
            errors += 1
            continue
        problems = check_against_remote(mapping, objects, app.schema)
        for problem in problems:
            click.echo(
                f"{problem.level}: {problem.where}: {problem.message}", err=problem.level == "error"
            )
        errors += sum(p.level == "error" for p in problems)
        warnings += sum(p.level == "warning" for p in problems)
        if not problems:
            click.echo(
                f"ok       {mapping.source} ({name} ↔ {mapping.connection}.{mapping.remote_object})"
            )
    if errors:
        raise InputError("mappings check", f"{errors} error(s), {warnings} warning(s)")
    click.echo(f"{len(loaded)} mapping(s) checked, {warnings} warning(s)")


def register(group: click.Group) -> None:
    """Add these commands to the main group."""
    group.add_command(init)
    group.add_command(mappings_group)

"""``syncline init``, ``syncline web`` and ``syncline mappings check``."""

from __future__ import annotations

import click

from cli.context import App, pass_app
from connectors.errors import ConnectorError
from core.db import init_db, schema_revision
from core.errors import InputError, InputErrors
from core.redaction import redact
from mappings.check import check_against_remote, lookup_objects, missing_lookups
from mappings.loader import load_mappings
from mappings.spec import Mapping
from mappings.workspace import load_each_alone
from touches.programs import check_mappings, load_programs, programs_path


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
    """Validate every mapping file, then check it against the remote schema (describe).

    Without a usable connections file the files are still validated (connection names
    aside), their problems listed, and the checks that could not run named; exit code 2.
    """
    try:
        app.connections  # noqa: B018 - read it now: without it, the files are checked alone
    except InputError as exc:
        # Validating mapping files where the connections (and their secrets) are not, as in
        # CI, is what --offline is for: only a file given or found but unusable is an error.
        missing = offline and _no_connections_file(app)
        _check_without_connections(app, offline, None if missing else exc)
        return
    loaded = app.mappings  # raises InputErrors (exit 2) listing every problem in every file
    errors, warnings = _check_programs(app, loaded)
    bad_connections: set[str] = set()
    for connection in sorted({m.connection for m in loaded.values()}):
        try:  # no remote call: even --offline checks what the file says
            app.connections.check(connection)
        except InputError as exc:
            for line in redact(str(exc)).splitlines():
                click.echo(f"error: {line}", err=True)
            errors += len(exc.errors) if isinstance(exc, InputErrors) else 1
            bad_connections.add(connection)
    for name, mapping in sorted(loaded.items()):
        if mapping.connection in bad_connections:
            continue
        if offline:
            click.echo(f"ok       {mapping.source} ({name})")
            continue
        try:
            with app.connect(mapping.connection) as connector:
                objects = connector.describe([mapping.remote_object,
                                              *lookup_objects(mapping)])
                problems = check_against_remote(mapping, objects, app.schema)
                if not problems:
                    problems = missing_lookups(mapping, connector, _lookup_values(app, mapping),
                                               INFLUENCE_MODEL_HOW_TO)
        except ConnectorError as exc:
            click.echo(
                f"error: {mapping.source} connection: cannot describe "
                f"{mapping.remote_object} on {mapping.connection!r}: {redact(str(exc))}",
                err=True,
            )
            errors += 1
            continue
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


#: Where an admin makes a Campaign Influence model a credit row names.
INFLUENCE_MODEL_HOW_TO = ("for Campaign Influence models: Setup > Campaign Influence > Models, "
                          "API name {value}, a custom model")


def _lookup_values(app: App, mapping: Mapping) -> dict[str, list[str]]:
    """The values a mapping's lookup rows will send, where the hub knows them in advance.

    Campaign Influence rows name their model: every model of the attribution file must exist
    as a Campaign Influence model in the org, or its rows fail.
    """
    if mapping.hub_object == "campaign_influence":
        return {"model": [model.name for model in app.attribution.models]}
    return {}


def _check_programs(app: App, loaded: dict[str, Mapping]) -> tuple[int, int]:
    """Check programs.yaml, and the member statuses the mappings translate against it.

    Prints each problem; returns (errors, warnings). A folder without the file has no
    channels, which is valid.
    """
    path = programs_path(app.mappings_dir)
    try:
        programs = load_programs(path)
    except InputError as exc:
        problems = exc.errors if isinstance(exc, InputErrors) else [exc]
        for problem in problems:
            click.echo(f"error: {problem}", err=True)
        return len(problems), 0
    found = check_mappings(programs, loaded)
    for problem in found:
        click.echo(f"{problem.level}: {problem.where}: {problem.message}",
                   err=problem.level == "error")
    errors = sum(p.level == "error" for p in found)
    if path.exists() and not errors:
        click.echo(f"ok       {programs.source} ({len(programs.channels)} channels)")
    return errors, len(found) - errors


def _no_connections_file(app: App) -> bool:
    """True when no connections file was named and none is in the usual places."""
    try:
        app.resolve_config()
    except InputError:
        return True
    return False


def _check_without_connections(app: App, offline: bool, problem: InputError | None) -> None:
    """The files' own check when the connections file is missing or broken, and what it skips.

    Connection names cannot be checked without the file; everything else in the files is.
    Exit code 2 when the files have problems or ``problem`` (the connections file's) is given.
    """
    if not app.mappings_dir.is_dir():
        raise InputError(str(app.mappings_dir), "mappings directory not found")
    found: list[InputError] = []
    try:
        loaded = load_mappings(app.mappings_dir, hub_schema=app.schema)
    except InputErrors as exc:
        found, loaded = exc.errors, load_each_alone(app.mappings_dir, app.schema)
    except InputError as exc:
        found, loaded = [exc], load_each_alone(app.mappings_dir, app.schema)
    for error in found:
        click.echo(f"error: {error}", err=True)
    program_errors, program_warnings = _check_programs(app, loaded)
    for name, mapping in sorted(loaded.items()):
        click.echo(f"ok       {mapping.source} ({name}; connection name not checked)")
    if problem is not None:
        for line in str(problem).splitlines():
            click.echo(f"error: {line}", err=True)
    skipped = ["whether the connections the mappings name exist"]
    if not offline and loaded:
        targets = ", ".join(
            f"{name} ({m.connection}.{m.remote_object})" for name, m in sorted(loaded.items()))
        skipped.append(
            f"the remote schema checks (fields exist and are writable, lengths, restricted "
            f"picklists, required fields) of {targets}")
    click.echo(f"not checked without a connections file: {'; '.join(skipped)}", err=True)
    if found or program_errors or problem is not None:
        count = len(found) + program_errors
        files = f"{count} error(s) in the mapping files" if count else "mapping files valid"
        reason = "; the connections file could not be used" if problem is not None else ""
        raise InputError("mappings check", files + reason)
    click.echo(f"{len(loaded)} mapping file(s) checked offline, {program_warnings} warning(s)")


def register(group: click.Group) -> None:
    """Add these commands to the main group."""
    group.add_command(init)
    group.add_command(mappings_group)

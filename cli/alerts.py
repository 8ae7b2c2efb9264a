"""``syncline alerts check`` (validate the alerts file) and ``syncline alerts test [CHANNEL]``."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import click

from alerts.channels import Channel
from alerts.evaluate import send_test
from alerts.rules import AlertRules, alerts_path, load_alerts
from cli.context import App, pass_app
from core.errors import InputError

FILE_OPTION = click.option(
    "--file",
    "file",
    metavar="ALERTS.yaml",
    help="The alerts file (default: alerts.yaml in the mappings folder).",
)


def _path(app: App, file: str | None) -> Path:
    return Path(file) if file else alerts_path(app.mappings_dir)


def _known_names(app: App) -> tuple[Collection[str] | None, Collection[str] | None]:
    """The mapping and connection names rules may refer to; None for files that do not load."""
    mappings: Collection[str] | None
    connections: Collection[str] | None
    try:
        connections = app.connections.names
    except InputError:
        connections = None
    try:
        mappings = list(app.mappings)
    except InputError:
        mappings = None
    return mappings, connections


@click.group("alerts")
def alerts_group() -> None:
    """Alert rules and channels (mappings/alerts.yaml)."""


@alerts_group.command("check")
@FILE_OPTION
@pass_app
def check(app: App, file: str | None) -> None:
    """Validate the alerts file: every problem as file:line path (exit 2), else a summary."""
    mappings, connections = _known_names(app)
    rules = load_alerts(_path(app, file), mappings=mappings, connections=connections)
    click.echo(f"ok       {rules.source}: {len(rules.rules)} rules, {len(rules.channels)} channels")
    for channel in rules.channels.values():
        state = "on " if channel.enabled else "off"
        click.echo(f"  channel {state} {channel.name}: {channel.describe()}")
    for rule in rules.rules:
        sends = ", ".join(rule.channels) or "the overview only"
        off = "" if rule.enabled else " (disabled)"
        click.echo(f"  rule    {rule.name}{off}: when {rule.threshold} → {sends}")
    if mappings is None or connections is None:
        click.echo(
            "note: mapping and connection names in rules were not checked, because the mapping "
            "or connections files do not load (see `syncline mappings check`)",
            err=True,
        )


def _channels(rules: AlertRules, name: str | None) -> list[Channel]:
    """The channels to test: the one named, else every enabled one."""
    if name is None:
        chosen = [c for c in rules.channels.values() if c.enabled]
        if not chosen:
            raise InputError(rules.source, "no enabled channel to test (enabled: true)")
        return chosen
    if name not in rules.channels:
        known = ", ".join(rules.channels) or "none"
        raise InputError(rules.source, f"no channel named {name!r} (known: {known})")
    channel = rules.channels[name]
    if not channel.enabled:
        raise InputError(
            f"{rules.source} channels.{name}.enabled",
            "the channel is disabled: enable it (or the variable its enabled: reads) to test it",
        )
    return [channel]


@alerts_group.command("test")
@click.argument("channel", required=False)
@FILE_OPTION
@pass_app
def test(app: App, channel: str | None, file: str | None) -> None:
    """Send a test message to CHANNEL (default: every enabled channel); exit 1 if one fails."""
    rules = load_alerts(_path(app, file))
    failed = 0
    for target in _channels(rules, channel):
        result = send_test(target)
        if result.delivered:
            click.echo(f"sent     {target.name}: {target.describe()}")
        else:
            click.echo(f"failed   {target.name}: {result.error}", err=True)
            failed += 1
    if failed:
        raise SystemExit(1)


def register(group: click.Group) -> None:
    """Add these commands to the main group."""
    group.add_command(alerts_group)

"""The ``syncline`` command line: one group, global options, and one clear line per bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.context import App, default_mappings_dir
from core import logs
from core.errors import InputError
from core.redaction import redact


class SynclineGroup(click.Group):
    """Turns bad input into ``error: <where>: <what>`` on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as exc:
            for line in redact(str(exc)).splitlines():
                click.echo(f"error: {line}", err=True)
            ctx.exit(InputError.exit_code)


@click.group(cls=SynclineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    envvar="SYNCLINE_CONFIG",
    metavar="CONNECTIONS.yaml",
    help="Connections file (default: ./connections.yaml, then instance/connections.yaml).",
)
@click.option(
    "--mappings",
    "mappings_dir",
    envvar="SYNCLINE_MAPPINGS",
    metavar="DIR",
    help="Folder of mapping files and hub.yaml (default: ./mappings).",
)
@click.option(
    "--log-level",
    envvar="SYNCLINE_LOG_LEVEL",
    default="WARNING",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Structured log lines on stderr at this level and above.",
)
@click.version_option(package_name="syncline")
@click.pass_context
def main(ctx: click.Context, config: str | None, mappings_dir: str | None, log_level: str) -> None:
    """Syncline: two-way sync between your marketing database and your CRMs.

    The database comes from DATABASE_URL (default: SQLite at instance/syncline.db).
    """
    logs.configure(log_level)
    ctx.obj = App(config, Path(mappings_dir) if mappings_dir else default_mappings_dir())


def _register() -> None:
    from cli import (
        admin,
        alerts,
        attribution,
        demo,
        explain,
        history,
        hooks,
        people,
        sandbox,
        score,
        sync,
        touches,
        troubleshoot,
        users,
        web,
    )

    for module in (
        admin, web, sync, troubleshoot, explain, history, people, touches, demo, sandbox, users,
        alerts, attribution, hooks, score,
    ):
        module.register(main)


_register()

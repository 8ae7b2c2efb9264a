"""``syncline web``: the dashboard behind gunicorn, a production WSGI server.

Flask's own server is for development (its documentation says not to use it in production):
one process, no worker supervision, no graceful stop. gunicorn runs ``--workers`` processes of
``--threads`` threads each, restarts a worker that dies, and on SIGTERM stops accepting
connections and lets requests in flight finish (up to ``--graceful-timeout``).
"""

from __future__ import annotations

from typing import Any

import click
from gunicorn.app.base import BaseApplication
from gunicorn.config import KNOWN_SETTINGS

from cli.context import CONFIG_CANDIDATES, App, pass_app
from core.errors import InputError

#: Names of the settings this gunicorn knows (newer ones are set only where they exist).
_SETTINGS = {setting.name for setting in KNOWN_SETTINGS}


class DashboardServer(BaseApplication):  # type: ignore[misc]
    """gunicorn serving the dashboard app; each worker builds its own app (its own pool)."""

    def __init__(self, app_config: dict[str, Any], options: dict[str, Any]) -> None:
        self.app_config = app_config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from app import create_app

        return create_app(self.app_config)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes.",
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(min=1),
    help="Threads per worker (requests each worker serves at once).",
)
@click.option(
    "--graceful-timeout",
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="On SIGTERM, seconds requests in flight get to finish.",
)
@pass_app
def web(
    app: App, host: str, port: int, workers: int, threads: int, graceful_timeout: int
) -> None:
    """Serve the dashboard (the scheduler runs separately: `syncline scheduler`)."""
    app.engine  # noqa: B018 - fail now, with exit code 2, if the database is not ready
    try:
        # The file every other command would use (--config, $SYNCLINE_CONFIG, ./connections.yaml,
        # instance/connections.yaml), so the dashboard shows the connections the syncs use.
        connections = str(app.resolve_config())
    except InputError:
        connections = CONFIG_CANDIDATES[0]  # the Connections page explains how to make it
    config = {"MAPPINGS_DIR": str(app.mappings_dir), "CONNECTIONS": connections,
              "INBOUND_LEFTOVERS": True}
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "graceful_timeout": graceful_timeout,
        # Requests are short; a worker silent this long is stuck and gets replaced.
        "timeout": 60,
        # Errors and lifecycle on stderr; no access log (health checks would fill it).
        "errorlog": "-",
        "accesslog": None,
        "loglevel": "info",
        "proc_name": "syncline-web",
    }
    # gunicorn 24+ opens a control socket in the home directory; the dashboard needs none.
    if "control_socket_disable" in _SETTINGS:
        options["control_socket_disable"] = True
    DashboardServer(config, options).run()


def register(group: click.Group) -> None:
    """Add this command to the main group."""
    group.add_command(web)

"""``syncline demo``: seed the demo systems, sync them, and serve the dashboard."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

import click
from sqlalchemy import Engine

from cli.context import App, pass_app
from cli.output import print_json_lines, print_summary, progress
from core import accounts
from core.db import database_url, init_db
from core.errors import InputError
from jobs.engine import run_all
from sandboxes.persistence import StateError


@click.command("demo")
@click.option("--once", is_flag=True, help="Run one cycle of every mapping, print a summary, exit.")
@click.option("--json", "as_json", is_flag=True, help="With --once: one JSON object per mapping.")
@click.option("--port", default=5000, show_default=True, type=int, help="Dashboard port.")
@pass_app
def demo_command(app: App, once: bool, as_json: bool, port: int) -> None:
    """Try Syncline on the Salesforce, Dataverse and Zoom sandboxes and a website's forms.

    Creates the database and instance/connections.yaml if needed, starts the sandboxes
    (http://127.0.0.1:8701, :8702 and :8703, their data kept in instance/demo/), seeds
    realistic people once, runs a sync cycle of every mapping, then (without --once) keeps
    syncing every 30 seconds and serves the dashboard at http://127.0.0.1:PORT.
    """
    # Imported here, not at the top: every `syncline` command loads this module to register
    # the command, and the production scheduler must not load the demo (Faker, seed data).
    from demo import connections, seed
    from demo.sandboxes import start_sandboxes

    # SIGTERM (a service manager, `kill`) must unwind like Ctrl+C does, through the finally
    # blocks that stop the scheduler and the sandboxes; Python's default would just die.
    signal.signal(signal.SIGTERM, _stop_on_signal)
    # Explicitly, like the scheduler: a demo started from a script's background job inherits
    # SIGINT ignored, and `kill -INT` would then stop its scheduler child but not the demo.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    engine = app.raw_engine()  # an unreachable database is bad input: one line, exit 2
    if not app.config_path:
        if connections.write_connections():
            click.echo(
                f"wrote {connections.CONNECTIONS_FILE} (demo systems under "
                f"{connections.DEMO_DIR}/)", err=True
            )
        app.config_path = str(connections.CONNECTIONS_FILE)
    init_db(engine)
    try:
        sandboxes = start_sandboxes(app)
    except OSError as exc:
        raise InputError("sandboxes", f"cannot start the demo sandboxes: {exc}") from exc
    except StateError as exc:
        raise InputError("sandboxes", str(exc)) from exc
    try:
        for sandbox in (sandboxes.salesforce, sandboxes.dynamics, sandboxes.zoom):
            if sandbox is not None:
                click.echo(f"{type(sandbox).__name__} at {sandbox.url}", err=True)
        if not seed.is_seeded(engine):
            sf, dyn, zoom = sandboxes.salesforce, sandboxes.dynamics, sandboxes.zoom
            counts = seed.seed(
                engine,
                sf.org if sf is not None and not sf.restored else None,
                dyn.env if dyn is not None and not dyn.restored else None,
                zoom.account if zoom is not None and not zoom.restored else None,
                [model.name for model in app.attribution.models],
            )
            click.echo(
                "seeded " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()),
                err=True,
            )
            _post_forms(app)
        ctx = app.sync_context()
        with progress(app.interactive and not as_json, "demo") as tick:
            reports = run_all(ctx, trigger="demo", progress=tick)
        if as_json:
            print_json_lines(reports)
        else:
            print_summary(reports, rich_table=app.interactive)
        if once:
            sys.exit(1 if any(r.status in ("failed", "braked") for r in reports) else 0)
        demo_login(engine)
        _serve(app, port)
    finally:
        sandboxes.stop()  # each saves its data for the next run


#: The demo's dashboard account, made on first start when the database has no account yet.
DEMO_ADMIN = "admin@example.com"


def demo_login(engine: Engine) -> None:
    """Make sure someone can log in to the demo dashboard, and say how.

    The password is SYNCLINE_DEMO_PASSWORD if set, else a random one printed this once (the
    database keeps only its hash). A database that already has accounts gets no new one.
    """
    if accounts.lookup(engine, DEMO_ADMIN) is not None:
        click.echo(
            f"dashboard login: {DEMO_ADMIN} (password printed when it was made; new one: "
            f"`syncline users set-password {DEMO_ADMIN}`)",
            err=True,
        )
        return
    if accounts.list_users(engine):
        click.echo("dashboard login: an existing account (`syncline users list`)", err=True)
        return
    chosen = os.environ.get("SYNCLINE_DEMO_PASSWORD")
    password = chosen or secrets.token_urlsafe(12)
    try:
        accounts.add_user(engine, DEMO_ADMIN, password, "admin")
    except InputError as exc:
        raise InputError("SYNCLINE_DEMO_PASSWORD", exc.message) from None
    if chosen:
        click.echo(f"dashboard login: {DEMO_ADMIN}, password from SYNCLINE_DEMO_PASSWORD", err=True)
    else:
        click.echo(f"dashboard login: {DEMO_ADMIN}, password {password} (shown once)", err=True)


def _serve(app: App, port: int) -> None:
    """Scheduler in a child process (never inside the web process), dashboard in this one."""
    command = [
        sys.executable,
        "-m",
        "cli",
        "--config",
        str(app.config_path),
        "--mappings",
        str(app.mappings_dir),
        "scheduler",
        "--demo-activity",
        "--parent-pid",
        str(os.getpid()),
    ]
    # Its own session: Ctrl+C in the terminal reaches the whole foreground process group, and
    # a child still importing its modules would die of it with a traceback. This process
    # stops it instead (below), and it stops by itself if this one is killed (--parent-pid).
    scheduler = subprocess.Popen(command, env=os.environ.copy(), start_new_session=True)
    click.echo(
        f"scheduler running (pid {scheduler.pid}); dashboard at http://127.0.0.1:{port} "
        "— Ctrl+C stops both",
        err=True,
    )
    try:
        from app import create_app

        config = {
            "MAPPINGS_DIR": str(Path(app.mappings_dir)),
            "CONNECTIONS": str(app.config_path),
            # Plain HTTP on the loopback address only, so the cookie never crosses a network;
            # Safari drops Secure cookies on http://127.0.0.1 (Chrome and Firefox keep them).
            "SESSION_COOKIE_SECURE": False,
        }
        create_app(config).run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass  # Ctrl+C: stop the scheduler (below) and the sandboxes quietly
    finally:
        scheduler.terminate()
        try:
            scheduler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            scheduler.kill()
            scheduler.wait()
        click.echo("demo stopped", err=True)


def _post_forms(app: App) -> None:
    """The website's demo form posts, signed, through POST /hooks/website-forms."""
    from demo.forms import SOURCE, post_submissions

    source = app.connections.get(SOURCE)
    secrets_ = source.get("secrets") or [source.get("secret")]
    statuses = post_submissions(database_url(), Path(app.mappings_dir),
                                Path(str(app.config_path)), str(secrets_[0]))
    accepted = sum(status == 202 for status in statuses)
    click.echo(f"posted {len(statuses)} signed form submissions to /hooks/{SOURCE} "
               f"({accepted} accepted)", err=True)


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM into a clean exit (status 0) through every finally block."""
    raise SystemExit(0)


def register(group: click.Group) -> None:
    """Add this command to the main group."""
    group.add_command(demo_command)

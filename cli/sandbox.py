"""``syncline sandbox``: run a local emulator (Salesforce, Dataverse or Zoom) in the foreground."""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from core.errors import InputError

if TYPE_CHECKING:
    from sandboxes.salesforce.sandbox import SalesforceSandbox

T = TypeVar("T")


@click.group("sandbox")
def sandbox_group() -> None:
    """Local emulators of the CRMs and martech tools Syncline talks to (demos, tests, bench)."""


@sandbox_group.command("salesforce")
@click.option("--port", default=8701, show_default=True, type=int, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    help="Sandbox config YAML (default: the shipped one).",
)
@click.option("--seed/--no-seed", default=True, show_default=True, help="Load the demo data.")
@click.option("--latency-ms", default=0.0, type=float, help="Added latency per API call.")
@click.option(
    "--latency-per-record-ms",
    default=0.0,
    type=float,
    help="Added latency per record sent or read.",
)
@click.option("--fail-rate-503", default=0.0, type=float, help="Share of calls answered 503.")
@click.option("--lock-rate", default=0.0, type=float, help="Share of written records locked.")
@click.option("--rate-429", default=0.0, type=float, help="Share of calls answered 429.")
@click.option("--daily-limit", type=int, help="Daily API request allocation (default: config).")
@click.option("--token-lifetime", type=int, help="Access token lifetime in seconds.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    help="Keep the org in this JSON file across restarts (loaded on start, saved every 5 s).",
)
def salesforce_command(
    port: int,
    host: str,
    config_file: str | None,
    seed: bool,
    latency_ms: float,
    latency_per_record_ms: float,
    fail_rate_503: float,
    lock_rate: float,
    rate_429: float,
    daily_limit: int | None,
    token_lifetime: int | None,
    state_file: str | None,
) -> None:
    """Serve the Salesforce REST API emulator at http://HOST:PORT until Ctrl-C.

    Log in with the password or client-credentials grant at /services/oauth2/token using the
    credentials printed on start; control faults at POST /__sandbox__/faults.
    """
    from sandboxes.salesforce.config import ConfigError, SandboxConfig
    from sandboxes.salesforce.faults import Faults
    from sandboxes.salesforce.sandbox import SalesforceSandbox
    from sandboxes.salesforce.state import StateError as SalesforceStateError

    try:
        config = SandboxConfig.load(config_file)
    except ConfigError as error:
        raise InputError("", str(error)) from error
    overrides: dict[str, int] = {}
    if daily_limit is not None:
        overrides["daily_api_limit"] = daily_limit
    if token_lifetime is not None:
        overrides["token_lifetime_seconds"] = token_lifetime
    config = dataclasses.replace(config, **overrides)
    faults = _faults(Faults, latency_ms=latency_ms, latency_per_record_ms=latency_per_record_ms,
                     rate_503=fail_rate_503, lock_rate=lock_rate, rate_429=rate_429)
    sandbox = SalesforceSandbox(
        config, host=host, port=port, faults=faults,
        state_path=Path(state_file) if state_file else None,
    )
    _start(sandbox, host, port, SalesforceStateError)
    if seed and not sandbox.restored:
        _seed(sandbox)
    click.echo(f"Salesforce sandbox at {sandbox.url} (API v{sandbox.api_version})", err=True)
    click.echo(f"  client_id:      {sandbox.client_id}", err=True)
    click.echo(f"  username:       {sandbox.username}", err=True)
    click.echo("  (secrets are in the sandbox config file)", err=True)
    _serve(sandbox)


def _seed(sandbox: SalesforceSandbox) -> None:
    """Load the demo data through ``sandboxes.salesforce.seed.seed_org(org)`` when it exists."""
    try:
        from sandboxes.salesforce import seed as demo_data
    except ImportError:
        click.echo(
            "no demo data available (sandboxes/salesforce/seed.py); starting empty", err=True
        )
        return
    counts = demo_data.seed_org(sandbox.org)
    if counts:
        click.echo("seeded " + ", ".join(f"{n} {name}" for name, n in counts.items()), err=True)


@sandbox_group.command("dynamics")
@click.option("--port", default=8702, show_default=True, type=int, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--seed/--no-seed", default=True, show_default=True, help="Load the demo data.")
@click.option("--latency-ms", default=0.0, type=float, help="Added latency per API call.")
@click.option(
    "--latency-per-record-ms",
    default=0.0,
    type=float,
    help="Added latency per record sent or read.",
)
@click.option("--fail-rate-503", default=0.0, type=float, help="Share of calls answered 503.")
@click.option("--rate-429", default=0.0, type=float, help="Share of calls answered 429.")
@click.option(
    "--requests-per-window",
    type=int,
    help="Service protection: requests per user per 5 minutes (default 6000).",
)
@click.option("--token-lifetime", type=int, help="Access token lifetime in seconds.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    help="Keep the environment in this JSON file across restarts (saved every 5 s).",
)
def dynamics_command(
    port: int,
    host: str,
    seed: bool,
    latency_ms: float,
    latency_per_record_ms: float,
    fail_rate_503: float,
    rate_429: float,
    requests_per_window: int | None,
    token_lifetime: int | None,
    state_file: str | None,
) -> None:
    """Serve the Dataverse Web API emulator at http://HOST:PORT until Ctrl-C.

    Get a token with the client-credentials grant at /{tenant}/oauth2/v2.0/token using the
    credentials printed on start; the Web API is at /api/data/v9.2; control faults at
    POST /__sandbox__/faults.
    """
    from sandboxes.dynamics.faults import Faults
    from sandboxes.dynamics.sandbox import DynamicsSandbox, SandboxConfig
    from sandboxes.dynamics.state import StateError as DynamicsStateError

    overrides: dict[str, int] = {}
    if requests_per_window is not None:
        if requests_per_window < 1:
            raise InputError("--requests-per-window", "must be at least 1")
        overrides["requests_per_window"] = requests_per_window
    if token_lifetime is not None:
        overrides["token_lifetime_s"] = token_lifetime
    faults = _faults(Faults, latency_ms=latency_ms, latency_per_record_ms=latency_per_record_ms,
                     rate_503=fail_rate_503, rate_429=rate_429)
    sandbox = DynamicsSandbox(
        dataclasses.replace(SandboxConfig(), **overrides), host=host, port=port, faults=faults,
        state_path=Path(state_file) if state_file else None,
    )
    _start(sandbox, host, port, DynamicsStateError)
    if seed and not sandbox.restored:
        from sandboxes.dynamics.seed import seed_environment

        counts = seed_environment(sandbox.env)
        if counts:
            click.echo(
                "seeded " + ", ".join(f"{n} {name}" for name, n in counts.items()), err=True
            )
    click.echo(f"Dataverse sandbox at {sandbox.api_url}", err=True)
    click.echo(f"  token URL:      {sandbox.token_url}", err=True)
    click.echo(f"  tenant:         {sandbox.tenant}", err=True)
    click.echo(f"  client_id:      {sandbox.client_id}", err=True)
    click.echo("  (the client secret is in sandboxes/dynamics/sandbox.py)", err=True)
    click.echo(f"  scope:          {sandbox.scope}", err=True)
    _serve(sandbox)


@sandbox_group.command("zoom")
@click.option("--port", default=8703, show_default=True, type=int, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--latency-ms", default=0.0, type=float, help="Added latency per API call.")
@click.option(
    "--latency-per-record-ms",
    default=0.0,
    type=float,
    help="Added latency per record returned.",
)
@click.option("--fail-rate-503", default=0.0, type=float, help="Share of calls answered 503.")
@click.option("--rate-429", default=0.0, type=float, help="Share of calls answered 429.")
@click.option(
    "--plan",
    type=click.Choice(["pro", "business"]),
    default="pro",
    show_default=True,
    help="Account plan whose rate limits apply.",
)
@click.option("--token-lifetime", type=int, help="Access token lifetime in seconds.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False),
    help="Keep the account in this JSON file across restarts (saved every 5 s).",
)
def zoom_command(
    port: int,
    host: str,
    latency_ms: float,
    latency_per_record_ms: float,
    fail_rate_503: float,
    rate_429: float,
    plan: str,
    token_lifetime: int | None,
    state_file: str | None,
) -> None:
    """Serve the Zoom API v2 (webinars) emulator at http://HOST:PORT until Ctrl-C.

    Get a token at POST /oauth/token?grant_type=account_credentials&account_id=… with HTTP
    Basic client credentials (printed on start); the API is at /v2; act as the host (create
    webinars, register people, end a webinar) and set faults under /__sandbox__/.
    """
    from sandboxes.zoom.faults import Faults
    from sandboxes.zoom.sandbox import SandboxConfig, ZoomSandbox
    from sandboxes.zoom.state import StateError as ZoomStateError

    overrides: dict[str, object] = {"plan": plan}
    if token_lifetime is not None:
        overrides["token_lifetime_s"] = token_lifetime
    faults = _faults(Faults, latency_ms=latency_ms, latency_per_record_ms=latency_per_record_ms,
                     rate_503=fail_rate_503, rate_429=rate_429)
    sandbox = ZoomSandbox(
        dataclasses.replace(SandboxConfig(), **overrides), host=host, port=port, faults=faults,
        state_path=Path(state_file) if state_file else None,
    )
    _start(sandbox, host, port, ZoomStateError)
    click.echo(f"Zoom sandbox at {sandbox.api_url}", err=True)
    click.echo(f"  token URL:      {sandbox.token_url}", err=True)
    click.echo(f"  account_id:     {sandbox.account_id}", err=True)
    click.echo(f"  client_id:      {sandbox.client_id}", err=True)
    click.echo("  (the client secret is in sandboxes/zoom/sandbox.py)", err=True)
    _serve(sandbox)


def _faults(factory: Callable[..., T], **settings: float) -> T:
    """The sandbox's fault settings; a rate outside 0–1 is a bad option, not a traceback."""
    try:
        return factory(**settings)
    except ValueError as error:
        raise InputError("options", str(error)) from error


def _start(sandbox: Any, host: str, port: int, state_error: type[Exception]) -> None:
    """Bind the port and load the state file, naming the option at fault when either fails."""
    try:
        sandbox.start()
    except OSError as error:
        raise InputError("--port", f"cannot listen on {host}:{port}: {error.strerror}") from error
    except state_error as error:
        raise InputError("--state", str(error)) from error


def _serve(sandbox: Any) -> None:
    """Serve until Ctrl-C or SIGTERM (a supervisor, the demo), which save the state alike."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        sandbox.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


def register(group: click.Group) -> None:
    """Add this command group to the main group."""
    group.add_command(sandbox_group)

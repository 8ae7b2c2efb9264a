"""A token endpoint that quotes the request back: no secret shows anywhere, in any encoding.

The CRM sandboxes' ``echo_token_request`` fault answers every token request with the vendor's
error shape and the request (form body URL-encoded, the form and headers as JSON) in its
description, as a misbehaving proxy in front of the endpoint does. The connections' secrets
hold every character an encoder changes. Each test runs the real CLI on a Salesforce or a
Dynamics connection, then the dashboard on the same database, and hunts every encoded form
of every secret (connectors/conformance/secretforms.py) through all they showed and stored.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app import create_app
from connectors.conformance.secretforms import leaks
from core import logs
from core.accounts import add_user
from core.models import User
from sandboxes.dynamics.sandbox import DynamicsSandbox
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.cli.conftest import Invoke
from tests.cli.helpers import SHIPPED_MAPPINGS, database_dump, rows, write
from tests.connectors.dynamics import sandbox_remote as dynamics_remote
from tests.connectors.salesforce import sandbox_remote as salesforce_remote
from tests.dashboard.forms import log_in, post

#: Commands a user runs after a failed sync, with the exit codes they end with.
COMMANDS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("--log-level", "DEBUG", "sync"), 1),
    (("--log-level", "DEBUG", "sync", "--json"), 1),
    (("--log-level", "DEBUG", "mappings", "check"), 2),
    (("--log-level", "DEBUG", "errors", "list"), 0),
    (("errors", "list", "--json"), 0),
    (("errors", "export"), 0),
)


@pytest.fixture
def salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox(salesforce_remote.tricky_config()) as sandbox:
        monkeypatch.setenv("SF_CLIENT_SECRET", sandbox.client_secret)
        monkeypatch.setenv("SF_PASSWORD", sandbox.password)
        monkeypatch.setenv("SF_SECURITY_TOKEN", sandbox.security_token)
        yield sandbox


@pytest.fixture
def dynamics(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox(dynamics_remote.tricky_config()) as sandbox:
        monkeypatch.setenv("D365_CLIENT_SECRET", sandbox.client_secret)
        yield sandbox


def run_commands(syncline: Invoke) -> dict[str, str]:
    """Every command's stdout and stderr (log lines included), by command line."""
    shown = {}
    for args, exit_code in COMMANDS:
        result = syncline(*args)
        assert result.exit_code == exit_code, (args, result.output)
        shown[f"syncline {' '.join(args)}"] = result.stdout + result.stderr
    return shown


def dashboard_pages(engine: Engine, tmp_path: Path, connection: str) -> dict[str, str]:
    """The pages an admin and a viewer see, a viewer's "Check now" included, and their logs."""
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "echo-test",
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CONNECTIONS": str(tmp_path / "connections.yaml"),
        "MAPPINGS_DIR": str(tmp_path / "mappings"),
    })
    app.extensions["syncline.engine"].dispose()
    app.extensions["syncline.engine"] = engine
    log = io.StringIO()
    logs.configure("DEBUG", stream=log)
    admin = log_in(app.test_client(), user(engine, "admin"))
    viewer = log_in(app.test_client(), user(engine, "viewer"))
    [error] = rows(engine, "sync_error")
    [run, *_] = rows(engine, "sync_run")
    pages = {}
    checked = post(viewer, f"/connections/{connection}/check", follow_redirects=True)
    assert checked.status_code == 200
    pages["viewer: Check now"] = checked.get_data(as_text=True)
    assert "check failed" in pages["viewer: Check now"]
    for client, who in ((admin, "admin"), (viewer, "viewer")):
        for path in ("/", "/connections", "/errors", "/errors/groups", f"/errors/{error['id']}",
                     "/runs", f"/runs/{run['id']}", "/errors/export.csv"):
            response = client.get(path)
            assert response.status_code == 200, (who, path)
            pages[f"{who}: {path}"] = response.get_data(as_text=True)
    pages["dashboard log"] = log.getvalue()
    return pages


def user(engine: Engine, role: str) -> User:
    return add_user(engine, f"{role}@example.com", f"{role}-password-for-tests", role)


def hunt(shown: dict[str, str], engine: Engine, secrets: dict[str, str],
         pairs: list[tuple[str, str]]) -> None:
    shown["database"] = repr(database_dump(engine))
    found = leaks(shown, secrets, pairs)
    assert not found, "\n".join(found)


def echoed_everywhere(syncline: Invoke, hub: Engine, tmp_path: Path,
                      sandbox: SalesforceSandbox | DynamicsSandbox, connections: str,
                      mapping: str) -> dict[str, str]:
    """A project on ``sandbox``, every token request echoed: all the CLI and pages show."""
    write(tmp_path / "connections.yaml", connections)
    (tmp_path / "mappings").mkdir()
    for name in ("hub", mapping):
        shutil.copy(SHIPPED_MAPPINGS / f"{name}.yaml", tmp_path / "mappings" / f"{name}.yaml")
    assert syncline("init").exit_code == 0
    sandbox.faults.inject("echo_token_request", 1000)
    shown = run_commands(syncline)
    listed = shown["syncline --log-level DEBUG errors list"]
    assert "upstream refused POST" in listed, "the request was quoted back"
    return shown | dashboard_pages(hub, tmp_path, connections.split(":", 1)[0])


def test_salesforce_secrets_never_show_when_the_token_request_is_echoed(
    syncline: Invoke, hub: Engine, tmp_path: Path, salesforce: SalesforceSandbox
) -> None:
    sf = salesforce
    shown = echoed_everywhere(syncline, hub, tmp_path, sf, f"""\
salesforce:
  type: salesforce
  login_url: {sf.url}
  client_id: {sf.client_id}
  client_secret: ${{SF_CLIENT_SECRET}}
  username: {sf.username}
  password: ${{SF_PASSWORD}}
  security_token: ${{SF_SECURITY_TOKEN}}
""", "salesforce-lead")

    listed = shown["syncline --log-level DEBUG errors list"]
    assert "client_secret=***&username=" in listed and "&password=***" in listed
    secrets = {"client_secret": sf.client_secret, "password": sf.password,
               "security_token": sf.security_token,
               "password + security_token": sf.password + sf.security_token}
    hunt(shown, hub, secrets, [(sf.client_id, sf.client_secret), (sf.username, sf.password)])


def test_dynamics_secrets_never_show_when_the_token_request_is_echoed(
    syncline: Invoke, hub: Engine, tmp_path: Path, dynamics: DynamicsSandbox
) -> None:
    shown = echoed_everywhere(syncline, hub, tmp_path, dynamics, f"""\
dynamics:
  type: dynamics
  url: {dynamics.url}
  token_url: {dynamics.token_url}
  client_id: {dynamics.client_id}
  client_secret: ${{D365_CLIENT_SECRET}}
""", "dynamics-lead")

    assert "client_secret=***&scope=" in shown["syncline --log-level DEBUG errors list"]
    hunt(shown, hub, {"client_secret": dynamics.client_secret},
         [(dynamics.client_id, dynamics.client_secret)])

"""Connections: what is shown (never a secret), the stored status, and "check now"."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from connectors.errors import ConnectorError, ErrorKind
from connectors.memory import MemoryConnector
from connectors.memory.store import MemoryStore
from core.db import session
from core.models import ConnectionStatus
from tests.dashboard.conftest import BASE
from tests.dashboard.forms import post
from tests.dashboard.workspace_files import freeze_clock, mapping_yaml, use_files

#: Distinctive secrets: none may appear on any page or in any stored message.
SF_SECRET = "sf-client-secret-Zq81xWv"
SF_PASSWORD = "sf-password-Kp42mNo"
SF_TOKEN = "sf-security-token-Hy73"
MEMORY_KEY = "memory-api-key-Ru55tGb"
SECRETS = (SF_SECRET, SF_PASSWORD, SF_TOKEN, MEMORY_KEY)


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _fresh_stores() -> Iterator[None]:
    MemoryStore.forget_shared()
    yield
    MemoryStore.forget_shared()


@pytest.fixture
def files(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_files(
        app,
        tmp_path,
        {
            "crm": {"type": "memory", "path": str(tmp_path / "crm.json"), "api_key": MEMORY_KEY},
            "sf": {
                "type": "salesforce",
                "login_url": f"http://127.0.0.1:{closed_port()}/services?x=1",
                "client_id": "client-id",
                "client_secret": SF_SECRET,
                "username": "integration@example.com",
                "password": SF_PASSWORD,
                "security_token": SF_TOKEN,
                "api_version": "61.0",
                "api_budget": 0.5,
                "retry": {"max_tries": 1},
            },
        },
        [mapping_yaml("crm-person", "crm"), mapping_yaml("crm-account", "crm"),
         mapping_yaml("sf-lead", "sf")],
    )
    freeze_clock(monkeypatch, BASE)
    return tmp_path


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    return response.get_data(as_text=True)


def card(html: str, name: str) -> str:
    match = re.search(rf'<section class="connection" id="connection-{name}".*?</section>', html,
                      re.S)
    assert match, f"no card for {name}"
    return match.group(0)


def status(engine: Engine, name: str) -> ConnectionStatus | None:
    with session(engine) as db:
        return db.get(ConnectionStatus, name)


def test_lists_connections_with_safe_details_and_mappings(client: FlaskClient, files: Path) -> None:
    html = get(client, "/connections")
    crm, sf = card(html, "crm"), card(html, "sf")
    assert "memory" in crm and "never checked" in crm and "not reported yet" in crm
    assert ">crm-account</a>, " in crm and ">crm-person</a>" in crm
    assert "salesforce" in sf and ">sf-lead</a>" in sf
    assert "<dt>login_url host</dt><dd><code>127.0.0.1:" in sf  # host only: no path or query
    assert "/services" not in sf and "x=1" not in sf
    assert "<dt>api_version</dt><dd><code>61.0</code></dd>" in sf
    assert "client-id" not in sf and "integration@example.com" not in sf  # not whitelisted
    assert 'action="/connections/sf/check"' in sf and 'name="csrf_token"' in sf


def test_shows_stored_status_and_usage(client: FlaskClient, files: Path, engine: Engine) -> None:
    with session(engine) as db:
        db.add(ConnectionStatus(connection="sf", api_used=3_000, api_limit=15_000, usage_at=BASE,
                                checked_at=BASE, check_ok=False,
                                check_message="[auth INVALID_LOGIN] bad <b>credentials</b>"))
        db.add(ConnectionStatus(connection="retired", checked_at=BASE, check_ok=True))
    html = get(client, "/connections")
    sf = card(html, "sf")
    assert "badge-failed" in sf and "2026-03-01 09:00:00 UTC" in sf
    assert "bad &lt;b&gt;credentials&lt;/b&gt;" in sf
    assert "<strong>20%</strong>" in sf and "3,000 of 15,000 calls" in sf
    assert "cycles pause at 50%" in sf
    retired = card(html, "retired")
    assert "not in the connections file" in retired and "badge-ok" in retired
    assert "/connections/retired/check" not in retired  # nothing to build it from


def test_check_now_succeeds_and_stores_status(
    client: FlaskClient, files: Path, engine: Engine
) -> None:
    response = post(client, "/connections/crm/check")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/connections#connection-crm")
    row = status(engine, "crm")
    assert row is not None and row.check_ok is True
    assert row.checked_at is not None and row.check_message == "OK: answered in 1 API call"
    html = get(client, "/connections")
    assert "crm: check passed. OK: answered in 1 API call" in html  # the flash
    assert "badge-ok" in card(html, "crm")


def test_viewer_may_check_too(viewer_client: FlaskClient, files: Path, engine: Engine) -> None:
    assert post(viewer_client, "/connections/crm/check").status_code == 302
    assert status(engine, "crm") is not None


def test_failed_check_stores_redacted_reason(
    client: FlaskClient, files: Path, engine: Engine
) -> None:
    MemoryStore.at(files / "crm.json").api_key = "the-key-the-crm-wants"
    post(client, "/connections/crm/check")
    row = status(engine, "crm")
    assert row is not None and row.check_ok is False
    assert row.check_message and "INVALID_API_KEY" in row.check_message
    assert "Invalid API key" in row.check_message
    html = get(client, "/connections")
    assert "crm: check failed." in html and "badge-failed" in card(html, "crm")
    for secret in SECRETS:
        assert secret not in html and secret not in row.check_message


def test_check_against_a_closed_port_fails_without_crashing(
    client: FlaskClient, files: Path, engine: Engine
) -> None:
    response = post(client, "/connections/sf/check")
    assert response.status_code == 302
    row = status(engine, "sf")
    assert row is not None and row.check_ok is False and row.check_message
    html = get(client, "/connections")
    assert "sf: check failed." in html
    for secret in SECRETS:
        assert secret not in row.check_message and secret not in html


def test_a_secret_in_a_remote_message_is_redacted(
    client: FlaskClient, files: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def leaky_check(self: MemoryConnector) -> None:
        raise ConnectorError(ErrorKind.AUTH, f"key {MEMORY_KEY} rejected", code="BAD_KEY")

    monkeypatch.setattr(MemoryConnector, "check", leaky_check)
    post(client, "/connections/crm/check")
    row = status(engine, "crm")
    assert row is not None and row.check_message == "[auth BAD_KEY] key *** rejected"
    html = get(client, "/connections")
    assert MEMORY_KEY not in html and "key *** rejected" in html


def test_a_connector_crash_is_a_failed_check(
    client: FlaskClient, files: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: MemoryConnector) -> None:
        raise RuntimeError(f"bug with {MEMORY_KEY}")

    monkeypatch.setattr(MemoryConnector, "check", broken)
    assert post(client, "/connections/crm/check").status_code == 302
    row = status(engine, "crm")
    assert row is not None and row.check_ok is False
    assert row.check_message == "unexpected RuntimeError: bug with ***"


def test_bad_settings_are_a_failed_check(app: Flask, client: FlaskClient, tmp_path: Path,
                                         engine: Engine) -> None:
    use_files(app, tmp_path, {"crm": {"type": "memory", "page_size": "lots"}})
    post(client, "/connections/crm/check")
    row = status(engine, "crm")
    assert row is not None and row.check_ok is False
    assert row.check_message and row.check_message.startswith("settings: ")
    assert "crm.page_size: expected a whole number" in row.check_message


def test_check_needs_csrf_login_and_a_known_connection(
    client: FlaskClient, anon_client: FlaskClient, files: Path, engine: Engine
) -> None:
    assert client.post("/connections/crm/check").status_code == 400
    assert post(anon_client, "/connections/crm/check").status_code == 401
    assert anon_client.get("/connections").status_code == 302
    assert anon_client.get("/connections").headers["Location"].startswith("/login")
    assert post(client, "/connections/nobody/check").status_code == 404
    assert status(engine, "crm") is None


def test_secrets_are_never_rendered(
    client: FlaskClient, files: Path, engine: Engine, add_run: object
) -> None:
    with session(engine) as db:
        db.add(ConnectionStatus(connection="sf", api_used=1, api_limit=10, usage_at=BASE))
    post(client, "/connections/sf/check")
    post(client, "/connections/crm/check")
    for url in ("/connections", "/", "/runs"):
        html = get(client, url)
        for secret in SECRETS:
            assert secret not in html, (url, secret)


def test_missing_connections_file(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    use_files(app, tmp_path, None)
    html = get(client, "/connections")
    assert "There is no connections file" in html and "connections.yaml" in html
    assert "No connections to show." in html


def test_broken_connections_file_shows_the_problem(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    use_files(app, tmp_path, {"crm": {"type": "carrier-pigeon"}})
    html = get(client, "/connections")
    assert "Problems reading the files" in html
    assert "unknown connector type &#39;carrier-pigeon&#39;" in html
    assert post(client, "/connections/crm/check").status_code == 404


def test_api_version_and_budget_are_shown_set_or_default(
    client: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    use_files(
        app,
        tmp_path / "defaults",
        {
            "sf": {"type": "salesforce", "login_url": "https://login.salesforce.com",
                   "client_id": "cid", "client_secret": SF_SECRET, "username": "u@example.com",
                   "password": SF_PASSWORD},
            "sf-half": {"type": "salesforce", "login_url": "https://login.salesforce.com",
                        "client_id": "cid", "client_secret": SF_SECRET,
                        "username": "u@example.com", "password": SF_PASSWORD,
                        "api_version": "61.0", "api_budget": 0.5},
            "d365": {"type": "dynamics", "url": "https://org.crm.dynamics.com",
                     "token_url": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                     "client_id": "cid", "client_secret": "d365-secret-77"},
        },
    )
    html = get(client, "/connections")
    sf, half, d365 = card(html, "sf"), card(html, "sf-half"), card(html, "d365")
    assert "<dt>api_version</dt><dd><code>59.0 (default)</code></dd>" in sf
    assert ("<dt>api_budget</dt><dd><code>0.8: cycles pause at 80% of the daily API allowance "
            "(default)</code></dd>") in sf
    assert "<dt>api_version</dt><dd><code>61.0</code></dd>" in half
    assert ("<dt>api_budget</dt><dd><code>0.5: cycles pause at 50% of the daily API allowance"
            "</code></dd>") in half
    assert "<dt>auth</dt><dd><code>password (default)</code></dd>" in sf
    assert half.count("(default)") == 1, "only auth, which sf-half leaves out too"
    assert "<dt>api_version</dt><dd><code>9.2 (default)</code></dd>" in d365
    assert "api_budget" not in d365, "Dataverse has no daily allowance to budget"
    assert "d365-secret-77" not in html and SF_SECRET not in html

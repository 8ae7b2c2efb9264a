"""An attacker's probes that the dashboard refuses, kept as tests so they stay refused.

Traversal through mapping names, oversized posts, and script in values anyone can put into a
CRM record (a person's name, a company) or a mapping file.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from app import create_app
from core.accounts import add_user
from core.db import init_db, make_engine, session
from core.models import Person
from tests.conftest import PostgresServer
from tests.dashboard.forms import log_in, post
from tests.netproxy import CuttableProxy

REPO_MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SCRIPT = '<script>alert("x")</script>'
TRAVERSALS = [
    "..%2Fconnections",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2fconnections",
    "..",
    "..%5Cconnections",
    "salesforce-lead%00.yaml",
    "%252e%252e%252fconnections",
]


@pytest.fixture
def folder(app: Flask, tmp_path: Path) -> Path:
    """A copy of the shipped mappings, with a connections file beside them worth stealing."""
    directory = tmp_path / "mappings"
    shutil.copytree(REPO_MAPPINGS, directory, ignore=shutil.ignore_patterns("*.py", "__*"))
    connections = tmp_path / "connections.yaml"
    connections.write_text("crm:\n  type: memory\n  path: crm.json\n  api_key: stolen-key-4821\n")
    app.config["MAPPINGS_DIR"] = str(directory)
    app.config["CONNECTIONS"] = str(connections)
    return directory


def files_beside(folder: Path) -> dict[Path, bytes]:
    """Every file in and beside the mappings folder, but the test's own SQLite database."""
    return {
        p: p.read_bytes()
        for p in folder.parent.rglob("*")
        if p.is_file() and not p.name.startswith("syncline.db")
    }


@pytest.mark.parametrize("name", TRAVERSALS)
def test_a_mapping_name_cannot_reach_outside_the_mappings_folder(
    client: FlaskClient, folder: Path, name: str
) -> None:
    before = files_beside(folder)
    for suffix in ("", "/edit", "/history"):
        response = client.get(f"/mappings/{name}{suffix}")
        assert response.status_code in (404, 405), (name, suffix, response.status_code)
        body = response.get_data(as_text=True)
        assert "stolen-key-4821" not in body and "root:" not in body
    saved = post(client, f"/mappings/{name}/edit", {"action": "save", "yaml": "name: x\n"})
    assert saved.status_code in (404, 405)
    after = files_beside(folder)
    assert after == before, "nothing written or changed anywhere"


def test_an_oversized_post_is_refused_before_it_is_read(
    client: FlaskClient, folder: Path
) -> None:
    path = folder / "salesforce-lead.yaml"
    before = path.read_bytes()
    limit = int(client.application.config["MAX_CONTENT_LENGTH"])
    huge = "x" * (limit + 1)
    response = post(client, "/mappings/salesforce-lead/edit", {"action": "save", "yaml": huge})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True).lower()
    assert path.read_bytes() == before


def test_a_huge_password_is_refused_without_hashing_it(anon_client: FlaskClient) -> None:
    limit = int(anon_client.application.config["MAX_CONTENT_LENGTH"])
    response = post(
        anon_client, "/login", {"email": "a@example.com", "password": "p" * (limit + 1)}
    )
    assert response.status_code == 413


def test_script_in_a_person_renders_as_text(client: FlaskClient, engine: Engine) -> None:
    with session(engine) as db:
        person = Person(email="eve@example.com", first_name=SCRIPT, last_name=SCRIPT,
                        company=SCRIPT)
        db.add(person)
        db.flush()
        hub_id = person.id
    for url in (f"/records/person/{hub_id}", "/records?q=eve%40example.com"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert SCRIPT not in html and "<script>alert" not in html, url
        assert "&lt;script&gt;alert(" in html, url


def test_script_in_a_mapping_file_renders_as_text(client: FlaskClient, folder: Path) -> None:
    path = folder / "salesforce-lead.yaml"
    path.write_text(path.read_text() + f"# {SCRIPT}\n")
    (folder / "broken.yaml").write_text(f"name: {SCRIPT}\nrows: [\n")
    for url in ("/mappings", "/mappings/salesforce-lead", "/mappings/broken", "/"):
        html = client.get(url).get_data(as_text=True)
        assert SCRIPT not in html and "<script>alert" not in html, url


@pytest.mark.postgres
def test_an_admin_cookie_during_a_database_outage_still_gets_the_health_answer(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    direct = postgres_server.create(f"health_{time.monotonic_ns() % 10**8}")
    setup = make_engine(direct)
    init_db(setup)
    admin = add_user(setup, "ops@example.com", "a-long-admin-password", "admin")
    setup.dispose()
    url = make_url(direct)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    through = url.set(port=proxy.port).render_as_string(hide_password=False)
    app = create_app({"TESTING": True, "DATABASE_URL": through, "SECRET_KEY": "health"})
    try:
        client = log_in(app.test_client(), admin)
        assert client.get("/healthz").status_code == 200
        proxy.cut()
        for path in ("/healthz", "/readyz"):
            response = client.get(path)
            assert response.status_code == 503, (path, response.get_data(as_text=True)[:300])
            assert response.get_json()["status"] in ("error", "not ready")
        proxy.restore()
        assert client.get("/healthz").status_code == 200
    finally:
        app.extensions["syncline.engine"].dispose()
        proxy.close()
        postgres_server.drop(direct)

"""Records: a person's page with links, snapshots and sync history; the email/id lookup."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from core.db import session
from core.models import Account, Audit, Link, Person, SyncError
from tests.dashboard.conftest import BASE
from tests.dashboard.workspace_files import use_files

AddError = Callable[..., SyncError]


def get(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.data[:500]
    return response.get_data(as_text=True)


@pytest.fixture
def ada(engine: Engine) -> Person:
    person = Person(email="ada@example.com", first_name="Ada", last_name="Lovelace",
                    company="Analytical Engines", attributes={"webinar": "<b>Intro</b>"},
                    created_at=BASE)
    with session(engine) as db:
        db.add(person)
        db.add(Link(hub_object="person", hub_id=person.id, connection="crm", remote_object="Lead",
                    remote_id="00Q000000000001", mapping="crm-person", remote_version="v7",
                    synced_at=BASE, snapshot={"Email": "ada@example.com", "LastName": "Lovelace",
                                              "Company": "<i>Engines</i>"}))
        db.add(Link(hub_object="person", hub_id=person.id, connection="webinar",
                    remote_object="Registrant", remote_id="reg-9", mapping="webinar-person",
                    synced_at=BASE + timedelta(minutes=5), snapshot={}))
        db.add(Audit(at=BASE, actor="sync", action="link.converted", target=person.id,
                     detail={"from": "Lead 00Q000000000001", "to": "Contact 003000000000001"}))
    return person


def test_person_page_shows_fields_links_and_snapshots(client: FlaskClient, ada: Person) -> None:
    html = get(client, f"/records/person/{ada.id}")
    assert "<h1>Ada Lovelace" in html and ada.id in html
    assert "<code>email</code></th><td class=\"value\">ada@example.com</td>" in html
    assert ('<code>attributes.webinar</code></th><td class="value">&lt;b&gt;Intro&lt;/b&gt;'
            in html)
    assert "crm · Lead <code>00Q000000000001</code>" in html
    assert "webinar · Registrant <code>reg-9</code>" in html
    assert 'href="/runs?mapping=crm-person"' in html and "v7" in html
    assert "2026-03-01 09:05:00 UTC" in html  # the webinar link's last sync
    assert "<code>LastName</code></th><td class=\"value\">Lovelace</td>" in html
    assert "&lt;i&gt;Engines&lt;/i&gt;" in html and "<i>Engines" not in html
    assert "No snapshot yet" in html  # the webinar link
    assert "link.converted" in html and "Contact 003000000000001" in html
    assert "No sync error has ever been recorded" in html


def test_person_page_lists_its_sync_history(
    client: FlaskClient, ada: Person, add_error: AddError
) -> None:
    by_id = add_error(hub_object="person", hub_id=ada.id, status="resolved", attempts=3,
                      code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
                      history=[{"at": "2026-03-01T09:00:00+00:00", "message": "first"},
                               {"at": "2026-03-01T09:05:00+00:00", "message": "second"}])
    by_email = add_error("webinar-person", direction="to_hub", email="ada@example.com",
                         status="open")
    by_remote = add_error(direction="to_hub", remote_object="Lead", remote_id="00Q000000000001",
                          status="ignored")
    add_error(hub_id="f" * 32, email="someone@example.com")  # someone else
    html = get(client, f"/records/person/{ada.id}")
    ids = [int(i) for i in re.findall(r'href="/errors/(\d+)"', html)]
    assert sorted(ids) == sorted([by_id.id, by_email.id, by_remote.id])
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in html and '<td class="num">3</td>' in html
    assert "2 attempts kept" in html
    for badge in ("badge-resolved", "badge-open", "badge-ignored"):
        assert badge in html


def test_other_hub_objects_have_a_page(client: FlaskClient, engine: Engine) -> None:
    account = Account(name="Analytical Engines Ltd", domain="engines.example")
    with session(engine) as db:
        db.add(account)
    html = get(client, f"/records/account/{account.id}")
    assert "<h1>Analytical Engines Ltd" in html and "Not linked to any remote record yet" in html


@pytest.mark.parametrize(
    "path", ["/records/person/" + "0" * 32, "/records/nothing/abc", "/records/person/" + "x" * 40]
)
def test_unknown_records_are_404(client: FlaskClient, path: str) -> None:
    assert "Not found" in get(client, path, status=404)


def test_lookup_by_email_or_id_redirects_to_the_page(client: FlaskClient, ada: Person) -> None:
    for query in ("ada@example.com", "  ADA@example.com ", ada.id):
        response = client.get("/records", query_string={"q": query})
        assert response.status_code == 302, query
        assert response.headers["Location"] == f"/records/person/{ada.id}"
    html = get(client, "/records?q=nobody@example.com")
    assert "No person with the email <strong>nobody@example.com</strong>" in html
    assert 'name="q"' in get(client, "/records")


def test_lookup_lists_people_sharing_an_email(client: FlaskClient, engine: Engine) -> None:
    live = Person(email="twin@example.com", first_name="Live")
    gone = Person(email="twin@example.com", first_name="Gone", deleted_at=BASE)
    with session(engine) as db:
        db.add_all([live, gone])
    html = get(client, "/records?q=twin@example.com")
    ids = re.findall(r'href="/records/person/([0-9a-f]{32})"', html)
    assert ids == [live.id, gone.id]  # live ones first


def test_overview_has_the_lookup_box(client: FlaskClient) -> None:
    html = get(client, "/")
    assert 'action="/records"' in html and 'name="q"' in html


def test_dynamics_links_open_the_record_in_dynamics(
    app: Flask, client: FlaskClient, ada: Person, engine: Engine, tmp_path: Path
) -> None:
    use_files(app, tmp_path, {
        "crm": {"type": "dynamics", "url": "https://org.crm.dynamics.com",
                "token_url": "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                "client_id": "cid", "client_secret": "dyn-secret-Qw12"},
        "webinar": {"type": "memory", "path": str(tmp_path / "webinar.json")},
    })
    html = get(client, f"/records/person/{ada.id}")
    assert ('href="https://org.crm.dynamics.com/main.aspx?etn=Lead&amp;id=00Q000000000001'
            '&amp;pagetype=entityrecord"') in html
    assert html.count("open in ") == 1  # the memory connection has no UI
    assert "dyn-secret-Qw12" not in html

"""The mapping page's Resync button: admins ask, the next cycle does it, the page says which."""

from __future__ import annotations

import re
import shutil
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from core.models import Audit, ResyncRequest
from dashboard.audit_text import describe
from tests.dashboard.forms import post

REPO_MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
PAGE = "/mappings/salesforce-lead"


@pytest.fixture
def folder(app: Flask, tmp_path: Path) -> Path:
    directory = tmp_path / "mappings"
    shutil.copytree(REPO_MAPPINGS, directory, ignore=shutil.ignore_patterns("*.py", "__*"))
    app.config["MAPPINGS_DIR"] = str(directory)
    app.config["CONNECTIONS"] = str(tmp_path / "no-connections.yaml")
    return directory


def _text(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def _requests(engine: Engine) -> list[ResyncRequest]:
    with Session(engine) as session:
        return list(session.exec(select(ResyncRequest)))


def test_an_admin_asks_for_a_resync_and_sees_it_pending_then_done(
    client: FlaskClient, folder: Path, engine: Engine
) -> None:
    html = client.get(PAGE).get_data(as_text=True)
    assert 'id="resync-form"' in html and 'value="Score__c"' in html

    response = post(client, f"{PAGE}/resync", {"fields": ["Score__c", "Title"],
                                               "since": "2026-01-15"}, follow_redirects=True)

    assert response.status_code == 200
    page = unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    assert "Resync of salesforce-lead requested (Score__c, Title, records changed since " \
           "2026-01-15)" in page
    [asked] = _requests(engine)
    assert (asked.mapping, asked.fields, asked.requested_by) == (
        "salesforce-lead", ["Score__c", "Title"], "admin@example.com")
    assert asked.since is not None and asked.since.date().isoformat() == "2026-01-15"
    text = _text(client, PAGE)
    assert "admin@example.com Score__c, Title 2026-01-15 pending the next cycle does it" in text
    with Session(engine) as session:
        [audit] = session.exec(select(Audit).where(Audit.action == "mapping.resync")).all()
        assert audit.target == "salesforce-lead"
    assert describe(audit) == ("Asked for a resync of salesforce-lead (Score__c, Title, "
                               "records changed since 2026-01-15).")

    with Session(engine) as session:  # what the mapping's next cycle does with it
        row = session.get(ResyncRequest, asked.id)
        assert row is not None
        row.done_at = utcnow()
        session.add(row)
        session.commit()
    assert "pending" not in _text(client, PAGE).split("Resync", 1)[1].split("Preview")[0]
    assert " done " in _text(client, PAGE)


def test_no_field_chosen_asks_for_every_field_and_a_bad_field_is_refused(
    client: FlaskClient, folder: Path, engine: Engine
) -> None:
    response = post(client, f"{PAGE}/resync", {"fields": ["Shoe_Size__c"]},
                    follow_redirects=True)
    assert "No resync requested" in unescape(response.get_data(as_text=True))
    assert "'Shoe_Size__c' is not a field row" in unescape(response.get_data(as_text=True))
    assert _requests(engine) == []

    post(client, f"{PAGE}/resync", {})
    [asked] = _requests(engine)
    assert (asked.fields, asked.since) == ([], None)


def test_viewers_see_no_button_and_cannot_post_one(
    viewer_client: FlaskClient, folder: Path, engine: Engine
) -> None:
    html = viewer_client.get(PAGE).get_data(as_text=True)
    assert 'id="resync-form"' not in html
    assert post(viewer_client, f"{PAGE}/resync", {}).status_code == 403
    assert _requests(engine) == []


def test_a_post_without_the_csrf_token_is_refused(
    client: FlaskClient, folder: Path, engine: Engine
) -> None:
    assert client.post(f"{PAGE}/resync", data={}).status_code in (400, 403)
    assert _requests(engine) == []

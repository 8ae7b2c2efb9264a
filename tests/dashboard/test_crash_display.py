"""A cycle that crashes shows one clear line on every page; the detail is folded, and no page
ever shows the database's statement or its parameters (ids, emails, values)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, insert
from sqlmodel import Session

from core.models import Person
from jobs.push import PushPhase
from tests.jobs.harness import Harness

PAGES = ("/", "/runs", "/runs/{run}", "/errors", "/errors/groups", "/errors/{error}",
         "/errors?status=all&level=job")


@pytest.fixture
def crashed(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """A run of crm-person that broke on a real unique key while recording its results."""
    h = Harness(engine, tmp_path)
    ann = h.add_person(email="ann@acme.com", last_name="Lee", company="Acme")
    original = PushPhase._record

    def record_with_a_bug(self: PushPhase, session: Session, *args: Any) -> None:
        # A bug writing the same person twice: the driver's text names the statement and
        # its bound values, as the demo's link crash did.
        session.execute(
            insert(Person).values(id=ann, email="ann@acme.com", last_name="Leaky-Parameter")
        )
        original(self, session, *args)

    monkeypatch.setattr(PushPhase, "_record", record_with_a_bug)
    report = h.run()
    assert report.status == "failed"
    return h


def test_a_crash_reads_as_one_line_with_the_detail_folded(
    crashed: Harness, client: FlaskClient
) -> None:
    [run] = crashed.runs()
    [error] = crashed.errors()
    expected = (
        "the hub database refused a write: a second person row with the same id as an "
        "existing one"
    )
    assert run.message is not None and run.message.startswith(expected)
    assert run.message.endswith("(IntegrityError)") and "\n" not in run.message
    assert (error.level, error.kind, error.code, error.message) == (
        "job", "system", "IntegrityError", run.message,
    )
    assert error.payload is not None
    assert error.payload["exception"] == "sqlalchemy.exc.IntegrityError"
    assert error.payload["statement"] == "INSERT INTO person"
    assert any("test_crash_display.py" in frame for frame in error.payload["traceback"])

    for url in (f"/runs/{run.id}", f"/errors/{error.id}"):
        html = client.get(url).get_data(as_text=True)
        assert expected in html, url
        folded = html.split('<details class="technical" id="technical-detail">', 1)
        assert len(folded) == 2, f"{url}: the technical detail is folded"
        assert "INSERT INTO person" in folded[1].split("</details>", 1)[0]


def test_no_page_shows_the_statement_or_its_parameters(
    crashed: Harness, client: FlaskClient
) -> None:
    [run] = crashed.runs()
    [error] = crashed.errors()
    for page in PAGES:
        url = page.format(run=run.id, error=error.id)
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        for leak in ("[SQL:", "[parameters:", "Leaky-Parameter", "ann@acme.com", "VALUES ("):
            assert leak not in html, f"{url} shows {leak!r}"


def test_a_failed_request_logs_its_traceback_without_credentials(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> str:
        raise RuntimeError("GET https://login.example.com/token?password=pw-tb-8c1&user=ann")

    app.add_url_rule("/broken-for-test", view_func=broken)
    app.testing = False  # as in production: the error is logged and answered with a 500
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/broken-for-test")

    assert response.status_code == 500
    logged = caplog.text
    assert "Exception on /broken-for-test [GET]" in logged and "Traceback" in logged
    assert "/token?password=***&user=ann" in logged and "pw-tb-8c1" not in logged

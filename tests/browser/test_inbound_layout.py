"""At 1366 px the Inbound page and a webhook request's error page fit the window."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from sqlmodel import Session

from app import create_app
from core.accounts import add_user
from core.clock import utcnow
from inbound import tally
from jobs.engine import run_mapping
from tests.browser.conftest import LiveServer
from tests.inbound.forms import SOURCE, context, source_settings, submit, write_mapping

PASSWORD = "browser-inbound-password"
WIDTH, HEIGHT = 1366, 768
LONG = "maximiliana.konstantina.josephine-annabella@subsidiary.example-enterprises.co.uk"


@pytest.fixture
def live(sqlite_engine: Engine, tmp_path: Path) -> Iterator[LiveServer]:
    connections = tmp_path / "connections.yaml"
    connections.write_text(yaml.safe_dump({
        SOURCE: source_settings(),
        "partner-portal-registrations-emea": {**source_settings(), "scheme": "standard"},
    }))
    for n in range(30):
        submit(sqlite_engine, {"email": f"{n}.{LONG}", "first_name": "Maximiliana",
                               "utm": {"source": "linkedin", "campaign": "x" * 120}},
               event_id=f"msg_{n}_" + "0123456789abcdef" * 4)
    submit(sqlite_engine, {"email": "bo@acme.com", "first_name": "B" * 81,
                           "message": "a long message " * 200}, event_id="failing")
    run_mapping(context(sqlite_engine, tmp_path), "website-forms-person")
    now = utcnow()
    with Session(sqlite_engine) as session:
        for hours in range(24):
            for outcome in tally.OUTCOMES:
                for _ in range(1 + (hours * 7 + len(outcome)) % 5):
                    tally.count(session, SOURCE, outcome, now - timedelta(hours=hours))
        session.commit()
    add_user(sqlite_engine, "admin@example.com", PASSWORD, "admin")
    app = create_app({"SECRET_KEY": "browser-inbound", "DATABASE_URL": str(sqlite_engine.url),
                      "MAPPINGS_DIR": str(write_mapping(tmp_path / "mappings")),
                      "CONNECTIONS": str(connections)})
    app.extensions["syncline.engine"].dispose()
    app.extensions["syncline.engine"] = sqlite_engine
    with LiveServer(app) as server:
        yield server


def _fits(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{name}: {scroll} px wide in a {inner} px window"


def test_the_inbound_page_and_a_requests_error_fit_a_1366_window(
    browser: Any, live: LiveServer, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("SYNCLINE_SCREENSHOTS", tmp_path / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    page.goto(live.url + "/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live.url + "/")

    page.click("nav >> text=Inbound")
    page.wait_for_url(live.url + "/inbound")
    _fits(page, shots, "inbound")
    assert page.locator(f"#source-{SOURCE} svg").count() == 1
    assert page.locator(f"#source-{SOURCE} .badge-failed").count() == 1

    page.locator(f"#source-{SOURCE} a", has_text="error").first.click()
    _fits(page, shots, "inbound-error")
    body = page.locator("#inbound-body").inner_text()
    assert json.loads(body)["email"] == "bo@acme.com"
    page.click("#replay-form button")
    assert "Replaying request" in page.locator(".flash").inner_text()
    page.close()

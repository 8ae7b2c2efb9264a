"""In a real browser, the way an admin works a sync problem: find it, understand it, fix, retry."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image, ImageStat
from sqlalchemy import Engine

from app import create_app
from core.accounts import add_user
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.browser.conftest import LiveServer
from tests.e2e.harness import SalesforceHub

PASSWORD = "browser-test-password"
PICKLIST = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sf(sqlite_engine: Engine, tmp_path: Path, sandbox: SalesforceSandbox) -> SalesforceHub:
    sandbox.state.reset()
    return SalesforceHub(sqlite_engine, tmp_path, sandbox)


@pytest.fixture
def server(sf: SalesforceHub, tmp_path: Path) -> Iterator[LiveServer]:
    connections = tmp_path / "connections.yaml"
    connections.write_text(yaml.safe_dump({"salesforce": sf.settings()}), encoding="utf-8")
    add_user(sf.engine, "admin@example.com", PASSWORD, "admin")
    app = create_app({
        "SECRET_KEY": "browser-tests",
        "DATABASE_URL": str(sf.engine.url),
        "MAPPINGS_DIR": str(sf.folder),
        "CONNECTIONS": str(connections),
    })
    app.extensions["syncline.engine"].dispose()
    app.extensions["syncline.engine"] = sf.engine
    with LiveServer(app) as live:
        yield live


def person(sf: SalesforceHub, n: int, **values: Any) -> str:
    fields = {"email": f"person{n}@example.com", "first_name": f"P{n}", "last_name": "Lee",
              "company": "Acme", "lead_source": "Webinar", "score": 70, "aql": True}
    return sf.add_person(**{**fields, **values})


def log_in(page: Any, url: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url + "/")


def test_an_admin_finds_the_cause_fixes_the_mapping_retries_and_exports(
    browser: Any, sf: SalesforceHub, server: LiveServer, tmp_path: Path
) -> None:
    podcast = {person(sf, n, lead_source="Podcast") for n in range(3)}
    person(sf, 3, phone="call me maybe")  # a second cause: a phone that cannot be read
    person(sf, 4)  # and one that goes through
    first = sf.run("salesforce-lead")
    # Every Lead goes; the fields Salesforce refused (and the unreadable phone) stay behind.
    assert (first.created_remote, first.failed) == (5, 4)

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    log_in(page, server.url)

    # 1. Errors grouped by cause: two causes; the picklist one holds the three Podcast people.
    page.click("nav >> text=Errors")
    page.click("#group-by-cause")
    causes = page.locator("tr.cause")
    assert causes.count() == 2
    picklist = page.locator(f"tr.cause:has-text('{PICKLIST}')")
    assert picklist.get_attribute("data-count") == "3"
    assert "LeadSource" in picklist.inner_text()

    # 2. Filter the list to that one cause, then open an error.
    picklist.locator("text=Show errors").click()
    rows = page.locator("table tbody tr")
    assert rows.count() == 3
    listed = page.inner_text("table tbody")
    assert all(f"person{n}@example.com" in listed for n in range(3))
    assert "person3@example.com" not in listed
    rows.first.locator("a[href^='/errors/']").first.click()
    detail = page.inner_text("main")
    assert "Lead Source: bad value for restricted picklist field: Podcast" in detail
    assert "value_map" in detail, "the hint says what to add"

    # 3. Fix the mapping in the editor, reached from the error: the lead_source row gets a
    #    value_map entry.
    page.click("#fix-in-editor")
    assert page.url.endswith("/mappings/salesforce-lead/edit#row-lead_source")
    value_map = page.locator("#row-lead_source textarea")
    value_map.fill(value_map.input_value() + "\nPodcast = Other")
    page.click("#save")
    assert "Saved" in page.inner_text("main")
    saved = (sf.folder / "salesforce-lead.yaml").read_text(encoding="utf-8")
    assert "Podcast: Other" in saved
    assert "# Lead Source is a restricted picklist" in saved, "comments are kept"

    # 4. Retry the whole group; the next cycle sends the three with the mapped value.
    page.goto(server.url + "/errors/groups")
    page.locator(f"tr.cause:has-text('{PICKLIST}')").locator("text=Retry group").click()
    assert "3" in page.inner_text(".flash")
    sf.reload()
    retried = sf.run("salesforce-lead")
    assert (retried.updated_remote, retried.failed) == (3, 0), "the phone error waits for a fix"
    assert {sf.lead_by_email(f"person{n}@example.com")["LeadSource"] for n in range(3)} == {
        "Other"}

    page.goto(server.url + "/errors/groups")
    assert page.locator("tr.cause").count() == 1, "only the phone cause is still open"
    page.goto(server.url + "/errors?status=resolved&code=FIELD_REFUSED")
    assert page.locator("table tbody tr").count() == 3

    # 5. Export the current filter as CSV: the same three rows, resolved.
    with page.expect_download() as download:
        page.click("#export-csv")
    path = tmp_path / "errors.csv"
    download.value.save_as(path)
    exported = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert sorted(r["email"] for r in exported) == [f"person{n}@example.com" for n in range(3)]
    assert {(r["status"], r["code"], r["field"]) for r in exported} == {
        ("resolved", "FIELD_REFUSED", "LeadSource")}
    assert all(r["message"].startswith(PICKLIST) for r in exported)
    assert {r["hub_id"] for r in exported} == podcast

    # 6. The overview, with its chart, is actually drawn.
    page.goto(server.url + "/")
    assert page.locator("svg").count() >= 1
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("L")
    assert shot.getextrema()[0] < 100 and ImageStat.Stat(shot).stddev[0] > 5
    page.close()

"""The editor against a live remote schema: the Salesforce sandbox's describe, in-process.

Covers the remote field picker, the remote check before saving (the CLI's
``check_against_remote``), an unreachable remote, and the issue's story: a Podcast lead fails
on Salesforce's restricted picklist, the admin maps Podcast to Other, the next sync succeeds.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors import build_connector
from core.hubschema import HubSchema
from core.models import Person, SyncError
from jobs import triage
from jobs.engine import SyncContext, run_mapping
from jobs.report import RunReport
from mappings.loader import load_mappings
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.dashboard.test_mappings import (
    REPO_MAPPINGS,
    form_fields,
    get,
    row_of,
    submit,
    visible,
)


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[SalesforceSandbox]:
    with SalesforceSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(shared_sandbox: SalesforceSandbox) -> Iterator[SalesforceSandbox]:
    shared_sandbox.state.reset()
    yield shared_sandbox
    shared_sandbox.state.reset()


def settings(sandbox: SalesforceSandbox, **extra: Any) -> dict[str, Any]:
    """The connection entry an admin would write for the sandbox."""
    return {"type": "salesforce", "login_url": sandbox.url, "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret, "username": sandbox.username,
            "password": sandbox.password, "security_token": sandbox.security_token,
            "bulk_poll_seconds": 0.01, **extra}


@pytest.fixture
def folder(app: Flask, tmp_path: Path, sandbox: SalesforceSandbox) -> Path:
    """The shipped Salesforce mappings and a connections file pointing at the sandbox."""
    directory = tmp_path / "mappings"
    directory.mkdir()
    for path in [REPO_MAPPINGS / "hub.yaml", *REPO_MAPPINGS.glob("salesforce-*.yaml")]:
        shutil.copyfile(path, directory / path.name)
    connections = tmp_path / "connections.yaml"
    connections.write_text(yaml.safe_dump({"salesforce": settings(sandbox)}))
    app.config["MAPPINGS_DIR"] = str(directory)
    app.config["CONNECTIONS"] = str(connections)
    return directory


def sync(engine: Engine, folder: Path, sandbox: SalesforceSandbox) -> RunReport:
    """One cycle of salesforce-lead with the files as they are now (as the scheduler would)."""
    schema = HubSchema.load(folder / "hub.yaml")
    mappings = load_mappings(folder, hub_schema=schema)
    ctx = SyncContext(engine, mappings, schema, lambda name: build_connector(name,
                                                                            settings(sandbox)))
    return run_mapping(ctx, "salesforce-lead")


def test_remote_fields_come_from_describe(client: FlaskClient, folder: Path) -> None:
    html = get(client, "/mappings/salesforce-lead/edit")
    assert "Remote fields of salesforce Lead from describe" in html
    assert '<option value="LeadSource">' in html and '<option value="Syncline_Id__c">' in html
    assert 'list="remote-fields"' in html and "schema not available" not in html


def test_the_remote_check_flags_an_unknown_remote_field(client: FlaskClient, folder: Path) -> None:
    path = folder / "salesforce-lead.yaml"
    before = path.read_bytes()
    fields = form_fields(get(client, "/mappings/salesforce-lead/edit"))
    fields[f"rows-{row_of(fields, 'title')}-remote"] = "JobTitle"
    html = submit(client, "salesforce-lead", fields, "save", status=422)
    assert ("salesforce-lead.yaml:23 fields.title.remote: Lead has no field 'JobTitle'"
            in visible(html))
    assert path.read_bytes() == before


def test_warnings_are_shown_and_do_not_block_a_save(client: FlaskClient, folder: Path) -> None:
    fields = form_fields(get(client, "/mappings/salesforce-lead/edit"))
    # 120 characters into City (40 on the org): a warning, so the save goes ahead and says so.
    fields[f"rows-{row_of(fields, 'city')}-transform"] = "truncate: 120"
    html = submit(client, "salesforce-lead", fields, "validate", status=200)
    assert "warning(s) — shown, but a save goes ahead" in html
    assert "truncates to 120 characters, City only 40" in visible(html)
    submit(client, "salesforce-lead", fields, "save", status=302)
    page = visible(get(client, "/mappings/salesforce-lead"))
    assert "1 warning(s) were shown and did not block the save" in page
    assert "{truncate: 120}" in (folder / "salesforce-lead.yaml").read_text()


def test_an_unreachable_remote_leaves_the_editor_usable(
    client: FlaskClient, folder: Path, sandbox: SalesforceSandbox, app: Flask
) -> None:
    connections = Path(app.config["CONNECTIONS"])
    connections.write_text(yaml.safe_dump(
        {"salesforce": settings(sandbox, login_url="http://127.0.0.1:9")}))
    html = get(client, "/mappings/salesforce-lead/edit")
    assert "schema not available:" in html
    assert sandbox.password not in html and sandbox.client_secret not in html
    fields = form_fields(html)
    fields[f"rows-{row_of(fields, 'lead_source')}-value_map"] += "\nPodcast = Other"
    submit(client, "salesforce-lead", fields, "save", status=302)
    assert "Podcast: Other" in (folder / "salesforce-lead.yaml").read_text()
    # Fixed: the cached failure stays until "Refresh schema" asks again.
    connections.write_text(yaml.safe_dump({"salesforce": settings(sandbox)}))
    fields = form_fields(get(client, "/mappings/salesforce-lead/edit"))
    html = submit(client, "salesforce-lead", fields, "refresh_schema", status=200)
    assert "schema not available" not in html and '<option value="LeadSource">' in html


def test_mapping_podcast_to_other_makes_the_next_sync_succeed(
    client: FlaskClient, folder: Path, engine: Engine, sandbox: SalesforceSandbox
) -> None:
    with Session(engine) as db:
        db.add(Person(email="priya@podcastnation.io", first_name="Priya", last_name="Raman",
                      company="Podcast Nation", lead_source="Podcast", score=80,
                      phone="+14155550100", lifecycle_stage="MQL"))
        db.commit()
    first = sync(engine, folder, sandbox)
    # The Lead goes without its lead source; that one field has its own error.
    assert first.failed == 1 and first.created_remote == 1
    with Session(engine) as db:
        error = db.exec(select(SyncError)).one()
    assert (error.code, error.field) == ("FIELD_REFUSED", "LeadSource")
    assert "restricted picklist" in error.message and "Podcast" in error.message

    html = get(client, "/mappings/salesforce-lead/edit")
    fields = form_fields(html)
    n = row_of(fields, "lead_source")
    assert f'name="rows-{n}-value_map"' in html and 'id="row-lead_source"' in html
    fields[f"rows-{n}-value_map"] += "\nPodcast = Other"
    submit(client, "salesforce-lead", fields, "save", status=302)

    # Then presses "retry" on the error, as its hint says.
    assert triage.retry(engine, triage.ErrorFilter(mapping="salesforce-lead"), "admin") == 1
    second = sync(engine, folder, sandbox)
    assert second.failed == 0 and second.updated_remote == 1, second
    with sandbox.state.org_lock:
        leads = [dict(r) for r in sandbox.org.rows("Lead")
                 if r.get("Email") == "priya@podcastnation.io"]
    assert [lead["LeadSource"] for lead in leads] == ["Other"]

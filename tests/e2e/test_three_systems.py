"""Salesforce, the hub and Dynamics together: a person travels across all three and settles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core.field_history import line
from core.models import FieldHistory
from lifecycle.loader import load_lifecycle
from sandboxes.dynamics.sandbox import DynamicsSandbox
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.e2e.dynamics_harness import DynamicsHub

#: The shipped files this sync loads, and the order a user would run them in.
THREE_WAY = ("salesforce-lead", "dynamics-lead")
SHIPPED = Path(__file__).resolve().parents[2] / "mappings"


@pytest.fixture(scope="module")
def shared_dataverse() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as dataverse:
        yield dataverse


@pytest.fixture
def dataverse(shared_dataverse: DynamicsSandbox) -> Iterator[DynamicsSandbox]:
    """The module's Dataverse sandbox with an empty environment and no faults."""
    shared_dataverse.state.reset()
    yield shared_dataverse
    shared_dataverse.state.reset()


@pytest.fixture
def hub(engine: Engine, tmp_path: Path, sandbox: SalesforceSandbox,
        dataverse: DynamicsSandbox) -> DynamicsHub:
    """The hub (SQLite and PostgreSQL) between a Salesforce org and a Dynamics environment.

    ``sandbox`` is the e2e package's Salesforce org, emptied for each test.
    """
    hub = DynamicsHub(engine, tmp_path, dataverse, THREE_WAY, salesforce=sandbox)
    # The shipped lifecycle stages run between a cycle's pulls and pushes, as in the scheduler.
    hub.ctx.lifecycle = load_lifecycle(SHIPPED / "lifecycle.yaml", hub_schema=hub.ctx.schema)
    return hub


def test_a_salesforce_lead_reaches_dynamics_and_a_dynamics_edit_reaches_salesforce(
    hub: DynamicsHub,
) -> None:
    # Salesforce has a lead marked marketing qualified: the hub's lifecycle makes the person
    # an MQL, which is what the shipped dynamics-lead sync_rule lets out.
    sf_lead = hub.sf_insert("Lead", {
        "FirstName": "Ann", "LastName": "Lee", "Company": "Acme", "Email": "ann@acme.com",
        "Phone": "+14155550100", "Title": "Manager",
        "Status": hub.mapped("salesforce-lead", "lead_status", "MQL")})

    cycles = [hub.run_all(THREE_WAY)]
    if not hub.rows("lead"):
        cycles.append(hub.run_all(THREE_WAY))

    assert all(r.status == "success" for c in cycles for r in c), [
        (r.mapping, r.status, r.message) for c in cycles for r in c]
    person = hub.person_by_email("ann@acme.com")
    assert person.lifecycle_stage == "MQL"
    dyn_lead = hub.lead_by_email("ann@acme.com")
    assert dyn_lead["syncline_hubid"] == person.id
    assert (dyn_lead["firstname"], dyn_lead["lastname"], dyn_lead["jobtitle"]) == (
        "Ann", "Lee", "Manager")
    assert hub.remote_ids(person.id) == {"Lead": sf_lead, "lead": dyn_lead["leadid"]}

    # A Dynamics rep changes the job title: it reaches the hub, then Salesforce's Title.
    hub.update("lead", dyn_lead["leadid"], {"jobtitle": "VP Marketing"})
    for _ in range(2):
        hub.run_all(THREE_WAY)

    assert hub.person(person.id).title == "VP Marketing"
    assert hub.sf_get("Lead", sf_lead)["Title"] == "VP Marketing"

    settled = [r for _ in range(2) for r in hub.run_all(THREE_WAY)]

    assert sum(r.writes for r in settled) == 0, [(r.mapping, r.writes) for r in settled]
    assert all(r.status == "success" and r.failed == 0 for r in settled)
    assert [r["Id"] for r in hub.sf_rows("Lead")] == [sf_lead], "one record in Salesforce"
    assert [r["leadid"] for r in hub.rows("lead")] == [dyn_lead["leadid"]], "one in Dynamics"
    assert [p.id for p in hub.people()] == [person.id], "one person in the hub"
    assert hub.errors("open", "retrying") == []


def test_a_company_edit_made_in_dynamics_that_salesforce_overrules_says_why(
    hub: DynamicsHub,
) -> None:
    """Both shipped lead mappings prefer their own CRM's Company: the history tells the story."""
    sf_lead = hub.sf_insert("Lead", {
        "FirstName": "Ann", "LastName": "Lee", "Company": "Acme", "Email": "ann@acme.com",
        "Phone": "+14155550100", "Status": hub.mapped("salesforce-lead", "lead_status", "MQL")})
    for _ in range(2):
        hub.run_all(THREE_WAY)
    person = hub.person_by_email("ann@acme.com")
    dyn_lead = hub.lead_by_email("ann@acme.com")
    assert dyn_lead["companyname"] == "Acme"

    hub.update("lead", dyn_lead["leadid"], {"companyname": "Newco Group"})
    for _ in range(3):
        hub.run_all(THREE_WAY)

    assert hub.person(person.id).company == "Acme", "Salesforce's rule put its value back"
    assert hub.sf_get("Lead", sf_lead)["Company"] == "Acme"
    with Session(hub.engine) as session:
        rows = list(session.exec(
            select(FieldHistory)
            .where(FieldHistory.hub_id == person.id, FieldHistory.field == "company")
            .order_by(col(FieldHistory.id))))
    told = [line(r) for r in rows]
    came = next(r for r in rows if r.direction == "to_hub" and r.mapping == "dynamics-lead")
    assert (came.old, came.new, came.source) == ("Acme", "Newco Group", "dynamics"), told
    back = next(r for r in rows if r.direction == "to_hub" and r.mapping == "salesforce-lead"
                and r.id > came.id)
    assert (back.old, back.new, back.source) == ("Newco Group", "Acme", "salesforce"), told
    assert back.reason == ("salesforce-lead's rule prefer_remote_unless_blank: salesforce "
                           "holds a value, so it stands"), told
    kept = rows[-1]
    assert (kept.direction, kept.old, kept.new, kept.mapping) == (
        "kept", "Acme", "Newco Group", "dynamics-lead"), told
    assert "the hub's value came from salesforce-lead" in kept.reason, told

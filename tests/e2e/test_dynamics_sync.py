"""The engine, the shipped Dynamics mappings and the real connector on the Dataverse sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.e2e.dynamics_harness import DynamicsHub


@pytest.fixture(scope="module")
def shared_dataverse() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def dataverse(shared_dataverse: DynamicsSandbox) -> Iterator[DynamicsSandbox]:
    """The module's sandbox with an empty environment, no faults and fresh request counts."""
    shared_dataverse.state.reset()
    yield shared_dataverse
    shared_dataverse.state.reset()


@pytest.fixture
def crm(engine: Engine, tmp_path: Path, dataverse: DynamicsSandbox) -> DynamicsHub:
    """The hub (SQLite and PostgreSQL), the shipped Dynamics people mappings, the sandbox."""
    return DynamicsHub(engine, tmp_path, dataverse)


def ann(crm: DynamicsHub, **values: Any) -> str:
    """A marketing-qualified hub person (the shipped lead mapping's sync_rule lets her out)."""
    fields: dict[str, Any] = {
        "email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee", "company": "Acme",
        "phone": "(415) 555-0100", "lead_source": "Webinar", "score": 70,
    }
    return crm.add_person(**{**fields, **values})


def test_a_hub_person_becomes_a_lead_edits_flow_both_ways_then_nothing_moves(
    crm: DynamicsHub,
) -> None:
    person_id = ann(crm)

    first = crm.run()

    assert (first.status, first.created_remote) == ("success", 1), first.message
    lead = crm.lead_by_email("ann@acme.com")
    assert lead["syncline_hubid"] == person_id
    assert (lead["firstname"], lead["lastname"], lead["companyname"]) == ("Ann", "Lee", "Acme")
    assert lead["telephone1"] == "+14155550100", "phones go out in E.164"
    seminar = crm.mapped("dynamics-lead", "lead_source", "Webinar")
    assert lead["leadsourcecode"] == crm.option_value("lead", "leadsourcecode", seminar), (
        "the label in the value_map is stored as its option number")
    assert lead["subject"] == "Marketing lead: Webinar", "the expr row"
    assert crm.remote_ids(person_id) == {"lead": lead["leadid"]}

    crm.update("lead", lead["leadid"], {"jobtitle": "VP Marketing", "address1_city": "Oakland"})
    second = crm.run()
    assert (second.status, second.updated_hub, second.updated_remote) == ("success", 1, 0)
    person = crm.person(person_id)
    assert (person.title, person.city) == ("VP Marketing", "Oakland")

    crm.edit_person(person_id, first_name="Annie", phone="+1 415 555 0199")
    third = crm.run()
    assert (third.status, third.updated_remote, third.updated_hub) == ("success", 1, 0)
    lead = crm.get("lead", lead["leadid"])
    assert (lead["firstname"], lead["telephone1"]) == ("Annie", "+14155550199")

    idle = crm.run()
    assert (idle.status, idle.writes, idle.failed) == ("success", 0, 0), "no ping-pong"
    assert idle.api_calls <= 1, "an idle cycle reads its delta link, nothing more"
    assert len(crm.rows("lead")) == 1 and len(crm.people()) == 1

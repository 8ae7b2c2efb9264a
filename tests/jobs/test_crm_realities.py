"""What real CRMs do to synced records: conversions, merges, API budgets, references that lag."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from connectors.base import ApiUsage, Change, Cursor, Page
from connectors.filters import Filter
from connectors.memory.connector import MemoryConnector
from core.models import Audit, CampaignMember, ConnectionStatus, Link
from jobs import budget
from tests.jobs.harness import Harness, mapping

CONTACT_MAPPING: dict[str, Any] = {
    "name": "crm-contact",
    "connection": "crm",
    "hub_object": "person",
    "remote_object": "Contact",
    "identity": {"external_id": "Syncline_Id__c", "match": ["email"]},
    "create": {"remote": False, "hub": True},
    "fields": [
        {"hub": "email", "remote": "Email", "transform": ["strip", "lower"]},
        {"hub": "first_name", "remote": "FirstName"},
        {"hub": "last_name", "remote": "LastName", "default": "[unknown]"},
        {"hub": "title", "remote": "Title"},
    ],
}


class CrmConnector(MemoryConnector):
    """The memory connector plus what Salesforce adds: successors and a reported allowance."""

    successors: dict[str, tuple[str, str]] = {}
    reported: ApiUsage | None = None
    checks = 0

    def read_changes(
        self,
        object_name: str,
        since: Cursor | None,
        *,
        fields: Sequence[str] | None = None,
        where: Filter | None = None,
    ) -> Iterator[Page]:
        for page in super().read_changes(object_name, since, fields=fields, where=where):
            yield Page(
                [
                    Change(c.key, c.op, c.fields, c.modified_at, c.version,
                           successor=self.successors.get(c.key))
                    for c in page.changes
                ],
                page.cursor,
            )

    def check(self) -> None:
        type(self).checks += 1
        super().check()

    def usage(self) -> ApiUsage | None:
        return type(self).reported


@pytest.fixture
def h(engine: Engine, tmp_path: Path) -> Iterator[Harness]:
    harness = Harness(engine, tmp_path, mapping(create={"remote": True, "hub": True,
                                                        "unless_linked_to": ["Contact"]}),
                      CONTACT_MAPPING)
    CrmConnector.successors, CrmConnector.reported, CrmConnector.checks = {}, None, 0

    def connect(name: str) -> MemoryConnector:
        config = {"type": "memory", "store": harness.stores[name]}
        connector = CrmConnector(name, config)
        connector.api_budget = 0.8
        harness.connectors.append(connector)
        return connector

    harness.ctx.connect = connect
    yield harness


def _links(h: Harness, person_id: str) -> dict[str, str]:
    return {link.remote_object: link.remote_id for link in h.links() if link.hub_id == person_id}


def test_a_converted_lead_moves_the_person_to_its_contact_and_no_new_lead_is_made(
    h: Harness,
) -> None:
    ann = h.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme")
    h.run("crm-person")
    lead_key = _links(h, ann)["Lead"]
    # Sales converts the lead: a Contact appears, the Lead reports where it went.
    contact_key = h.crm.create(
        "Contact", {"Email": "ann@acme.com", "FirstName": "Ann", "LastName": "Lee"}
    )
    h.crm.update("Lead", lead_key, {"Status": "Qualified"})
    CrmConnector.successors = {lead_key: ("Contact", contact_key)}

    h.run("crm-person")
    assert _links(h, ann) == {"Contact": contact_key}

    h.edit_person(ann, title="CMO")
    report = h.run("crm-person")
    assert report.created_remote == 0 and len(h.leads()) == 1, "no second Lead for a Contact"
    h.run("crm-contact")
    assert h.crm.get("Contact", contact_key)["Title"] == "CMO", "the Contact mapping took over"
    assert len(h.people()) == 1
    with Session(h.engine) as session:
        audit = session.exec(select(Audit).where(Audit.action == "link.converted")).one()
    assert audit.detail["to"] == f"Contact {contact_key}"


def test_a_merged_lead_moves_its_link_to_the_master_or_drops_it(h: Harness) -> None:
    ann = h.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme")
    bo = h.add_person(email="bo@acme.com", first_name="Bo", last_name="Ng", company="Acme")
    h.run("crm-person")
    ann_lead, bo_lead = _links(h, ann)["Lead"], _links(h, bo)["Lead"]
    master = h.crm.create("Lead", {"Email": "annie@acme.com", "LastName": "Lee",
                                   "Company": "Acme"})
    # ann's lead merged into a record the hub never saw; bo's into ann's former lead's master.
    h.crm.delete("Lead", ann_lead)
    h.crm.delete("Lead", bo_lead)
    CrmConnector.successors = {ann_lead: ("Lead", master), bo_lead: ("Lead", master)}

    report = h.run("crm-person")
    assert report.deleted == 0 and h.person(ann).deleted_at is None
    assert _links(h, ann) == {"Lead": master}
    assert "Lead" not in _links(h, bo), "the master already belongs to ann"
    assert h.person(bo).deleted_at is None, "a merge never deletes a hub person"


def test_over_budget_cycles_pause_with_one_job_error_then_resume(h: Harness) -> None:
    CrmConnector.reported = ApiUsage(85_000, 100_000)
    h.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee", company="Acme")
    first = h.run("crm-person")  # learns the usage at the end of the cycle
    assert first.status == "success"
    with Session(h.engine) as session:
        status = session.get(ConnectionStatus, "crm")
        assert (status.api_used, status.api_limit) == (85_000, 100_000)

    paused = h.run("crm-person")
    assert paused.status == "paused" and paused.api_calls == 0, "a fresh reading costs nothing"
    [error] = h.errors("retrying")  # retried on its own: nobody has to press a button
    assert error.code == budget.CODE and "85,000 of its 100,000" in error.message
    assert error.kind == "rate_limited"

    _age_usage(h)
    again = h.run("crm-person")
    assert (again.status, again.api_calls, CrmConnector.checks) == ("paused", 1, 1)
    assert len(h.errors()) == 1, "one row per cause, not one per cycle"

    CrmConnector.reported = ApiUsage(60_000, 100_000)  # calls aged out of the 24-hour window
    _age_usage(h)
    resumed = h.run("crm-person")
    assert resumed.status == "success" and CrmConnector.checks == 2
    assert [e.status for e in h.errors()] == ["resolved"]


def _age_usage(h: Harness) -> None:
    """Pretend the last reading is older than the re-check interval."""
    with Session(h.engine) as session:
        status = session.get(ConnectionStatus, "crm")
        status.usage_at -= budget.RECHECK_EVERY + timedelta(seconds=1)
        session.add(status)
        session.commit()


CAMPAIGN_MAPPING: dict[str, Any] = {
    "name": "crm-campaign",
    "connection": "crm",
    "hub_object": "campaign",
    "remote_object": "Campaign",
    "identity": {"external_id": "Syncline_Id__c", "match": ["name"]},
    "fields": [{"hub": "name", "remote": "Name"}],
}
MEMBER_MAPPING: dict[str, Any] = {
    "name": "crm-member",
    "connection": "crm",
    "hub_object": "campaign_member",
    "remote_object": "CampaignMember",
    "identity": {"external_id": "Syncline_Id__c", "match": []},
    "fields": [
        {"hub": "campaign_id", "remote": "CampaignId", "ref": "crm-campaign"},
        {"hub": "person_id", "remote": "LeadId", "ref": "crm-person"},
        {"hub": "person_id", "remote": "ContactId", "ref": "crm-contact"},
        {"hub": "status", "remote": "Status"},
    ],
}


def test_a_member_whose_campaign_is_not_synced_waits_and_retries(h: Harness) -> None:
    h.set_mappings(mapping(), CONTACT_MAPPING, CAMPAIGN_MAPPING,
                   {**MEMBER_MAPPING, "direction": "to_hub"})
    lead = h.crm.create("Lead", {"Email": "ann@acme.com", "LastName": "Lee", "Company": "Acme"})
    contact = h.crm.create("Contact", {"Email": "bo@acme.com", "LastName": "Ng"})
    campaign = h.crm.create("Campaign", {"Name": "Webinar"})
    h.crm.create("CampaignMember", {"CampaignId": campaign, "LeadId": lead, "Status": "Sent"})
    h.crm.create("CampaignMember", {"CampaignId": campaign, "ContactId": contact,
                                    "Status": "Responded"})
    h.run("crm-person")
    h.run("crm-contact")

    report = h.run("crm-member")  # the campaign has not synced yet
    assert report.failed == 2
    assert {e.code for e in h.errors("retrying")} == {"UNRESOLVED_REFERENCE"}

    h.run("crm-campaign")
    with Session(h.engine) as session:  # pretend the backoff has passed
        for error in h.errors("retrying"):
            error.next_retry_at = error.first_seen
            session.add(error)
        session.commit()
    h.run("crm-member")
    with Session(h.engine) as session:
        members = session.exec(select(CampaignMember)).all()
        people = {link.remote_id: link.hub_id for link in session.exec(select(Link))}
    assert sorted((m.person_id, m.status) for m in members) == sorted(
        [(people[lead], "Sent"), (people[contact], "Responded")]
    ), "LeadId or ContactId: whichever is linked names the person"
    assert h.errors("retrying") == [] and h.errors("open") == []


def test_a_remote_placeholder_never_erases_a_hub_value_when_records_first_link(
    h: Harness,
) -> None:
    """Found by the state machine: the mapping's default ("[not provided]") is not data."""
    h.set_mappings(mapping())
    ann = h.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee")
    h.edit_person(ann, company="Acme")
    # Sales creates the same person later, their form filling Company with our placeholder.
    h.crm.create("Lead", {"Email": "ANN@acme.com", "LastName": "Lee",
                          "Company": "[not provided]"})
    h.run("crm-person")
    assert h.person(ann).company == "Acme"
    assert h.lead_by_email("ann@acme.com")["Company"] == "Acme"


def test_a_delete_read_again_after_unlinking_is_a_no_op(h: Harness) -> None:
    h.set_mappings(mapping())
    key = h.crm.create("Lead", {"Email": "bo@beta.io", "LastName": "Ng", "Company": "Beta"})
    h.run("crm-person")
    h.crm.delete("Lead", key)
    assert h.run("crm-person").status == "success"
    # the inclusive cursor hands the delete over again: nothing to do, and no crash
    again = h.run("crm-person")
    assert again.status == "success" and again.failed == 0
    assert [p.email for p in h.people()] == ["bo@beta.io"], "unlink keeps the person"

"""Campaigns in Dynamics: marketing lists and their members go out, campaign responses come in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.models import Campaign, CampaignMember
from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.e2e.dynamics_harness import DynamicsHub

MAPPINGS = (
    "dynamics-account", "dynamics-contact", "dynamics-lead", "dynamics-campaign",
    "dynamics-list", "dynamics-list-member", "dynamics-campaign-response",
)


@pytest.fixture(scope="module")
def shared_dataverse() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def crm(engine: Engine, tmp_path: Path, shared_dataverse: DynamicsSandbox
        ) -> Iterator[DynamicsHub]:
    shared_dataverse.state.reset()
    yield DynamicsHub(engine, tmp_path, shared_dataverse, MAPPINGS)
    shared_dataverse.state.reset()


def test_members_join_the_marketing_list_and_responses_come_back(crm: DynamicsHub) -> None:
    ann = crm.add_person(email="ann@acme.com", first_name="Ann", last_name="Lee",
                         company="Acme", score=80, lifecycle_stage="MQL")
    bo = crm.add_person(email="bo@acme.com", first_name="Bo", last_name="Ng",
                        company="Acme", score=90, lifecycle_stage="MQL")
    webinar = crm.add(Campaign(name="Pipeline Math 101", type="Webinar", status="Completed"))
    for person in (ann, bo):
        crm.add(CampaignMember(person_id=person, campaign_id=webinar, status="attended"))

    reports = {r.mapping: r for r in crm.run_all()}
    assert reports["dynamics-list-member"].created_remote == 2, reports["dynamics-list-member"]
    [marketing_list] = crm.rows("list")
    assert marketing_list["listname"] == "Pipeline Math 101"
    lead_ids = {crm.lead_by_email(e)["leadid"] for e in ("ann@acme.com", "bo@acme.com")}
    members = [m for m in crm.rows("listmember") if m["_listid_value"] == marketing_list["listid"]]
    assert {m["_entityid_value"] for m in members} == lead_ids
    [campaign] = crm.rows("campaign")

    # Ann answers in Dynamics (her address typed in capitals); a stranger answers too.
    for email in ("ANN@acme.com", "stranger@elsewhere.example"):
        crm.create("campaignresponse", {
            "subject": "Webinar follow-up", "emailaddress": email, "responsecode": 1,
            "regardingobjectid_campaign@odata.bind": f"/campaigns({campaign['campaignid']})",
        })
    report = crm.run("dynamics-campaign-response")

    answered = [m for m in crm.members() if m.status == "responded"]
    assert [(m.person_id, m.campaign_id) for m in answered] == [(ann, webinar)]
    assert report.failed == 1
    [waiting] = crm.errors("retrying")
    assert waiting.code == "UNRESOLVED_REFERENCE" and "emailaddress" in waiting.message
    again = {r.mapping: r for r in crm.run_all()}
    assert sum(r.writes for r in again.values()) == 0, "nothing moves once all is synced"
    assert len(crm.rows("listmember")) == 2, "members are added once"

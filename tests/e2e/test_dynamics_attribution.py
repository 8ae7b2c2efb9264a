"""Attribution of Dynamics 365 deals, through the shipped mappings and the Dataverse sandbox.

A deal opened in Dynamics with its main contact on the deal (``parentcontactid``) and a second
contact connected as a stakeholder: one run of the shipped mappings pulls the deal and its
stakeholder, computes every model of the shipped attribution file, and writes one
``syncline_attribution`` row per contact, campaign and model in ``$batch`` requests. Winning
the deal (Dynamics fills the actual value and close date) moves the revenue; a Salesforce org
beside it gets none of these rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from attribution.engine import settings_in
from core.models import Campaign, CampaignInfluence, Opportunity, Person
from sandboxes.dynamics.sandbox import DynamicsSandbox
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.e2e.dynamics_harness import DynamicsHub
from touches.record import TouchInput, record_touch
from touches.types import Origin

DYNAMICS = ("dynamics-account", "dynamics-contact", "dynamics-campaign", "dynamics-opportunity",
            "dynamics-opportunity-stakeholder", "dynamics-attribution")
#: What the Salesforce Campaign Influence mapping needs loaded beside it.
SALESFORCE = ("salesforce-account", "salesforce-contact", "salesforce-campaign",
              "salesforce-opportunity", "salesforce-campaign-influence")
OPENED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


@pytest.fixture(scope="module")
def shared_dataverse() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox() as dataverse:
        yield dataverse


@pytest.fixture
def crm(engine: Engine, tmp_path: Path, sandbox: SalesforceSandbox,
        shared_dataverse: DynamicsSandbox) -> Iterator[DynamicsHub]:
    """The hub between a Dynamics environment (the deal's) and an empty Salesforce org."""
    shared_dataverse.state.reset()
    hub = DynamicsHub(engine, tmp_path, shared_dataverse, DYNAMICS + SALESFORCE,
                      salesforce=sandbox)
    hub.ctx.attribution = settings_in(hub.folder)
    yield hub
    shared_dataverse.state.reset()


@pytest.fixture
def deal(crm: DynamicsHub) -> dict[str, Any]:
    """A $10,000 deal opened 30 days ago: Ada is its contact, Bob a stakeholder.

    Ada filled in a form for Webinar A before the deal opened; Bob clicked an ad of Webinar B
    after it.
    """
    account = crm.create("account", {"name": "Acme"})
    ada = crm.create("contact", {"firstname": "Ada", "lastname": "Lovelace",
                                 "emailaddress1": "ada@acme.com",
                                 "parentcustomerid_account@odata.bind": f"/accounts({account})"})
    bob = crm.create("contact", {"firstname": "Bob", "lastname": "Okafor",
                                 "emailaddress1": "bob@acme.com"})
    campaigns = {name: crm.create("campaign", {"name": name}) for name in ("Webinar A",
                                                                             "Webinar B")}
    opportunity = crm.create("opportunity", {
        "name": "Acme platform", "estimatedvalue": 10_000,
        "estimatedclosedate": (OPENED + timedelta(days=60)).date().isoformat(),
        "overriddencreatedon": OPENED.isoformat().replace("+00:00", "Z"),
        "parentcontactid@odata.bind": f"/contacts({ada})",
        "parentaccountid@odata.bind": f"/accounts({account})",
    })
    role = crm.create("connectionrole", {"name": "Influencer", "category": "Stakeholder"})
    crm.create("connection", {
        "record1id_opportunity@odata.bind": f"/opportunities({opportunity})",
        "record2id_contact@odata.bind": f"/contacts({bob})",
        "record2roleid@odata.bind": f"/connectionroles({role})",
    })
    # Pull the people and campaigns first, so the touches have hub rows to belong to.
    crm.run_all(("dynamics-account", "dynamics-contact", "dynamics-campaign"))
    with Session(crm.engine) as session:
        people = {p.email: p.id for p in session.exec(select(Person)).all()}
        hub_campaigns = {c.name: c.id for c in session.exec(select(Campaign)).all()}
        for email, name, when, kind in (
            ("ada@acme.com", "Webinar A", OPENED - timedelta(days=10), "form_fill"),
            ("bob@acme.com", "Webinar B", OPENED + timedelta(days=5), "ad_click"),
        ):
            record_touch(session, TouchInput(person_id=people[email], occurred_at=when,
                                             touch_type=kind, origin=Origin.IMPORT,
                                             campaign_id=hub_campaigns[name]))
        session.commit()
    return {"opportunity": opportunity, "ada": ada, "bob": bob, "campaigns": campaigns}


def attribution_rows(crm: DynamicsHub) -> dict[tuple[str, str], dict[str, Any]]:
    """(model, campaign GUID) → the syncline_attribution row Dynamics holds."""
    return {(row["syncline_model"], row["_syncline_campaignid_value"]): row
            for row in crm.rows("syncline_attribution")}


def test_one_run_pulls_the_deal_and_its_people_and_writes_every_models_credit(
    crm: DynamicsHub, deal: dict[str, Any]
) -> None:
    reports = {r.mapping: r for r in crm.run_all()}

    with Session(crm.engine) as session:
        [opportunity] = session.exec(select(Opportunity)).all()
    assert (opportunity.amount, opportunity.is_closed, opportunity.is_won) == (10_000, False,
                                                                               False)
    assert opportunity.created_on is not None
    assert opportunity.created_on.replace(tzinfo=UTC) == OPENED
    assert opportunity.close_date == (OPENED + timedelta(days=60)).date()
    rows = attribution_rows(crm)
    a, b = deal["campaigns"]["Webinar A"], deal["campaigns"]["Webinar B"]
    assert rows[("first_touch", a)]["syncline_credit"] == 100
    assert ("first_touch", b) not in rows
    assert (rows[("linear", a)]["syncline_credit"], rows[("linear", b)]["syncline_credit"]) == (
        50, 50)
    assert rows[("linear", a)]["_syncline_contactid_value"] == deal["ada"]
    assert rows[("linear", b)]["_syncline_contactid_value"] == deal["bob"]
    assert {row["_syncline_opportunityid_value"] for row in rows.values()} == {
        deal["opportunity"]}
    assert rows[("linear", b)]["syncline_revenue"] == 5_000
    # Every model has its rows, and nothing failed on the way.
    assert {model for model, _ in rows} == {m.name for m in crm.ctx.attribution.models}
    assert reports["dynamics-attribution"].created_remote == len(rows)
    assert crm.errors("open", "retrying") == []
    # The deal is Dynamics': Salesforce gets none of its credit, and waits for nothing.
    with Session(crm.engine) as session:
        assert {r.crm for r in session.exec(select(CampaignInfluence)).all()} == {"dynamics"}
    assert crm.sf_rows("CampaignInfluence") == []
    assert reports["salesforce-campaign-influence"].failed == 0

    quiet = crm.run_all()
    assert sum(r.created_remote + r.updated_remote for r in quiet) == 0


def test_a_won_deal_is_credited_on_its_actual_value_and_close_date(
    crm: DynamicsHub, deal: dict[str, Any]
) -> None:
    crm.run_all()
    won_on = (OPENED + timedelta(days=20)).date()
    crm.update("opportunity", deal["opportunity"], {
        "statecode": "Won", "statuscode": "Won", "actualvalue": 12_000,
        "actualclosedate": won_on.isoformat()})

    crm.run_all()

    with Session(crm.engine) as session:
        [opportunity] = session.exec(select(Opportunity)).all()
    assert (opportunity.amount, opportunity.is_closed, opportunity.is_won) == (12_000, True, True)
    assert (opportunity.close_date, opportunity.stage) == (won_on, "Won")
    rows = attribution_rows(crm)
    a, b = deal["campaigns"]["Webinar A"], deal["campaigns"]["Webinar B"]
    # Won: full path's closed-won share is no longer pending. Ada's form fill is first,
    # lead-creating and the last before the creation (3 × 22.5), Bob's ad click the last before
    # the close (22.5); with no middle touch, the middles' 10 goes 5 and 5 to the two of them.
    assert (rows[("full_path", a)]["syncline_credit"],
            rows[("full_path", b)]["syncline_credit"]) == (72.5, 27.5)
    assert sum(r["syncline_revenue"] for (model, _), r in rows.items()
               if model == "full_path") == 12_000


def test_a_deal_whose_contact_syncs_later_gets_that_contact(
    crm: DynamicsHub, deal: dict[str, Any]
) -> None:
    carol = crm.create("contact", {"lastname": "Nakamura", "emailaddress1": "carol@acme.com"})
    crm.create("opportunity", {"name": "Second deal", "estimatedvalue": 3_000,
                               "parentcontactid@odata.bind": f"/contacts({carol})"})

    crm.run_all(("dynamics-opportunity",))

    # The deal comes in now, its contact field waiting for Carol.
    [waiting] = [e for e in crm.errors("retrying") if e.mapping == "dynamics-opportunity"]
    assert (waiting.code, waiting.field) == ("REFERENCE_PENDING", "parentcontactid")
    assert waiting.message == (f"parentcontactid: {carol} is not synced to the hub yet; the rest "
                               "of the record synced without it")
    # Carol's contact links; the deal's retry (once its backoff passes) reads it again.
    crm.run_all()
    crm.make_retries_due()
    crm.run_all(("dynamics-opportunity",))

    assert [e for e in crm.errors("open", "retrying")
            if e.mapping == "dynamics-opportunity"] == []
    with Session(crm.engine) as session:
        second = session.exec(select(Opportunity).where(Opportunity.name == "Second deal")).one()
        carol_id = session.exec(select(Person.id).where(Person.email == "carol@acme.com")).one()
    assert second.primary_contact_id == carol_id

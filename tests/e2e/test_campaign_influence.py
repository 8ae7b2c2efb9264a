"""Attribution written back to Salesforce as CampaignInfluence, through the shipped mappings.

A deal opened in Salesforce with a contact role, the contact's touches in the hub: one run of
the shipped mappings pulls the deal and its role, computes every model of the shipped
attribution file between the pulls and the pushes, and writes one CampaignInfluence row per
campaign and model under Syncline's own influence models (never the default Primary Campaign
Source model, whose API rows Salesforce deletes). Credit that goes away takes its row with it;
a model the org lacks fails its rows with what to create, until an admin creates it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from attribution.engine import settings_in
from core.models import Campaign, Touch
from sandboxes.salesforce import influence
from sandboxes.salesforce.audit import set_audit_dates
from tests.e2e.harness import SalesforceHub
from touches.record import TouchInput, record_touch, remove_touch
from touches.types import Origin

NEEDED = ("salesforce-account", "salesforce-contact", "salesforce-campaign",
          "salesforce-opportunity", "salesforce-opportunity-contact-role",
          "salesforce-campaign-influence")
MISSING_MODEL = "time_decay"


@pytest.fixture
def deal(sf: SalesforceHub) -> dict[str, Any]:
    """A deal opened 30 days ago for Ada (primary role); her touches: A before, B after."""
    sf.ctx.attribution = settings_in(sf.folder)
    org = sf.sandbox.org
    with sf.sandbox.state.org_lock:
        for model in sf.ctx.attribution.models:
            if model.name != MISSING_MODEL:
                influence.create_model(org, {"DeveloperName": model.name,
                                             "MasterLabel": model.name, "IsModelLocked": True},
                                       user_id=org.default_owner_id)
    account = sf.insert("Account", {"Name": "Acme"})
    contact = sf.insert("Contact", {"LastName": "Lovelace", "Email": "ada@acme.com",
                                    "AccountId": account})
    opportunity = sf.insert("Opportunity", {
        "Name": "Acme platform", "AccountId": account, "StageName": "Prospecting",
        "Amount": 10_000, "CloseDate": (datetime.now(UTC) + timedelta(days=30)).date().isoformat()})
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    with sf.sandbox.state.org_lock:
        set_audit_dates(org, "Opportunity", opportunity, {"CreatedDate": opened})
    sf.insert("OpportunityContactRole", {"OpportunityId": opportunity, "ContactId": contact,
                                         "Role": "Decision Maker", "IsPrimary": True})
    person = sf.add_person(email="ada@acme.com", last_name="Lovelace")
    campaigns = {name: sf.add(Campaign(name=name, type="Webinar", status="Completed"))
                 for name in ("Webinar A", "Webinar B")}
    with Session(sf.engine) as session:
        for name, when, kind in (("Webinar A", opened - timedelta(days=10), "form_fill"),
                                 ("Webinar B", opened + timedelta(days=5), "ad_click")):
            record_touch(session, TouchInput(person_id=person, occurred_at=when, touch_type=kind,
                                             origin=Origin.IMPORT, campaign_id=campaigns[name]))
        session.commit()
    return {"opportunity": opportunity, "contact": contact, "campaigns": campaigns}


def influence_rows(sf: SalesforceHub) -> dict[tuple[str, str], float]:
    """(model DeveloperName, campaign name) → Influence, as Salesforce holds them."""
    models = {m["Id"]: m["DeveloperName"] for m in sf.rows("CampaignInfluenceModel")}
    campaigns = {c["Id"]: c["Name"] for c in sf.rows("Campaign")}
    return {(models[r["ModelId"]], campaigns[r["CampaignId"]]): round(r["Influence"], 2)
            for r in sf.rows("CampaignInfluence")}


def test_one_run_writes_every_models_credit_as_campaign_influence(
    sf: SalesforceHub, deal: dict[str, Any]
) -> None:
    reports = {r.mapping: r for r in sf.run_all(NEEDED)}

    rows = influence_rows(sf)
    assert rows[("first_touch", "Webinar A")] == 100.0
    assert ("first_touch", "Webinar B") not in rows  # no credit, no row
    assert (rows[("linear", "Webinar A")], rows[("linear", "Webinar B")]) == (50.0, 50.0)
    # Open deal: the closed-won 22.5 % is pending; B, after the creation, is a middle.
    assert (rows[("full_path", "Webinar A")], rows[("full_path", "Webinar B")]) == (67.5, 10.0)
    assert not any(model == "primaryModel" for model, _ in rows)
    for row in sf.rows("CampaignInfluence"):
        assert (row["OpportunityId"], row["ContactId"]) == (deal["opportunity"], deal["contact"])
        assert row["RevenueShare"] == pytest.approx(10_000 * row["Influence"] / 100)

    # The model the org lacks: its rows wait, saying what to create.
    waiting = [e for e in sf.errors("retrying") if e.mapping == "salesforce-campaign-influence"]
    assert waiting and all(e.code == "UNRESOLVED_REFERENCE" for e in waiting)
    assert waiting[0].message == (
        f"ModelId: no CampaignInfluenceModel has DeveloperName '{MISSING_MODEL}' there")
    assert reports["salesforce-campaign-influence"].failed == len(waiting)

    quiet = sf.run_all(NEEDED)
    assert sum(r.created_remote + r.updated_remote for r in quiet) == 0


def test_credit_that_goes_away_takes_its_row_and_the_rest_follow(
    sf: SalesforceHub, deal: dict[str, Any]
) -> None:
    sf.run_all(NEEDED)
    with Session(sf.engine) as session:
        [b] = session.exec(
            select(Touch).where(Touch.campaign_id == deal["campaigns"]["Webinar B"])).all()
        remove_touch(session, b)
        session.commit()

    sf.run_all(NEEDED)

    rows = influence_rows(sf)
    assert rows[("linear", "Webinar A")] == 100.0
    assert not any(campaign == "Webinar B" for _, campaign in rows)


def test_a_model_created_later_gets_its_rows_on_the_retry(
    sf: SalesforceHub, deal: dict[str, Any]
) -> None:
    sf.run_all(NEEDED)
    assert not any(model == MISSING_MODEL for model, _ in influence_rows(sf))
    org = sf.sandbox.org
    with sf.sandbox.state.org_lock:
        influence.create_model(org, {"DeveloperName": MISSING_MODEL, "MasterLabel": "Decay"},
                               user_id=org.default_owner_id)
    sf.make_retries_due()

    sf.run_all(NEEDED)

    rows = influence_rows(sf)
    assert round(rows[(MISSING_MODEL, "Webinar A")] + rows[(MISSING_MODEL, "Webinar B")]) == 100
    assert [e for e in sf.errors("open", "retrying")
            if e.mapping == "salesforce-campaign-influence"] == []

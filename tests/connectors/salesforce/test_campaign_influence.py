"""The Salesforce connector describes and writes CampaignInfluence, reads contact roles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from connectors.base import Op, OutboundRecord, WriteStatus
from connectors.conformance import changes_of, read_all
from connectors.salesforce import SalesforceConnector
from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.connectors.salesforce.sandbox_remote import sandbox_settings


@pytest.fixture
def crm(sandbox: SalesforceSandbox) -> Iterator[SalesforceConnector]:
    connector = SalesforceConnector("crm", sandbox_settings(sandbox, bulk_threshold=3))
    yield connector
    connector.close()


@pytest.fixture
def deal(sandbox: SalesforceSandbox) -> dict[str, str]:
    org = sandbox.org
    with sandbox.state.org_lock:
        contact = org.insert("Contact", {"LastName": "Bolton"})
        opportunity = org.insert("Opportunity", {
            "Name": "Printers", "StageName": "Qualification", "CloseDate": "2026-11-30",
            "Amount": 8000})  # fmt: skip
        campaigns = [org.insert("Campaign", {"Name": f"Campaign {i}"}) for i in range(4)]
    # The admin adds Syncline's model in Setup (the sandbox's control API).
    response = requests.post(
        f"{sandbox.url}/__sandbox__/campaign-influence-models",
        json={"DeveloperName": "Syncline_Linear", "MasterLabel": "Linear"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return {"contact": contact, "opportunity": opportunity, "model": response.json()["id"],
            **{f"campaign{i}": c for i, c in enumerate(campaigns)}}


def credit(deal: dict[str, str], ref: str, campaign: str, share: float, **extra: str) -> (
    OutboundRecord
):
    fields = {"OpportunityId": deal["opportunity"], "CampaignId": deal[campaign],
              "ContactId": deal["contact"], "ModelId": deal["model"], "Influence": share,
              **extra}  # fmt: skip
    return OutboundRecord(ref=ref, key=None, fields=fields,
                          external_id=("Syncline_Id__c", f"hub-{ref}"))


def test_describe_shows_campaign_influence_fields(crm: SalesforceConnector) -> None:
    info = crm.object_info("CampaignInfluence")
    raw = crm.raw_describe("CampaignInfluence")
    fields = {entry["name"]: entry for entry in raw["fields"]}

    assert info is not None
    assert fields["Influence"]["type"] == "percent" and fields["Influence"]["updateable"]
    assert not fields["RevenueShare"]["createable"]
    assert fields["ModelId"]["referenceTo"] == ["CampaignInfluenceModel"]


def test_influence_rows_are_created_then_updated_by_their_influence_alone(
    sandbox: SalesforceSandbox, crm: SalesforceConnector, deal: dict[str, str]
) -> None:
    [made] = crm.write("CampaignInfluence", [credit(deal, "a", "campaign0", 40)])
    update = OutboundRecord(ref="a", key=made.key, fields={"Influence": 60})
    [changed] = crm.write("CampaignInfluence", [update])

    rows = [r for r in sandbox.org.rows("CampaignInfluence") if r["ModelId"] == deal["model"]]
    assert (made.status, changed.status) == (WriteStatus.CREATED, WriteStatus.UPDATED)
    assert [(r["Id"], r["Influence"], r["RevenueShare"]) for r in rows] == [
        (made.key, 60.0, 4800.0)]


def test_a_repeated_create_names_the_create_only_fields_it_cannot_update(
    crm: SalesforceConnector, deal: dict[str, str]
) -> None:
    # The upsert finds the row made before a crash; Salesforce will not "update" its
    # opportunity, campaign, contact or model, even to the same values.
    crm.write("CampaignInfluence", [credit(deal, "a", "campaign0", 40)])
    [again] = crm.write("CampaignInfluence", [credit(deal, "a", "campaign0", 40)])

    assert again.status is WriteStatus.FAILED
    assert {refusal.field for refusal in again.refused} == {
        "OpportunityId", "CampaignId", "ContactId", "ModelId"}


def test_bulk_writes_report_each_refused_row(
    sandbox: SalesforceSandbox, crm: SalesforceConnector, deal: dict[str, str]
) -> None:
    records = [credit(deal, str(i), f"campaign{i}", 25) for i in range(3)]
    records.append(credit(deal, "bad", "campaign3", 120))

    results = crm.write("CampaignInfluence", records)

    assert [r.status for r in results][:3] == [WriteStatus.CREATED] * 3
    assert results[3].status is WriteStatus.FAILED
    assert results[3].error is not None and "Influence" in str(results[3].error)


def test_contact_roles_are_read_incrementally(
    sandbox: SalesforceSandbox, crm: SalesforceConnector, deal: dict[str, str]
) -> None:
    with sandbox.state.org_lock:
        role = sandbox.org.insert("OpportunityContactRole", {
            "OpportunityId": deal["opportunity"], "ContactId": deal["contact"],
            "Role": "Decision Maker", "IsPrimary": True})  # fmt: skip

    pages = read_all(crm, "OpportunityContactRole",
                     fields=["OpportunityId", "ContactId", "Role", "IsPrimary"])
    [change] = changes_of(pages)
    with sandbox.state.org_lock:
        sandbox.org.delete("OpportunityContactRole", role)
    later = changes_of(read_all(crm, "OpportunityContactRole", pages[-1].cursor))

    assert change.key == role and change.op is Op.UPSERT
    assert (change.fields["ContactId"], change.fields["Role"], change.fields["IsPrimary"]) == (
        deal["contact"], "Decision Maker", True)
    assert [(c.key, c.op) for c in later] == [(role, Op.DELETE)]

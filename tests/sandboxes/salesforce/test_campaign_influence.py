"""Campaign influence and contact roles in the Salesforce sandbox, as a REST client sees them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sandboxes.salesforce.sandbox import SalesforceSandbox
from tests.sandboxes.salesforce.test_app import Api, error_codes
from tests.sandboxes.salesforce.test_bulk import Bulk


@dataclass
class Deal:
    """An opportunity with two contacts, a campaign and a custom model to credit it under."""

    opportunity: str
    contacts: tuple[str, str]
    campaign: str
    model: str


def created(api: Api, sobject: str, **fields: object) -> str:
    response = api.post(f"sobjects/{sobject}", json=fields)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def query(api: Api, soql: str, *, all_rows: bool = False) -> list[dict]:
    response = api.get("queryAll" if all_rows else "query", params={"q": soql})
    assert response.status_code == 200, response.text
    return response.json()["records"]


def new_model(api: Api, name: str, **settings: object) -> str:
    body = {"DeveloperName": name, "MasterLabel": name.replace("_", " "), **settings}
    response = api.control("POST", "campaign-influence-models", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def api(sandbox: SalesforceSandbox) -> Api:
    return Api(sandbox)


@pytest.fixture
def deal(api: Api) -> Deal:
    account = created(api, "Account", Name="Initech")
    first = created(api, "Contact", LastName="Lumbergh", AccountId=account)
    second = created(api, "Contact", LastName="Waddams", AccountId=account)
    opportunity = created(
        api, "Opportunity", Name="TPS", StageName="Prospecting", CloseDate="2026-12-31",
        Amount=12000, AccountId=account,
    )  # fmt: skip
    campaign = created(api, "Campaign", Name="Spring webinar")
    return Deal(opportunity, (first, second), campaign, new_model(api, "Syncline_W_Shaped"))


def influence(api: Api, deal: Deal, **fields: object) -> dict:
    body = {
        "OpportunityId": deal.opportunity, "CampaignId": deal.campaign,
        "ContactId": deal.contacts[0], "ModelId": deal.model, **fields,
    }  # fmt: skip
    response = api.post("sobjects/CampaignInfluence", json=body)
    return {"status": response.status_code, "body": response.json()}


# -- models ------------------------------------------------------------------------------


def test_the_org_starts_with_the_primary_campaign_source_model_as_its_only_default(
    api: Api,
) -> None:
    rows = query(
        api,
        "SELECT DeveloperName, MasterLabel, IsActive, IsDefaultModel, IsModelLocked "
        "FROM CampaignInfluenceModel",
    )

    assert [(r["DeveloperName"], r["MasterLabel"], r["IsDefaultModel"]) for r in rows] == [
        ("primaryModel", "Primary Campaign Source", True)
    ]
    assert rows[0]["IsActive"] and rows[0]["IsModelLocked"]


def test_models_are_read_only_through_the_api(api: Api) -> None:
    refused = api.post(
        "sobjects/CampaignInfluenceModel", json={"DeveloperName": "Mine", "MasterLabel": "Mine"}
    )
    describe = api.get("sobjects/CampaignInfluenceModel/describe").json()

    assert refused.status_code == 400
    assert error_codes(refused) == ["INSUFFICIENT_ACCESS_OR_READONLY"]
    assert (describe["createable"], describe["updateable"], describe["deletable"]) == (
        False, False, False,
    )  # fmt: skip


def test_a_new_default_model_takes_the_flag_from_the_old_one(api: Api) -> None:
    mine = new_model(api, "Even_Split", IsDefaultModel=True)

    defaults = query(api, "SELECT Id FROM CampaignInfluenceModel WHERE IsDefaultModel = true")
    keep_one = api.control("PATCH", f"campaign-influence-models/{mine}", json={
        "IsDefaultModel": False})  # fmt: skip

    assert [row["Id"] for row in defaults] == [mine]
    assert keep_one.status_code == 400


@pytest.mark.parametrize("name", ["1st_touch", "first__touch", "first_touch_", "first touch"])
def test_setup_refuses_model_names_salesforce_refuses(api: Api, name: str) -> None:
    response = api.control(
        "POST", "campaign-influence-models", json={"DeveloperName": name, "MasterLabel": "X"}
    )

    assert response.status_code == 400, response.text


def test_two_models_cannot_share_a_developer_name(api: Api) -> None:
    new_model(api, "Linear")
    again = api.control(
        "POST", "campaign-influence-models", json={"DeveloperName": "linear", "MasterLabel": "L"}
    )

    assert error_codes(again) == ["DUPLICATE_DEVELOPER_NAME"]


# -- influence records -------------------------------------------------------------------


def test_influence_is_created_and_revenue_share_follows_amount(api: Api, deal: Deal) -> None:
    answer = influence(api, deal, Influence=22.5)
    record_id = answer["body"]["id"]

    first = api.get(f"sobjects/CampaignInfluence/{record_id}").json()
    api.patch(f"sobjects/Opportunity/{deal.opportunity}", json={"Amount": 20000})
    api.patch(f"sobjects/CampaignInfluence/{record_id}", json={"Influence": 10})
    after = query(api, f"SELECT Influence, RevenueShare FROM CampaignInfluence "
                       f"WHERE Id = '{record_id}'")  # fmt: skip

    assert answer["status"] == 201
    assert (first["Influence"], first["RevenueShare"]) == (22.5, 2700.0)
    assert after[0]["Influence"] == 10 and after[0]["RevenueShare"] == 2000.0


def test_required_fields_and_read_only_revenue_share_are_refused(api: Api, deal: Deal) -> None:
    missing = api.post("sobjects/CampaignInfluence", json={"OpportunityId": deal.opportunity})
    share = influence(api, deal, Influence=50, RevenueShare=1)

    assert missing.status_code == 400
    assert missing.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert missing.json()[0]["fields"] == ["CampaignId", "ModelId"]
    assert share["status"] == 400
    assert [e["errorCode"] for e in share["body"]] == ["INVALID_FIELD_FOR_INSERT_UPDATE"]


def test_bad_references_and_out_of_range_influence_are_refused(api: Api, deal: Deal) -> None:
    unknown_model = influence(api, deal, ModelId="03V5e000000zzzzEAA")
    wrong_kind = influence(api, deal, ModelId=deal.campaign)
    too_much = influence(api, deal, Influence=100.5)
    below_zero = influence(api, deal, Influence=-1)

    assert [e["errorCode"] for e in unknown_model["body"]] == ["INVALID_CROSS_REFERENCE_KEY"]
    assert [e["errorCode"] for e in wrong_kind["body"]] == ["MALFORMED_ID"]
    for answer in (too_much, below_zero):
        assert answer["status"] == 400
        assert answer["body"][0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
        assert answer["body"][0]["fields"] == ["Influence"]


def test_opportunity_and_model_cannot_be_changed_after_create(api: Api, deal: Deal) -> None:
    record_id = influence(api, deal, Influence=40)["body"]["id"]
    other = new_model(api, "Other_Model")

    moved = api.patch(f"sobjects/CampaignInfluence/{record_id}", json={"ModelId": other})

    assert error_codes(moved) == ["INVALID_FIELD_FOR_INSERT_UPDATE"]


def test_collections_write_and_delete_influence_rows(api: Api, deal: Deal) -> None:
    records = [
        {"attributes": {"type": "CampaignInfluence"}, "OpportunityId": deal.opportunity,
         "CampaignId": deal.campaign, "ContactId": contact, "ModelId": deal.model,
         "Influence": share}
        for contact, share in zip(deal.contacts, (30, 130), strict=True)
    ]  # fmt: skip

    results = api.post("composite/sobjects", json={"allOrNone": False, "records": records}).json()
    kept = results[0]["id"]
    deleted = api.delete("composite/sobjects", params={"ids": kept}).json()
    live = query(api, "SELECT Id FROM CampaignInfluence")
    all_rows = query(api, "SELECT Id, IsDeleted FROM CampaignInfluence", all_rows=True)

    assert results[0]["success"] and not results[1]["success"]
    assert results[1]["errors"][0]["statusCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert deleted[0]["success"]
    assert live == []
    assert [(r["Id"], r["IsDeleted"]) for r in all_rows] == [(kept, True)]


def test_bulk_ingest_creates_influence_rows_and_reports_bad_ones(
    sandbox: SalesforceSandbox, api: Api, deal: Deal
) -> None:
    bulk = Bulk(sandbox)
    text = (
        "OpportunityId,CampaignId,ContactId,ModelId,Influence\n"
        f"{deal.opportunity},{deal.campaign},{deal.contacts[0]},{deal.model},60\n"
        f"{deal.opportunity},{deal.campaign},{deal.contacts[1]},,40\n"
    )

    job_id, info = bulk.run_ingest(text, object="CampaignInfluence", operation="insert")
    failures = bulk.results(job_id, "failedResults")
    rows = query(api, "SELECT ContactId, RevenueShare FROM CampaignInfluence")

    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    assert failures[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert [(r["ContactId"], r["RevenueShare"]) for r in rows] == [(deal.contacts[0], 7200.0)]


def test_influence_is_read_incrementally_by_system_modstamp(api: Api, deal: Deal) -> None:
    record_id = influence(api, deal, Influence=25)["body"]["id"]
    stamp = api.get(f"sobjects/CampaignInfluence/{record_id}").json()["SystemModstamp"]

    rows = query(
        api,
        "SELECT Id, OpportunityId, CampaignId, ContactId, ModelId, Influence, Model.DeveloperName "
        f"FROM CampaignInfluence WHERE SystemModstamp >= {stamp} ORDER BY SystemModstamp",
    )

    assert [r["Id"] for r in rows] == [record_id]
    assert rows[0]["Model"]["DeveloperName"] == "Syncline_W_Shaped"


# -- the Primary Campaign Source model ---------------------------------------------------


def primary_rows(api: Api, opportunity: str) -> list[dict]:
    return query(
        api,
        "SELECT Id, CampaignId, ContactId, Influence FROM CampaignInfluence "
        f"WHERE OpportunityId = '{opportunity}' AND Model.DeveloperName = 'primaryModel'",
    )


def test_primary_campaign_gets_the_whole_opportunity(api: Api, deal: Deal) -> None:
    created(api, "OpportunityContactRole", OpportunityId=deal.opportunity,
            ContactId=deal.contacts[1], IsPrimary=True)  # fmt: skip

    api.patch(f"sobjects/Opportunity/{deal.opportunity}", json={"CampaignId": deal.campaign})

    rows = primary_rows(api, deal.opportunity)
    assert [(r["CampaignId"], r["ContactId"], r["Influence"]) for r in rows] == [
        (deal.campaign, deal.contacts[1], 100.0)
    ]


def test_recalculation_deletes_api_rows_in_the_primary_model_and_keeps_custom_ones(
    api: Api, deal: Deal
) -> None:
    primary = query(api, "SELECT Id FROM CampaignInfluenceModel WHERE DeveloperName = "
                         "'primaryModel'")[0]["Id"]  # fmt: skip
    written = influence(api, deal, ModelId=primary, Influence=50)["body"]["id"]
    custom = influence(api, deal, Influence=50)["body"]["id"]

    answer = api.control(
        "POST", "campaign-influence/recalculate", json={"opportunity_ids": [deal.opportunity]}
    )
    live = query(api, "SELECT Id FROM CampaignInfluence")
    gone = query(api, f"SELECT IsDeleted FROM CampaignInfluence WHERE Id = '{written}'",
                 all_rows=True)  # fmt: skip

    assert answer.json() == {"deleted": [written], "created": []}
    assert [r["Id"] for r in live] == [custom]
    assert gone == [{"attributes": gone[0]["attributes"], "IsDeleted": True}]


def test_a_locked_model_is_written_through_the_api_only(api: Api, deal: Deal) -> None:
    locked = new_model(api, "Syncline_Locked", IsModelLocked=True)
    record_id = influence(api, deal, ModelId=locked, Influence=10)["body"]["id"]
    open_id = influence(api, deal, Influence=10)["body"]["id"]

    ui_edit = api.control("PATCH", f"records/CampaignInfluence/{record_id}",
                          json={"Influence": 20})  # fmt: skip
    ui_delete = api.control("DELETE", f"records/CampaignInfluence/{record_id}")
    ui_create = api.control("POST", "records/CampaignInfluence", json={
        "OpportunityId": deal.opportunity, "CampaignId": deal.campaign, "ModelId": locked})
    open_edit = api.control("PATCH", f"records/CampaignInfluence/{open_id}",
                            json={"Influence": 20})  # fmt: skip
    api_edit = api.patch(f"sobjects/CampaignInfluence/{record_id}", json={"Influence": 30})

    for refused in (ui_edit, ui_delete, ui_create):
        assert error_codes(refused) == ["INSUFFICIENT_ACCESS_OR_READONLY"]
    assert open_edit.status_code == 204
    assert api_edit.status_code == 204


# -- contact roles and histories ---------------------------------------------------------


def test_one_primary_contact_role_per_opportunity(api: Api, deal: Deal) -> None:
    first = created(api, "OpportunityContactRole", OpportunityId=deal.opportunity,
                    ContactId=deal.contacts[0], Role="Decision Maker", IsPrimary=True)
    second = created(api, "OpportunityContactRole", OpportunityId=deal.opportunity,
                     ContactId=deal.contacts[1], Role="Evaluator", IsPrimary=True)  # fmt: skip

    rows = query(
        api,
        "SELECT Id, ContactId, Role, IsPrimary FROM OpportunityContactRole "
        f"WHERE OpportunityId = '{deal.opportunity}' ORDER BY Role",
    )

    assert [(r["Id"], r["Role"], r["IsPrimary"]) for r in rows] == [
        (first, "Decision Maker", False), (second, "Evaluator", True),
    ]  # fmt: skip


def test_a_contact_role_needs_its_opportunity_and_contact(api: Api, deal: Deal) -> None:
    missing = api.post("sobjects/OpportunityContactRole", json={"Role": "Evaluator"})
    describe = api.get("sobjects/OpportunityContactRole/describe").json()

    assert missing.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert set(missing.json()[0]["fields"]) == {"OpportunityId", "ContactId"}
    assert {f["name"] for f in describe["fields"]} >= {
        "OpportunityId", "ContactId", "Role", "IsPrimary", "SystemModstamp"
    }


def test_control_creates_take_a_creation_date_for_histories(api: Api) -> None:
    answer = api.control("POST", "records/Opportunity", json={
        "Name": "Old deal", "StageName": "Closed Won", "CloseDate": "2025-03-31",
        "Amount": 5000, "CreatedDate": "2025-01-15T09:30:00Z"})  # fmt: skip
    record = api.get(f"sobjects/Opportunity/{answer.json()['id']}").json()
    found = query(api, "SELECT Id FROM Opportunity WHERE CreatedDate < 2025-02-01T00:00:00Z")
    future = api.control("POST", "records/Opportunity", json={
        "Name": "Later", "StageName": "Prospecting", "CloseDate": "2099-01-01",
        "CreatedDate": "2099-01-01T00:00:00Z"})  # fmt: skip

    assert record["CreatedDate"] == record["LastModifiedDate"] == "2025-01-15T09:30:00.000+0000"
    assert record["SystemModstamp"] > record["CreatedDate"]
    assert (record["IsClosed"], record["IsWon"]) == (True, True)
    assert [r["Id"] for r in found] == [record["Id"]]
    assert future.status_code == 400
    assert query(api, "SELECT Name FROM Opportunity WHERE Name = 'Later'") == []

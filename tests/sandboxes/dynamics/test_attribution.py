"""Opportunities with their stakeholders, and Syncline's attribution table, over the Web API."""

from __future__ import annotations

import pytest
import requests

from sandboxes.dynamics.sandbox import DynamicsSandbox
from tests.sandboxes.dynamics.test_app import Api, entity_guid, error_code
from tests.sandboxes.dynamics.test_batch import (
    API,
    BatchClient,
    change_set,
    http_part,
    read_batch_response,
)

ATTRIBUTION_COLUMNS = (
    "syncline_name,_syncline_opportunityid_value,_syncline_campaignid_value,"
    "_syncline_contactid_value,syncline_model,syncline_credit,syncline_revenue"
)


@pytest.fixture
def api(sandbox: DynamicsSandbox) -> Api:
    return Api(sandbox)


def created(api: Api, entity_set: str, body: dict) -> str:
    response = api.post(entity_set, json=body)
    assert response.status_code == 204, response.text
    return entity_guid(response)


def tracked(api: Api, url: str) -> requests.Response:
    response = api.get(url, headers={"Prefer": "odata.track-changes"})
    assert response.status_code == 200, response.text
    return response


# -- opportunities -----------------------------------------------------------------------


def test_opportunity_history_fields_are_written_and_read(api: Api) -> None:
    contact = created(api, "contacts", {"lastname": "Nygard"})
    account = created(api, "accounts", {"name": "Contoso"})
    opportunity = created(api, "opportunities", {
        "name": "Renewal", "estimatedvalue": 5000, "estimatedclosedate": "2026-03-31",
        "overriddencreatedon": "2025-11-02T08:00:00Z",
        "parentcontactid@odata.bind": f"contacts({contact})",
        "parentaccountid@odata.bind": f"accounts({account})",
    })  # fmt: skip
    closed = api.patch(f"opportunities({opportunity})", json={
        "statecode": 1, "statuscode": 3, "actualvalue": 4800,
        "actualclosedate": "2026-02-27"})  # fmt: skip

    row = api.get(f"opportunities({opportunity})").json()

    assert closed.status_code == 204, closed.text
    assert row["createdon"] == "2025-11-02T08:00:00Z"
    assert row["overriddencreatedon"] == row["modifiedon"]
    assert (row["statecode"], row["actualvalue"], row["estimatedvalue"]) == (1, 4800, 5000)
    assert row["actualclosedate"].startswith("2026-02-27")
    assert (row["_parentcontactid_value"], row["_parentaccountid_value"]) == (contact, account)


def test_control_creates_take_a_creation_date_too(api: Api) -> None:
    response = api.control("POST", "records/opportunities", json={
        "name": "Old", "createdon": "2024-06-01T00:00:00Z"})  # fmt: skip

    row = api.get(f"opportunities({response.json()['opportunityid']})").json()

    assert response.status_code == 201
    assert row["createdon"] == "2024-06-01T00:00:00Z"
    assert row["overriddencreatedon"] > row["createdon"]  # when it was migrated


# -- stakeholders: connections -----------------------------------------------------------


@pytest.fixture
def stakeholder(api: Api) -> dict[str, str]:
    contact = created(api, "contacts", {"lastname": "Okafor"})
    opportunity = created(api, "opportunities", {"name": "Expansion"})
    role = created(api, "connectionroles", {"name": "Decision Maker", "category": 1000})
    connection = created(api, "connections", {
        "record1id_opportunity@odata.bind": f"opportunities({opportunity})",
        "record2id_contact@odata.bind": f"contacts({contact})",
        "record2roleid@odata.bind": f"connectionroles({role})",
    })  # fmt: skip
    return {"contact": contact, "opportunity": opportunity, "role": role,
            "connection": connection}  # fmt: skip


def test_a_stakeholder_connection_is_stored_with_its_reciprocal(
    api: Api, stakeholder: dict[str, str]
) -> None:
    rows = api.get(
        "connections?$select=_record1id_value,_record2id_value,_record1roleid_value,"
        "_record2roleid_value,record1objecttypecode,record2objecttypecode,ismaster,"
        "_relatedconnectionid_value"
    ).json()["value"]
    by_id = {row["connectionid"]: row for row in rows}
    master = by_id[stakeholder["connection"]]
    [reciprocal] = [row for key, row in by_id.items() if key != stakeholder["connection"]]

    assert (master["_record1id_value"], master["_record2id_value"]) == (
        stakeholder["opportunity"], stakeholder["contact"])
    assert (master["record1objecttypecode"], master["record2objecttypecode"]) == (3, 2)
    assert master["ismaster"] is True and reciprocal["ismaster"] is False
    assert (reciprocal["_record1id_value"], reciprocal["_record1roleid_value"]) == (
        stakeholder["contact"], stakeholder["role"])
    assert master["_relatedconnectionid_value"] == reciprocal["connectionid"]
    assert reciprocal["_relatedconnectionid_value"] == master["connectionid"]


def test_stakeholders_are_read_incrementally_with_deletes(
    api: Api, stakeholder: dict[str, str]
) -> None:
    first = tracked(api, "connections?$select=_record1id_value,_record2id_value,ismaster")
    link = first.json()["@odata.deltaLink"]
    api.delete(f"connections({stakeholder['connection']})")

    delta = api.get(link, headers={"Prefer": "odata.track-changes"}).json()["value"]

    assert len(first.json()["value"]) == 2
    assert sorted(item.get("reason", "") for item in delta) == ["deleted", "deleted"]
    assert api.get("connections").json()["value"] == []


def test_deleting_the_opportunity_removes_its_stakeholder_rows(
    api: Api, stakeholder: dict[str, str]
) -> None:
    api.delete(f"opportunities({stakeholder['opportunity']})")

    assert api.get("connections").json()["value"] == []
    assert api.get(f"contacts({stakeholder['contact']})").status_code == 200


def test_a_change_to_one_side_reaches_the_other(api: Api, stakeholder: dict[str, str]) -> None:
    api.patch(f"connections({stakeholder['connection']})", json={"description": "Champion"})

    rows = api.get("connections?$select=description").json()["value"]

    assert [row["description"] for row in rows] == ["Champion", "Champion"]


# -- syncline_attribution ----------------------------------------------------------------


@pytest.fixture
def parents(api: Api) -> dict[str, str]:
    return {
        "opportunity": created(api, "opportunities", {"name": "Platform", "estimatedvalue": 9000}),
        "campaign": created(api, "campaigns", {"name": "Launch webinar"}),
        "contact": created(api, "contacts", {"lastname": "Ibarra"}),
    }


def attribution_body(parents: dict[str, str], **values: object) -> dict:
    return {
        "syncline_name": "w_shaped / Launch webinar",
        "syncline_OpportunityId@odata.bind": f"/opportunities({parents['opportunity']})",
        "syncline_CampaignId@odata.bind": f"/campaigns({parents['campaign']})",
        "syncline_ContactId@odata.bind": f"/contacts({parents['contact']})",
        "syncline_model": "w_shaped", "syncline_credit": 0.3, "syncline_revenue": 2700,
        **values,
    }  # fmt: skip


def test_attribution_rows_bind_their_lookups_and_read_back(
    api: Api, parents: dict[str, str]
) -> None:
    guid = created(api, "syncline_attributions", attribution_body(parents))

    row = api.get(f"syncline_attributions({guid})?$select={ATTRIBUTION_COLUMNS}").json()

    assert (row["_syncline_opportunityid_value"], row["_syncline_campaignid_value"],
            row["_syncline_contactid_value"]) == (
        parents["opportunity"], parents["campaign"], parents["contact"])  # fmt: skip
    assert (row["syncline_model"], row["syncline_credit"], row["syncline_revenue"]) == (
        "w_shaped", 0.3, 2700)


def test_a_lookup_bound_by_its_logical_name_is_refused_as_dataverse_does(
    api: Api, parents: dict[str, str]
) -> None:
    body = attribution_body(parents)
    body["syncline_opportunityid@odata.bind"] = body.pop("syncline_OpportunityId@odata.bind")

    response = api.post("syncline_attributions", json=body)

    assert response.status_code == 400
    assert error_code(response) == "0x80048d19"
    assert "syncline_opportunityid" in response.json()["error"]["message"]


def test_attribution_rows_are_upserted_on_the_hub_id(api: Api, parents: dict[str, str]) -> None:
    url = "syncline_attributions(syncline_hubid='attr-1')"
    first = api.patch(url, json=attribution_body(parents))
    second = api.patch(url, json={"syncline_credit": 0.4, "syncline_revenue": 3600})

    rows = api.get("syncline_attributions?$select=syncline_credit,syncline_revenue").json()

    assert (first.status_code, second.status_code) == (204, 204)
    assert [(r["syncline_credit"], r["syncline_revenue"]) for r in rows["value"]] == [
        (0.4, 3600)]


def test_attribution_rows_are_written_in_a_batch_change_set(
    sandbox: DynamicsSandbox, api: Api, parents: dict[str, str]
) -> None:
    client = BatchClient(sandbox)
    good = attribution_body(parents, syncline_hubid="a")
    bad = attribution_body(parents, syncline_hubid="b", syncline_credit=250)

    refused = client.send(change_set(
        http_part("POST", f"{API}/syncline_attributions", good, "1"),
        http_part("POST", f"{API}/syncline_attributions", bad, "2"),
    ))  # fmt: skip
    after_refusal = api.get("syncline_attributions").json()["value"]
    accepted = client.send(change_set(
        http_part("POST", f"{API}/syncline_attributions", good, "1"),
        http_part("PATCH", f"{API}/syncline_attributions(syncline_hubid='a')",
                  {"syncline_credit": 0.5}, "2"),
    ))  # fmt: skip
    rows = api.get("syncline_attributions?$select=syncline_hubid,syncline_credit").json()

    assert [part.status for part in read_batch_response(refused)] == [400]
    assert after_refusal == []
    assert [part.status for part in read_batch_response(accepted)] == [204, 204]
    assert [(r["syncline_hubid"], r["syncline_credit"]) for r in rows["value"]] == [("a", 0.5)]


def test_attribution_changes_are_tracked(api: Api, parents: dict[str, str]) -> None:
    guid = created(api, "syncline_attributions", attribution_body(parents))
    initial = tracked(api, f"syncline_attributions?$select={ATTRIBUTION_COLUMNS}")
    api.patch(f"syncline_attributions({guid})", json={"syncline_credit": 0.1})
    created(api, "syncline_attributions", attribution_body(parents, syncline_model="linear"))

    delta = api.get(initial.json()["@odata.deltaLink"],
                    headers={"Prefer": "odata.track-changes"}).json()["value"]  # fmt: skip

    assert len(initial.json()["value"]) == 1
    assert sorted((row["syncline_model"], row["syncline_credit"]) for row in delta) == [
        ("linear", 0.3), ("w_shaped", 0.1)]


def test_attribution_table_is_described_like_the_others(api: Api) -> None:
    definition = api.get(
        "EntityDefinitions(LogicalName='syncline_attribution')?$expand=Attributes"
    ).json()
    attributes = {a["LogicalName"]: a for a in definition["Attributes"]}
    csdl = api.get("$metadata").text

    assert (definition["EntitySetName"], definition["PrimaryIdAttribute"]) == (
        "syncline_attributions", "syncline_attributionid")
    assert definition["IsCustomEntity"] and definition["ChangeTrackingEnabled"]
    assert definition["Keys"][0]["KeyAttributes"] == ["syncline_hubid"]
    assert attributes["syncline_opportunityid"]["SchemaName"] == "syncline_OpportunityId"
    assert attributes["syncline_opportunityid"]["Targets"] == ["opportunity"]
    assert attributes["syncline_credit"]["AttributeType"] == "Decimal"
    assert attributes["syncline_revenue"]["AttributeType"] == "Money"
    assert '<NavigationProperty Name="syncline_CampaignId" Type="mscrm.campaign"/>' in csdl
    assert '<EntitySet Name="syncline_attributions"' in csdl


def test_many_to_one_relationships_name_the_navigation_property_to_bind(api: Api) -> None:
    custom = api.get(
        "EntityDefinitions(LogicalName='syncline_attribution')/ManyToOneRelationships"
    ).json()["value"]
    standard = api.get(
        "EntityDefinitions(LogicalName='connection')/ManyToOneRelationships"
    ).json()["value"]

    navigation = {(r["ReferencingAttribute"], r["ReferencedEntity"]):
                  r["ReferencingEntityNavigationPropertyName"] for r in custom}  # fmt: skip
    assert navigation[("syncline_opportunityid", "opportunity")] == "syncline_OpportunityId"
    assert navigation[("syncline_contactid", "contact")] == "syncline_ContactId"
    assert {r["ReferencingEntityNavigationPropertyName"] for r in standard} >= {
        "record1id_opportunity", "record2id_contact", "record2roleid"}
